"""How fast price pulls ingest: items per second for parse + store, end to end, and peak memory.

    python benchmarks/pricing_ingest.py [--aws-products 100000] [--gcp-skus 50000] [--repeats 1]

A loopback server (the test suite's, in a child process so that its memory is not counted) serves synthetic
items in the real wire formats: AWS GetProducts products (the attribute set and term structure of the real
captures in tests/data/aws: one on-demand term, six standard and six convertible reserved terms) and GCP
Cloud Billing SKUs (core, RAM, GPU and TPU SKUs of a2/g2 machines per synthetic region, on-demand and spot).
The real SDKs fetch them (boto3 with dummy keys, the Google client over REST).

Phases, timed separately:
- fetch: HTTP + the SDK's own decoding (botocore's JSON parser; protobuf's JSON parser for GCP);
- parse: tco turning the SDK's pages into offer rows (AWS: each PriceList JSON string; GCP: component SKUs,
  composition of machines);
- store: validation (flags) and the snapshot written in one SQLite transaction.
Items per second for parse + store = items / (parse + store), wall clock; beside it the same rate in CPU
time of this process (what a loaded machine does not inflate). Peak memory is this process's max RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AWS_TYPES = (
    "p5.48xlarge",
    "p4d.24xlarge",
    "p4de.24xlarge",
    "g5.xlarge",
    "g5.12xlarge",
    "g6.xlarge",
    "g6e.xlarge",
    "g4dn.xlarge",
    "trn1.32xlarge",
    "inf2.xlarge",
)


def aws_template() -> str:
    """One real-format product (p5.48xlarge us-east-1 from tests/data/aws) with all twelve reserved terms."""
    from tests.pricing.servers.data import aws_items

    product = json.loads(json.dumps(aws_items()[0]))
    terms = product["terms"]["Reserved"]
    sku = product["product"]["sku"]
    for code, term in list(terms.items()):
        if term["termAttributes"]["OfferingClass"] == "standard":
            twin = json.loads(json.dumps(term).replace(code.split(".")[1], code.split(".")[1][::-1]))
            twin["termAttributes"]["OfferingClass"] = "convertible"
            terms[f"{sku}.{code.split('.')[1][::-1]}"] = twin
    product["product"]["attributes"]["regionCode"] = "__REGION__"
    product["product"]["attributes"]["instanceType"] = "__TYPE__"
    return json.dumps(product).replace(sku, "__SKU__")


def serve_aws(count: int, conn: Any) -> None:
    from tests.pricing.servers.aws import AwsServer

    template = aws_template()
    encoded = [
        template.replace("__REGION__", f"bench-{i // len(AWS_TYPES):06d}")
        .replace("__TYPE__", AWS_TYPES[i % len(AWS_TYPES)])
        .replace("__SKU__", f"SKU{i:013d}")
        for i in range(count)
    ]
    families = [
        "Machine Learning ASIC Instances" if t.startswith(("trn", "inf")) else "GPU instance"
        for t in (AWS_TYPES[i % len(AWS_TYPES)] for i in range(count))
    ]
    server = AwsServer([], page_size=100)

    def get_products(body: dict[str, Any]) -> Any:
        from tests.pricing.servers.base import Reply

        family = next(f["Value"] for f in body["Filters"] if f["Field"] == "instanceFamily")
        chosen = server.bench_index.setdefault(family, [i for i, f in enumerate(families) if f == family])
        start = int(body.get("NextToken") or 0)
        page = chosen[start : start + 100]
        answer: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": [encoded[i] for i in page]}
        if start + 100 < len(chosen):
            answer["NextToken"] = str(start + 100)
        return Reply(200, json.dumps(answer).encode(), "application/x-amz-json-1.1")

    server.bench_index = {}  # type: ignore[attr-defined]
    server.get_products = get_products  # type: ignore[method-assign]
    conn.send((server.url, sum(len(e) for e in encoded)))
    server.serve_forever()


def gcp_skus(count: int) -> dict[str, list[dict[str, Any]]]:
    """``count`` SKUs, 16 per synthetic region: a2/g2 core and RAM, GPUs, TPU v5e; on-demand and spot."""
    from tests.pricing.servers.data import gcp_skus as fixture

    real = {s["description"]: s for s in fixture()["6F81-5844-456A"]}
    bodies = [
        ("A2 Instance Core running in Americas", 0.031611),
        ("A2 Instance Ram running in Americas", 0.004237),
        ("Nvidia Tesla A100 GPU running in Americas", 2.933908),
        ("G2 Instance Core running in Americas", 0.024988),
        ("G2 Instance Ram running in Americas", 0.002927),
        ("Nvidia L4 GPU running in Americas", 0.56),
        ("TpuV5e running in Delhi", 1.44132),
        ("Nvidia Tesla T4 GPU running in Americas", 0.35),
    ]
    skus = []
    for i in range(count):
        region = f"bench-{i // 16:06d}"
        description, price = bodies[(i % 16) // 2]
        sku = json.loads(json.dumps(real[description]))
        if i % 2:
            sku["category"]["usageType"] = "Preemptible"
            sku["description"] = description.replace(
                " running in", " attached to Spot Preemptible VMs running in"
            )
            if "Instance" in description:
                sku["description"] = "Spot Preemptible " + description
            price *= 0.4
        sku["skuId"] = f"B{i:04X}-{i % 9999:04d}-BNCH"
        sku["serviceRegions"] = [region]
        sku["geoTaxonomy"] = {"type": "REGIONAL", "regions": [region]}
        units = int(price)
        sku["pricingInfo"][0]["pricingExpression"]["tieredRates"][0]["unitPrice"] = {
            "currencyCode": "USD",
            "units": str(units),
            "nanos": round((price - units) * 1e9),
        }
        skus.append(sku)
    return {"6F81-5844-456A": skus, "E000-3F24-B8AA": []}


def serve_gcp(count: int, conn: Any) -> None:
    from tests.pricing.servers.gcp import GcpServer

    skus = gcp_skus(count)
    server = GcpServer(skus, page_size=5000)
    conn.send((server.url, sum(len(json.dumps(s)) for s in skus["6F81-5844-456A"])))
    server.serve_forever()


def start_server(target: Callable[[int, Any], None], count: int) -> tuple[Any, str, int]:
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(count, child), daemon=True)
    process.start()
    url, size = parent.recv()
    return process, url, size


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_store(store_dir: Path, provider: str, frame: Any, *, unique: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds to validate ``frame`` and write it as one snapshot (the store phase), as
    ``pricing.pull.pull_provider`` does (``unique``: the client's ``FetchResult.unique``)."""
    from pricing.pull import validate_offers
    from pricing.store import PriceStore

    start, cpu = time.perf_counter(), time.process_time()
    offers, _ = validate_offers(frame, unique=unique)
    PriceStore(store_dir / f"{provider}.sqlite").write_snapshot(
        provider, "bench", "2026-01-01T00:00:00Z", offers
    )
    return time.perf_counter() - start, time.process_time() - cpu


def timed_pull(store_dir: Path, provider: str, client: Any) -> tuple[int, float]:
    """One whole pull with ``client`` into a fresh store: (offers stored, seconds)."""
    from pricing.pull import pull_provider
    from pricing.store import PriceStore

    start = time.perf_counter()
    summary = pull_provider(PriceStore(store_dir / f"{provider}-e2e.sqlite"), provider, client=client)
    total_s = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(f"{provider} pull failed: {summary.error}")
    return summary.offers, total_s


def bench_aws(count: int, store_dir: Path) -> dict[str, Any]:
    import boto3

    from pricing.providers.aws import (
        INSTANCE_FAMILIES,
        PRODUCT_FILTERS,
        AwsPrices,
        PriceListRows,
        parse_products,
    )
    from pricing.providers.base import SkipCounter
    from tests.pricing.servers.data import fast_options

    process, url, size = start_server(serve_aws, count)
    try:
        client = boto3.session.Session().client("pricing", region_name="us-east-1", endpoint_url=url)
        # Pages are parsed as they arrive (as the client does), each phase timed on its own.
        fetch_s = parse_s = parse_cpu_s = 0.0
        seen: set[tuple[str, str]] = set()
        skipped = SkipCounter()
        rows = PriceListRows("2026-01-01T00:00:00Z")
        for family in INSTANCE_FAMILIES:
            filters = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in PRODUCT_FILTERS.items()]
            filters.append({"Type": "TERM_MATCH", "Field": "instanceFamily", "Value": family})
            token = None
            while True:
                kwargs: dict[str, Any] = {"ServiceCode": "AmazonEC2", "Filters": filters, "MaxResults": 100}
                if token:
                    kwargs["NextToken"] = token
                start = time.perf_counter()
                response = client.get_products(**kwargs)
                fetch_s += time.perf_counter() - start
                start, cpu = time.perf_counter(), time.process_time()
                added: set[tuple[str, str]] = set()
                rows.extend(
                    parse_products(
                        response["PriceList"],
                        fetched_at="2026-01-01T00:00:00Z",
                        regions=frozenset(),
                        seen=seen,
                        added=added,
                        skipped=skipped,
                    )
                )
                seen.update(added)
                parse_s += time.perf_counter() - start
                parse_cpu_s += time.process_time() - cpu
                token = response.get("NextToken")
                if not token:
                    break
        start, cpu = time.perf_counter(), time.process_time()
        frame = rows.frame()
        parse_s += time.perf_counter() - start
        parse_cpu_s += time.process_time() - cpu

        store_s, store_cpu_s = timed_store(store_dir, "aws", frame, unique=True)
        del rows, frame

        offers, total_s = timed_pull(
            store_dir, "aws", AwsPrices(fast_options(url, timeout_s=120, spot=False))
        )
    finally:
        process.terminate()
    return {
        "provider": "aws",
        "items": count,
        "bytes": size,
        "offers": offers,
        "fetch_s": fetch_s,
        "parse_s": parse_s,
        "store_s": store_s,
        "cpu_s": parse_cpu_s + store_cpu_s,
        "end_to_end_s": total_s,
    }


def bench_gcp(count: int, store_dir: Path) -> dict[str, Any]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import billing_v1

    from pricing.providers.base import SkipCounter
    from pricing.providers.gcp import ComponentTable, GcpPrices, compose_offers
    from tests.pricing.servers.data import fast_options

    process, url, size = start_server(serve_gcp, count)
    try:
        client = GcpPrices(fast_options(url, timeout_s=120), credentials=AnonymousCredentials())._client()
        start = time.perf_counter()
        responses = []
        token = ""
        while True:
            request = billing_v1.ListSkusRequest(
                parent="services/6F81-5844-456A", currency_code="USD", page_size=5000, page_token=token
            )
            response = billing_v1.ListSkusResponse.pb(next(iter(client.list_skus(request=request).pages)))
            responses.append(response)
            token = response.next_page_token
            if not token:
                break
        fetch_s = time.perf_counter() - start

        start, cpu = time.perf_counter(), time.process_time()
        table, skipped = ComponentTable(), SkipCounter()
        for response in responses:
            table.add_skus(response.skus, wanted=frozenset(), skipped=skipped)
        frame = compose_offers(table.frame(skipped), "2026-01-01T00:00:00Z")
        parse_s = time.perf_counter() - start
        parse_cpu_s = time.process_time() - cpu

        store_s, store_cpu_s = timed_store(store_dir, "gcp", frame)
        del responses, frame

        offers, total_s = timed_pull(
            store_dir, "gcp", GcpPrices(fast_options(url, timeout_s=120), credentials=AnonymousCredentials())
        )
    finally:
        process.terminate()
    return {
        "provider": "gcp",
        "items": count,
        "bytes": size,
        "offers": offers,
        "fetch_s": fetch_s,
        "parse_s": parse_s,
        "store_s": store_s,
        "cpu_s": parse_cpu_s + store_cpu_s,
        "end_to_end_s": total_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws-products", type=int, default=100_000)
    parser.add_argument("--gcp-skus", type=int, default=50_000)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="AKIDBENCHBENCHBENCH0",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_EC2_METADATA_DISABLED="true",
    )
    # One-time imports (pandas alone takes ~0.3 s) are not per-item work: load them before the clocks start.
    import msgspec  # noqa: F401
    import pandas  # noqa: F401

    import pricing.providers.aws
    import pricing.providers.gcp
    import pricing.store  # noqa: F401

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.2f})")
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_aws(args.aws_products, Path(tmp)), bench_gcp(args.gcp_skus, Path(tmp))]
    print(
        f"{'provider':8} {'items':>8} {'MB':>7} {'offers':>8} {'fetch s':>8} {'parse s':>8} {'store s':>8} "
        f"{'parse+store items/s':>20} {'(CPU time)':>11} {'end-to-end s':>13} {'e2e items/s':>12}"
    )
    for r in results:
        rate = r["items"] / (r["parse_s"] + r["store_s"])
        print(
            f"{r['provider']:8} {r['items']:>8,} {r['bytes'] / 1e6:>7.0f} {r['offers']:>8,} "
            f"{r['fetch_s']:>8.2f} "
            f"{r['parse_s']:>8.2f} {r['store_s']:>8.2f} {rate:>20,.0f} {r['items'] / r['cpu_s']:>11,.0f} "
            f"{r['end_to_end_s']:>13.2f} {r['items'] / r['end_to_end_s']:>12,.0f}"
        )
    print(f"peak memory (max RSS of this process, servers excluded): {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
