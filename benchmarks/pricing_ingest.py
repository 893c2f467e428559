"""How fast price pulls ingest: items per second from the SDK's pages to committed SQLite rows; peak memory.

    python benchmarks/pricing_ingest.py [--aws-products 100000] [--gcp-skus 50000] [--repeats 1]

A loopback server (the test suite's, in a child process so that its memory and CPU are not counted) serves
synthetic items in the real wire formats: AWS GetProducts products (``aws_products``: the attribute set and
term structure of the real captures in tests/data/aws, one on-demand and twelve reserved terms each, every
product with its own SKU, instance SKU, region and prices) and GCP Cloud Billing SKUs (core, RAM, GPU and TPU
SKUs of a2/g2 machines per synthetic region, on-demand and spot). The real SDKs fetch them (boto3 with dummy
keys, the Google client over REST).

Phases, timed separately, each as the client and ``pricing.pull.pull_provider`` run it:
- fetch: HTTP + the SDK's own decoding (botocore's JSON parser, which leaves each PriceList item a JSON
  string; protobuf's JSON parser for GCP). Not part of the rate below.
- parse: tco decoding the SDK's pages (AWS: ``parse_products`` per page, which reads each PriceList JSON
  string, with the native reader ``pricing/_pricelist.c`` or else the typed msgspec structs, and turns it
  into offer rows before reading the next, so the two cannot be timed apart; GCP:
  ``ComponentTable.add_skus``, the component SKUs into a table);
- transform: the decoded items into the offer frame (AWS: the pages' rows joined and
  ``PriceListRows.frame``; GCP: the component table's frame and ``compose_offers``);
- validate: ``pricing.pull.validate_offers`` (flags: zero, sentinel, invalid, outlier; duplicates);
- store: ``PriceStore.write_snapshot`` into a new store file: encoding the columns, one SQLite transaction,
  committed (WAL, synchronous=NORMAL, as every pull writes).

**items/s** = items / (parse + transform + validate + store), in wall-clock seconds: the items (AWS products,
GCP SKUs) taken from the SDK's pages to committed SQLite rows per second, end to end. Beside it the same
rate in CPU seconds of this process (what a loaded machine inflates less). ``e2e`` is a whole
``pull_provider`` run, fetch and summary included. Peak memory is this process's max RSS. With
``--repeats N`` each provider is measured N times and the median and best rates are printed.
``--readers native,structs`` measures AWS with the native reader and with the msgspec structs alone,
alternately in each repeat (this VM's speed drifts: compare runs made side by side).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Instance type -> (vcpu, memory, gpu attribute or None, us-east-1 on-demand $/h, family, processor): the
#: attribute values of the real products (AWS instance type pages; on-demand prices of the embedded snapshot).
AWS_TYPES: dict[str, tuple[str, str, str | None, float, str, str]] = {
    "p5.48xlarge": ("192", "2048 GiB", "8", 55.04, "GPU instance", "AMD EPYC 7R13 Processor"),
    "p4d.24xlarge": ("96", "1152 GiB", "8", 21.957642, "GPU instance", "Intel Xeon Platinum 8275L"),
    "p4de.24xlarge": ("96", "1152 GiB", "8", 27.44705, "GPU instance", "Intel Xeon Platinum 8275L"),
    "g5.xlarge": ("4", "16 GiB", "1", 1.006, "GPU instance", "AMD EPYC 7R32"),
    "g5.12xlarge": ("48", "192 GiB", "4", 5.672, "GPU instance", "AMD EPYC 7R32"),
    "g6.xlarge": ("4", "16 GiB", "1", 0.8048, "GPU instance", "AMD EPYC 7R13 Processor"),
    "g6e.xlarge": ("4", "32 GiB", "1", 1.861, "GPU instance", "AMD EPYC 7R13 Processor"),
    "g4dn.xlarge": ("4", "16 GiB", "1", 0.526, "GPU instance", "Intel Xeon Family"),
    "trn1.32xlarge": ("128", "512 GiB", None, 21.50, "Machine Learning ASIC Instances", "Intel Xeon Family"),
    "inf2.xlarge": ("4", "16 GiB", None, 0.7582, "Machine Learning ASIC Instances", "AMD EPYC 7R13"),
}
AWS_TYPE_NAMES = tuple(AWS_TYPES)
#: The real reserved offer term codes (shared by every product, as in the real price list): (class, length,
#: payment) -> code, and the share of the on-demand price that the term's hourly rate and upfront fee make.
RESERVED_TERMS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("standard", "1yr", "No Upfront", "4NA7Y494T4", 0.64, 0.0),
    ("standard", "1yr", "Partial Upfront", "HU7G6KETJZ", 0.31, 0.31),
    ("standard", "1yr", "All Upfront", "6QCMYABX3D", 0.0, 0.60),
    ("standard", "3yr", "No Upfront", "BPH4J8HBKS", 0.45, 0.0),
    ("standard", "3yr", "Partial Upfront", "38NPMPTW36", 0.20, 0.20),
    ("standard", "3yr", "All Upfront", "NQ3QZPMQV9", 0.0, 0.38),
    ("convertible", "1yr", "No Upfront", "7NE97W5U4E", 0.72, 0.0),
    ("convertible", "1yr", "Partial Upfront", "CUZHX8X6JH", 0.35, 0.35),
    ("convertible", "1yr", "All Upfront", "VJWZNREJX2", 0.0, 0.68),
    ("convertible", "3yr", "No Upfront", "Z2E3P23VKM", 0.52, 0.0),
    ("convertible", "3yr", "Partial Upfront", "R5XV2EPZQZ", 0.24, 0.24),
    ("convertible", "3yr", "All Upfront", "MZU6U2429S", 0.0, 0.46),
)
ON_DEMAND_CODE = "JRTCKXETXF"
HOURLY_RATE, UPFRONT_RATE = "6YS6EN2CT7", "2TG2D8R56U"
EFFECTIVE_DATES = (
    "2025-06-01T00:00:00Z",
    "2025-03-01T00:00:00Z",
    "2024-11-01T00:00:00Z",
    "2025-08-01T00:00:00Z",
)
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _code16(number: int) -> str:
    """A 16-character SKU-like code, distinct for each ``number`` below 36**16 (multiplying by a number
    prime to 36 is a bijection modulo 36**16; a golden-ratio multiplier spreads neighbours over the
    digits)."""
    value = (number + 1) * 4918723070491744169623553 % 36**16
    out = []
    for _ in range(16):
        value, digit = divmod(value, 36)
        out.append(_BASE36[digit])
    return "".join(out)


def _aws_template(instance_type: str) -> str:
    """The wire form of one product of ``instance_type`` (the real captures' attribute set and term
    structure, key order as the API writes it) with ``%(name)s`` slots for what differs per product."""
    vcpu, memory, gpu, _, family, processor = AWS_TYPES[instance_type]
    attributes: dict[str, str] = {
        "enhancedNetworkingSupported": "Yes",
        "intelTurboAvailable": "No",
        "memory": memory,
        "dedicatedEbsThroughput": "19000 Mbps",
        "vcpu": vcpu,
        "classicnetworkingsupport": "false",
        "capacitystatus": "Used",
        "locationType": "AWS Region",
        "storage": "EBS only",
        "instanceFamily": family,
        "operatingSystem": "Linux",
        "intelAvx2Available": "No",
        "regionCode": "@region@",
        "physicalProcessor": processor,
        "clockSpeed": "2.95 GHz",
        "ecu": "NA",
        "networkPerformance": "100 Gigabit",
        "servicename": "Amazon Elastic Compute Cloud",
        "instancesku": "@instancesku@",
        "gpuMemory": "NA",
        "vpcnetworkingsupport": "true",
        "instanceType": instance_type,
        "tenancy": "Shared",
        "usagetype": f"@usage@-BoxUsage:{instance_type}",
        "normalizationSizeFactor": "NA",
        "intelAvxAvailable": "No",
        "processorFeatures": "AMD Turbo; AVX; AVX2",
        "servicecode": "AmazonEC2",
        "licenseModel": "No License required",
        "currentGeneration": "Yes",
        "preInstalledSw": "NA",
        "location": "@location@",
        "processorArchitecture": "64-bit",
        "marketoption": "OnDemand",
        "operation": "RunInstances",
        "availabilityzone": "NA",
    }
    if gpu is not None:
        attributes["gpu"] = gpu

    def dimension(code: str, rate: str, unit: str, description: str, usd: str) -> tuple[str, dict[str, Any]]:
        key = f"@sku@.{code}.{rate}"
        return key, {
            "unit": unit,
            "endRange": "Inf",
            "description": description,
            "appliesTo": [],
            "rateCode": key,
            "beginRange": "0",
            "pricePerUnit": {"USD": usd},
        }

    def term(
        code: str, dimensions: list[tuple[str, dict[str, Any]]], attrs: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "priceDimensions": dict(dimensions),
            "sku": "@sku@",
            "effectiveDate": "@date@",
            "offerTermCode": code,
            "termAttributes": attrs,
        }

    reserved_description = f"Linux/UNIX (Amazon VPC), {instance_type} reserved instance applied"
    reserved = {}
    for index, (offering, length, payment, code, hourly, upfront) in enumerate(RESERVED_TERMS):
        dimensions = []
        if hourly or payment == "All Upfront":
            dimensions.append(dimension(code, HOURLY_RATE, "Hrs", reserved_description, f"@h{index}@"))
        if upfront:
            dimensions.append(dimension(code, UPFRONT_RATE, "Quantity", "Upfront Fee", f"@u{index}@"))
        attrs = {"LeaseContractLength": length, "OfferingClass": offering, "PurchaseOption": payment}
        reserved[f"@sku@.{code}"] = term(code, dimensions, attrs)
    product = {
        "product": {"productFamily": "Compute Instance", "attributes": attributes, "sku": "@sku@"},
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                f"@sku@.{ON_DEMAND_CODE}": term(
                    ON_DEMAND_CODE,
                    [
                        dimension(
                            ON_DEMAND_CODE,
                            HOURLY_RATE,
                            "Hrs",
                            f"$@od_text@ per On Demand Linux {instance_type} Instance Hour",
                            "@od@",
                        )
                    ],
                    {},
                )
            },
            "Reserved": reserved,
        },
        "version": "20250601000000",
        "publicationDate": "2025-06-01T00:00:00Z",
    }
    text = json.dumps(product).replace("%", "%%")
    return re.sub(r"@(\w+)@", r"%(\1)s", text)


def aws_products(count: int, seed: int = 14) -> list[str]:
    """``count`` GetProducts PriceList strings, each a distinct product with its own prices.

    Product ``i`` is instance type ``i % 10`` in synthetic region ``i // 10`` (so no two share an
    (instance type, region) pair, as the real API's filtered answer has none): its own SKU, instance SKU,
    usage type and location, an on-demand price of the type's us-east-1 price times a regional factor drawn
    in 1.0-1.6 (real regional spreads), and twelve reserved terms (standard and convertible, 1 and 3 years,
    three payment options; the real offer term codes) whose hourly rates and upfront fees are the term's
    usual share of that price, each drawn with its own +-3%. Prices are written as the API writes them
    (10 decimals hourly, whole dollars upfront).
    """
    import random

    rng = random.Random(seed)
    templates = {name: _aws_template(name) for name in AWS_TYPE_NAMES}
    out = []
    for i in range(count):
        instance_type = AWS_TYPE_NAMES[i % len(AWS_TYPE_NAMES)]
        region = i // len(AWS_TYPE_NAMES)
        on_demand = round(AWS_TYPES[instance_type][3] * rng.uniform(1.0, 1.6), 4)
        values: dict[str, str] = {
            "sku": _code16(i),
            "instancesku": _code16(i + 10**9),
            "region": f"bench-{region:06d}",
            "usage": f"B{region:06X}",
            "location": f"Bench Region {region}",
            "date": EFFECTIVE_DATES[rng.randrange(len(EFFECTIVE_DATES))],
            "od": f"{on_demand:.10f}",
            "od_text": f"{on_demand:g}",
        }
        for index, (_, length, _, _, hourly, upfront) in enumerate(RESERVED_TERMS):
            hours = 8760 * (1 if length == "1yr" else 3)
            values[f"h{index}"] = f"{on_demand * hourly * rng.uniform(0.97, 1.03):.10f}"
            values[f"u{index}"] = f"{round(on_demand * upfront * hours * rng.uniform(0.97, 1.03))}"
        out.append(templates[instance_type] % values)
    return out


def serve_aws(count: int, conn: Any) -> None:
    from tests.pricing.servers.aws import AwsServer

    encoded = aws_products(count)
    families = [AWS_TYPES[AWS_TYPE_NAMES[i % len(AWS_TYPE_NAMES)]][4] for i in range(count)]
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


class Clock:
    """Wall and CPU seconds of the ``with`` blocks it times, added up."""

    def __init__(self) -> None:
        self.wall_s = 0.0
        self.cpu_s = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s += time.perf_counter() - self._wall
        self.cpu_s += time.process_time() - self._cpu


PHASES = ("parse", "transform", "validate", "store")


def timed_validate_store(
    store_dir: Path, provider: str, frame: Any, clocks: dict[str, Clock], *, unique: bool = False
) -> None:
    """Validate ``frame`` and write it as one snapshot into a new store, as ``pull_provider`` does
    (``unique``: the client's ``FetchResult.unique``)."""
    from pricing.pull import validate_offers
    from pricing.store import PriceStore

    with clocks["validate"]:
        offers, _ = validate_offers(frame, unique=unique)
    with clocks["store"]:
        PriceStore(store_dir / f"{provider}-{time.monotonic_ns()}.sqlite").write_snapshot(
            provider, "bench", "2026-01-01T00:00:00Z", offers
        )


def timed_pull(store_dir: Path, provider: str, client: Any) -> tuple[int, float]:
    """One whole pull with ``client`` into a fresh store: (offers stored, seconds)."""
    from pricing.pull import pull_provider
    from pricing.store import PriceStore

    start = time.perf_counter()
    summary = pull_provider(
        PriceStore(store_dir / f"{provider}-e2e-{time.monotonic_ns()}.sqlite"), provider, client=client
    )
    total_s = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(f"{provider} pull failed: {summary.error}")
    return summary.offers, total_s


def result(provider: str, count: int, size: int, offers: int, fetch_s: float, clocks: dict[str, Clock],
           total_s: float) -> dict[str, Any]:  # fmt: skip
    return {
        "provider": provider,
        "items": count,
        "bytes": size,
        "offers": offers,
        "fetch_s": fetch_s,
        **{f"{name}_s": clocks[name].wall_s for name in PHASES},
        "wall_s": sum(clocks[name].wall_s for name in PHASES),
        "cpu_s": sum(clocks[name].cpu_s for name in PHASES),
        "end_to_end_s": total_s,
    }


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
        fetch_s = 0.0
        clocks = {name: Clock() for name in PHASES}
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
                added: set[tuple[str, str]] = set()
                with clocks["parse"]:  # decode and rows a product at a time, as the client does
                    page_rows = parse_products(
                        response["PriceList"],
                        fetched_at="2026-01-01T00:00:00Z",
                        regions=frozenset(),
                        seen=seen,
                        added=added,
                        skipped=skipped,
                    )
                with clocks["transform"]:
                    rows.extend(page_rows)
                    seen.update(added)
                del page_rows
                token = response.get("NextToken")
                if not token:
                    break
        with clocks["transform"]:
            frame = rows.frame()
        if len(rows) != 7 * count or dict(skipped) != {
            "reserved term: convertible (not modelled)": 6 * count
        }:
            raise SystemExit(f"unexpected AWS parse: {len(rows)} rows, skipped {dict(skipped)}")
        del rows
        timed_validate_store(store_dir, "aws", frame, clocks, unique=True)
        del frame

        offers, total_s = timed_pull(
            store_dir, "aws", AwsPrices(fast_options(url, timeout_s=120, spot=False))
        )
    finally:
        process.terminate()
    return result("aws", count, size, offers, fetch_s, clocks, total_s)


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

        clocks = {name: Clock() for name in PHASES}
        with clocks["parse"]:
            table, skipped = ComponentTable(), SkipCounter()
            for response in responses:
                table.add_skus(response.skus, wanted=frozenset(), skipped=skipped)
        with clocks["transform"]:
            frame = compose_offers(table.frame(skipped), "2026-01-01T00:00:00Z")
        timed_validate_store(store_dir, "gcp", frame, clocks)
        del responses, frame

        offers, total_s = timed_pull(
            store_dir, "gcp", GcpPrices(fast_options(url, timeout_s=120), credentials=AnonymousCredentials())
        )
    finally:
        process.terminate()
    return result("gcp", count, size, offers, fetch_s, clocks, total_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws-products", type=int, default=100_000)
    parser.add_argument("--gcp-skus", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=1, help="measure each provider this many times")
    parser.add_argument(
        "--readers",
        default="native",
        help="AWS readers to measure, comma-separated, alternately in each repeat: native "
        "(pricing/_pricelist.c, the msgspec structs for what it leaves), structs (the msgspec structs alone)",
    )
    args = parser.parse_args()
    readers = args.readers.split(",")
    if not set(readers) <= {"native", "structs"}:
        parser.error(f"--readers: native or structs, not {args.readers!r}")
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
    import pricing.store

    native = pricing.providers.aws._SCAN
    if "native" in readers and native is None:
        raise SystemExit("the native reader is not built (pip install -e .; TCO_NO_NATIVE unset)")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.2f})")
    print(
        "items/s = items / (parse + transform + validate + store) wall seconds: items taken from the SDK's "
        "pages to committed SQLite rows"
    )
    print(
        f"{'provider':11} {'items':>8} {'MB':>6} {'offers':>8} {'fetch s':>8} {'parse s':>8} {'transf s':>8} "
        f"{'valid s':>8} {'store s':>8} {'items/s':>8} {'(CPU)':>8} {'e2e s':>7} {'e2e it/s':>9} {'load':>5}"
    )
    rates: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[tuple[str, Callable[[int, Path], dict[str, Any]], int]] = [
            *(
                (f"aws {reader}" if len(readers) > 1 else "aws", bench_aws, args.aws_products)
                for reader in readers
            ),
            ("gcp", bench_gcp, args.gcp_skus),
        ]
        for _ in range(args.repeats):
            for name, bench, count in runs:
                pricing.providers.aws._SCAN = None if name.endswith("structs") else native
                r = bench(count, Path(tmp))
                rate, cpu_rate = r["items"] / r["wall_s"], r["items"] / r["cpu_s"]
                rates.setdefault(name, []).append((rate, cpu_rate))
                print(
                    f"{name:11} {r['items']:>8,} {r['bytes'] / 1e6:>6.0f} {r['offers']:>8,} "
                    f"{r['fetch_s']:>8.2f} {r['parse_s']:>8.2f} {r['transform_s']:>8.2f} "
                    f"{r['validate_s']:>8.2f} {r['store_s']:>8.2f} {rate:>8,.0f} {cpu_rate:>8,.0f} "
                    f"{r['end_to_end_s']:>7.2f} {r['items'] / r['end_to_end_s']:>9,.0f} "
                    f"{os.getloadavg()[0]:>5.2f}",
                    flush=True,
                )
    if args.repeats > 1:
        for provider, measured in rates.items():
            wall = sorted(m[0] for m in measured)
            cpu = sorted(m[1] for m in measured)
            print(
                f"{provider}: items/s median {statistics.median(wall):,.0f}, best {wall[-1]:,.0f} "
                f"(CPU time: median {statistics.median(cpu):,.0f}, best {cpu[-1]:,.0f}) over {len(wall)} runs"
            )
    print(f"peak memory (max RSS of this process, servers excluded): {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
