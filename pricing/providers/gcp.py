"""GCP prices: the Cloud Billing Catalog (``CloudCatalogClient.list_skus``, REST transport).

What is pulled (pricing_apis.md section 6.2, traps 9-15):
- Compute Engine (``6F81-5844-456A``) and Cloud TPU (``E000-3F24-B8AA``) SKUs, in USD
  (``currency_code="USD"``; a SKU priced in another currency is skipped and counted, never converted).
- GPU machines are composed, per region and pricing model, from component SKUs:
  ``vCPUs x "<S> Instance Core" + GiB x "<S> Instance Ram" + GPUs x "<GPU> GPU"`` for the shapes in
  ``pricing/data/gcp_machine_shapes.csv`` (a2, a3, a4, g2). Local SSD that some shapes bundle is not
  included (the note says so). A machine whose GPU is listed in a region but whose host part is not keeps
  its row with a null price and the ``missing`` flag (A4 host SKUs were missing for months: trap 10).
- GPUs that attach to N1 hosts (T4, V100, P100, P4) are listed alone (``nvidia-tesla-t4-x1``,
  ``accelerator_only``): the N1 host is billed on top.
- TPUs per chip-hour: ``TpuV5e``/``TpuV5p``/``TpuV6e`` SKUs (Compute Engine) are per chip. Legacy TPU
  service SKUs are per 8-core device (4 chips): ``Tpu-v2``/``Tpu-v3`` devices and ``Tpu-v4 Pod`` SKUs are
  divided by 4 (SkyPilot's reading of them; the note says so). Reserved and Calendar Mode SKUs are excluded.
- Pricing models from ``category.usageType``: ``OnDemand`` -> on_demand, ``Preemptible`` (or "Preemptible"
  in the description, which old TPU SKUs carry alone) -> spot, ``Commit1Yr``/``Commit3Yr`` ->
  committed_1y/committed_3y (resource-based CUD SKUs, composed like on-demand).
- Multi-regional SKUs ("... running in Americas") are expanded into their regions; where a regional SKU
  and a multi-regional one price the same component in a region, the regional one wins (counted).
- Units: only hourly usage units are used (``h`` per vCPU/GPU/chip, ``GiBy.h`` per GiB of RAM), checked
  against ``baseUnitConversionFactor``; monthly units (``GiBy.mo``) are skipped, never added to hourly ones.

Credentials: an API key (``TCO_GCP_API_KEY``) or Application Default Credentials
(``gcloud auth application-default login``, or ``GOOGLE_APPLICATION_CREDENTIALS``).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from pricing.accelerators import BY_NAME
from pricing.errors import PricingError
from pricing.providers.base import (
    ClientOptions,
    ErrorWording,
    FetchResult,
    PageError,
    PageGuard,
    ProgressCallback,
    ProgressEvent,
    Retry,
    SkipCounter,
    offers_frame,
    offers_frame_of,
    retry_after_seconds,
    utc_now_iso,
    with_retries,
)
from pricing.schema import PARSED_OFFER_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

ENDPOINT_ENV: Final = "TCO_GCP_BILLING_ENDPOINT"
API_KEY_ENV: Final = "TCO_GCP_API_KEY"
DEFAULT_ENDPOINT: Final = "https://cloudbilling.googleapis.com"
SERVICES: Final = {"Compute Engine": "6F81-5844-456A", "Cloud TPU": "E000-3F24-B8AA"}
SOURCE: Final = "gcp-cloud-billing-catalog"
PAGE_SIZE: Final = 5000  # the API's maximum
SCOPES: Final = ("https://www.googleapis.com/auth/cloud-platform",)
CREDENTIALS_HINT: Final = (
    f"set {API_KEY_ENV} to an API key of a project with the Cloud Billing API enabled, or set up Application "
    "Default Credentials (`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS)"
)

#: "<prefix><body>[ attached to Spot Preemptible VMs] [running ]in <where>[ for N Year(s)]".
DESCRIPTION: Final = re.compile(
    r"^(?:(?P<commit>Commitment v1: )|(?P<spot>(?:Spot )?Preemptible ))?"
    r"(?P<body>.+?)"
    r"(?P<attached> attached to (?:Spot )?Preemptible VMs)?"
    r" (?:running )?in (?P<where>.+?)"
    r"(?: for (?P<years>[13]) Years?)?$"
)
HOST_PART: Final = re.compile(r"^(?P<series>A2|A3|A4|G2|N1 Predefined) Instance (?P<part>Core|Ram)$")
HOST_COMMIT_PART: Final = re.compile(r"^(?P<series>A2|A3|A4|G2) (?P<part>Cpu|Ram)$")
#: GPU SKU bodies -> the GPU key used by the shape table (trap 10: the texts vary; each form seen is listed).
GPU_BODIES: Final = (
    (re.compile(r"^Nvidia Tesla A100 GPU$"), "A100-40GB"),
    (re.compile(r"^Nvidia (?:Tesla )?A100 80GB GPU$"), "A100-80GB"),
    (re.compile(r"^Nvidia H100 80GB GPU$"), "H100"),
    (re.compile(r"^Nvidia H100 (?:80GB Mega|Mega 80GB|80GB Plus) GPU$"), "H100-MEGA"),
    (re.compile(r"^Nvidia H200 141GB GPU$"), "H200"),
    (re.compile(r"^(?:A4 )?Nvidia B200 \(1 gpu slice\)$"), "B200"),
    (re.compile(r"^Nvidia L4 GPU$"), "L4"),
    (re.compile(r"^Nvidia Tesla T4 GPU$"), "T4"),
    (re.compile(r"^Nvidia Tesla V100 GPU$"), "V100"),
    (re.compile(r"^Nvidia Tesla P100 GPU$"), "P100"),
    (re.compile(r"^Nvidia Tesla P4 GPU$"), "P4"),
)
GPU_CANONICAL: Final = {
    "A100-40GB": "A100-40GB",
    "A100-80GB": "A100-80GB",
    "H100": "H100-80GB",
    "H100-MEGA": "H100-80GB",
    "H200": "H200-141GB",
    "B200": "B200",
    "L4": "L4",
    "T4": "T4",
    "V100": "V100-16GB",
    "P100": "P100",
    "P4": "P4",
}
#: GPUs GCP attaches to N1 hosts: listed alone, as GCP names the accelerator type.
ATTACHABLE: Final = {
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "P100": "nvidia-tesla-p100",
    "P4": "nvidia-tesla-p4",
}
TPU_CHIP_BODY: Final = re.compile(r"^Tpu ?V(?P<gen>5e|5p|6e)$", re.IGNORECASE)
TPU_LEGACY_BODY: Final = re.compile(r"^Tpu-v(?P<gen>[234])(?P<pod> Pod)?$", re.IGNORECASE)
#: TPU generation -> (canonical name, chips per SKU unit).
TPU_GENERATIONS: Final = {
    "5e": ("TPU-v5e", 1.0),
    "5p": ("TPU-v5p", 1.0),
    "6e": ("TPU-v6e", 1.0),
    "2": ("TPU-v2", 4.0),
    "3": ("TPU-v3", 4.0),
    "4": ("TPU-v4", 4.0),
}
RESERVED: Final = re.compile(r"calendar mode|^reserved |\breserved\b", re.IGNORECASE)
NOT_MODELLED: Final = re.compile(r"\bDWS\b|dynamic workload|flex|sole tenancy|custom|premium", re.IGNORECASE)
USAGE_MODELS: Final = {
    "OnDemand": "on_demand",
    "Preemptible": "spot",
    "Commit1Yr": "committed_1y",
    "Commit3Yr": "committed_3y",
}
#: usage unit -> the base-unit conversion factor that makes it hourly (per vCPU/GPU/chip, per GiB).
HOURLY_UNITS: Final = {"h": 3600.0, "GiBy.h": 3600.0 * 2**30}
#: Column order of the tuples the parser builds: the contract columns, then flags and note.
ROW_COLUMNS: Final = PARSED_OFFER_COLUMNS
COMPONENT_COLUMNS: Final = ("kind", "key", "model", "region", "price", "sku", "effective", "n_regions")


@dataclass(frozen=True, slots=True)
class MachineShape:
    machine_type: str
    host_series: str
    vcpus: float
    memory_gib: float
    gpu: str
    accelerator: str
    accelerator_count: float


@cache
def machine_shapes() -> tuple[MachineShape, ...]:
    """GCP GPU machine shapes (``pricing/data/gcp_machine_shapes.csv``)."""
    text = resources.files("pricing").joinpath("data/gcp_machine_shapes.csv").read_text()
    return tuple(
        MachineShape(
            r["machine_type"],
            r["host_series"],
            float(r["vcpus"]),
            float(r["memory_gib"]),
            r["gpu"],
            r["accelerator"],
            float(r["accelerator_count"]),
        )
        for r in csv.DictReader(text.splitlines())
    )


@dataclass(frozen=True, slots=True)
class Component:
    """What one SKU prices: a host part (``core``/``ram`` of a series), a ``gpu`` or a ``tpu`` chip."""

    kind: str
    key: str
    model: str


def classify_sku(description: str, usage_type: str) -> Component | str:
    """The component a SKU prices, or the reason it is skipped.

    ``RESERVED`` and ``NOT_MODELLED`` are searched only where they can match: an ASCII description whose
    lower case holds none of their words cannot (a case-insensitive search of ASCII text is a search of its
    lower case); any other description is searched (case-insensitive matching folds some non-ASCII letters
    into ASCII ones, as ``ſ`` into ``s``)."""
    folded = description.lower() if description.isascii() else None
    if (folded is None or "reserved" in folded or "calendar mode" in folded) and RESERVED.search(description):
        return "reserved or calendar-mode SKU (not modelled)"
    if (
        folded is None
        or "dws" in folded
        or "flex" in folded
        or "custom" in folded
        or "premium" in folded
        or "dynamic workload" in folded
        or "sole tenancy" in folded
    ) and NOT_MODELLED.search(description):
        return "DWS/flex/custom/premium SKU (not modelled)"
    match = DESCRIPTION.match(description)
    if match is None:
        return "not a GPU/TPU/host SKU"
    model = USAGE_MODELS.get(usage_type)
    if model is None:
        return f"usage type {usage_type or 'unset'} (not modelled)"
    spot_text = bool(match["spot"] or match["attached"] or "Preemptible" in description)
    if spot_text and model == "on_demand":
        model = "spot"  # old TPU SKUs mark preemptible only in the description
    if model.startswith("committed") != bool(match["commit"]) or (spot_text and model != "spot"):
        return "usage type and description disagree"
    if match["years"] and model.startswith("committed") and model != f"committed_{match['years']}y":
        return "usage type and description disagree"
    body = match["body"]
    host = (HOST_COMMIT_PART if match["commit"] else HOST_PART).match(body)
    if host is not None:
        part = "ram" if host["part"] == "Ram" else "core"
        return Component(part, host["series"], model)
    for pattern, key in GPU_BODIES:
        if pattern.match(body):
            return Component("gpu", key, model)
    tpu = TPU_CHIP_BODY.match(body)
    if tpu is not None:
        return Component("tpu", tpu["gen"].lower(), model)
    legacy = TPU_LEGACY_BODY.match(body)
    if legacy is not None:
        gen = legacy["gen"]
        if (gen == "4") != bool(legacy["pod"]):
            return "TPU SKU form not modelled (v2/v3 pods, v4 devices)"
        return Component("tpu", gen, model)
    return "not a GPU/TPU/host SKU"


def hourly_unit_price(expression: Any, kind: str) -> float | str:
    """The tier-0 price per hour (per vCPU, GiB, GPU or chip) of a pricing expression, or why not."""
    unit = expression.usage_unit
    expected = "GiBy.h" if kind == "ram" else "h"
    if unit != expected:
        monthly = unit.endswith(".mo") or unit == "mo"
        return (
            "monthly usage unit (never added to hourly)" if monthly else f"usage unit {unit!r} not modelled"
        )
    tiers = list(expression.tiered_rates)
    if not tiers:
        return "no price tiers"
    tier = min(tiers, key=lambda t: t.start_usage_amount)
    price = tier.unit_price.units + tier.unit_price.nanos / 1e9
    factor = expression.base_unit_conversion_factor
    if factor and abs(factor - HOURLY_UNITS[unit]) > 1e-6 * HOURLY_UNITS[unit]:
        # The usage unit says hourly but the base-unit factor disagrees: trust the factor.
        per_base_unit = price / factor
        return float(per_base_unit * HOURLY_UNITS[unit])
    return float(price)


def classify_error(exc: BaseException) -> Retry | None:
    """Transient Google/HTTP failures (throttling, 5xx, timeouts, dropped connections, bad pages) -> retry."""
    import requests
    from google.api_core import exceptions as gexc
    from google.protobuf import json_format

    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    after = retry_after_seconds(headers.get("Retry-After")) if hasattr(headers, "get") else None
    if isinstance(exc, (gexc.TooManyRequests, gexc.ResourceExhausted)):
        return Retry("throttled (429)", after)
    if isinstance(exc, gexc.ServerError):
        return Retry(f"HTTP {exc.code}", after)
    if isinstance(exc, requests.exceptions.Timeout):
        return Retry("timed out")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Retry("connection failed")
    if isinstance(exc, (json_format.ParseError, PageError)):
        return Retry("malformed response")
    return None


def convert_error(
    exc: BaseException, *, what: str, endpoint: str, timeout_s: float, attempts: int
) -> PricingError:
    """One PricingError that says what failed and how to fix it."""
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.protobuf import json_format

    wording = ErrorWording(
        "GCP",
        ENDPOINT_ENV,
        "the Cloud Billing API",
        what=what,
        endpoint=endpoint,
        timeout_s=timeout_s,
        attempts=attempts,
    )
    if isinstance(exc, auth_exc.DefaultCredentialsError):
        return PricingError("GCP credentials not found", hint=CREDENTIALS_HINT)
    if isinstance(exc, (gexc.Unauthenticated, gexc.PermissionDenied, gexc.Forbidden, auth_exc.RefreshError)):
        message = getattr(exc, "message", None) or str(exc)
        return PricingError(f"GCP rejected the credentials ({what}): {message}", hint=CREDENTIALS_HINT)
    verdict = classify_error(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return wording.timed_out()
    if isinstance(exc, requests.exceptions.ConnectionError):
        return wording.unreachable()
    if isinstance(exc, (json_format.ParseError, PageError)):
        return wording.malformed(exc)
    if verdict is not None:
        return wording.gave_up(verdict.reason, exc)
    if isinstance(exc, gexc.GoogleAPICallError):
        return PricingError(f"GCP {what} failed: {exc}", hint=f"endpoint {endpoint}")
    return wording.failed(exc)


class ComponentTable:
    """Component prices collected page by page (columns as lists: cheap to append, one frame at the end)."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {c: [] for c in COMPONENT_COLUMNS}
        # an effective time's text, made once: the API gives every SKU of an answer the same effective time
        # (the request's; tests/pricing/servers/data.py's real SKUs), ToJsonString costs ~2 µs
        self._times: dict[tuple[int, int], str] = {}

    def add_skus(self, skus: Any, *, wanted: frozenset[str], skipped: SkipCounter) -> None:
        """Add the components of raw protobuf ``Sku`` messages (one page)."""
        kind_l, key_l, model_l, region_l = (self.columns[c] for c in ("kind", "key", "model", "region"))
        price_l, sku_l, eff_l, nreg_l = (self.columns[c] for c in ("price", "sku", "effective", "n_regions"))
        times = self._times
        for sku in skus:
            category = sku.category
            if category.resource_family and category.resource_family != "Compute":
                skipped["not a compute SKU"] += 1
                continue
            component = classify_sku(sku.description, category.usage_type)
            if isinstance(component, str):
                skipped[component] += 1
                continue
            if not sku.pricing_info:
                skipped["no pricing info"] += 1
                continue
            info = sku.pricing_info[0]
            expression = info.pricing_expression
            currencies = {t.unit_price.currency_code for t in expression.tiered_rates}
            if currencies and currencies != {"USD"}:
                skipped[f"priced in {'/'.join(sorted(currencies))}, not USD"] += 1
                continue
            price = hourly_unit_price(expression, component.kind)
            if isinstance(price, str):
                skipped[price] += 1
                continue
            regions = list(sku.geo_taxonomy.regions) or list(sku.service_regions)
            if not regions:
                skipped["no region"] += 1
                continue
            effective = None
            if info.HasField("effective_time"):
                time = info.effective_time
                at = (time.seconds, time.nanos)
                effective = times.get(at)
                if effective is None:
                    effective = times[at] = time.ToJsonString()
            for region in regions:
                if wanted and region not in wanted:
                    continue
                kind_l.append(component.kind)
                key_l.append(component.key)
                model_l.append(component.model)
                region_l.append(region)
                price_l.append(price)
                sku_l.append(sku.sku_id)
                eff_l.append(effective)
                nreg_l.append(len(regions))

    def frame(self, skipped: SkipCounter) -> pd.DataFrame:
        """One row per (component, model, region): the most specific SKU wins; the others are counted."""
        import pandas as pd

        frame = pd.DataFrame(self.columns, columns=list(COMPONENT_COLUMNS))
        frame = frame.sort_values(["kind", "key", "model", "region", "n_regions", "sku"], kind="stable")
        keys = ["kind", "key", "model", "region"]
        dup = frame.duplicated(keys, keep="first")
        if dup.any():
            kept = frame[~dup].set_index(keys)["price"]
            dropped = frame[dup]
            kept_price = kept.reindex(pd.MultiIndex.from_frame(dropped[keys])).to_numpy()
            same = (dropped["price"].to_numpy() == kept_price).sum()
            if same:
                skipped["duplicate SKU for a component and region"] += int(same)
            if len(dropped) - same:
                skipped["conflicting SKU for a component and region (most specific kept)"] += int(
                    len(dropped) - same
                )
        return frame[~dup].reset_index(drop=True)


def _fmt(values: Any) -> list[str]:
    return ["n/a" if math.isnan(v) else f"{v:g}" for v in values]


def compose_offers(components: pd.DataFrame, fetched_at: str) -> pd.DataFrame:
    """Offer rows from component prices: composed GPU machines, N1-attachable GPUs alone, TPU chips."""
    import numpy as np
    import pandas as pd

    shapes = pd.DataFrame([asdict(shape) for shape in machine_shapes()])
    parts: list[pd.DataFrame] = []
    gpus = components[components["kind"].eq("gpu")]
    machines = shapes.merge(
        gpus.rename(
            columns={"key": "gpu", "price": "gpu_price", "sku": "gpu_sku", "effective": "effective_date"}
        ),
        on="gpu",
        how="inner",
    )
    for part in ("core", "ram"):
        table = components[components["kind"].eq(part)][["key", "model", "region", "price", "sku"]]
        machines = machines.merge(
            table.rename(columns={"key": "host_series", "price": f"{part}_price", "sku": f"{part}_sku"}),
            on=["host_series", "model", "region"],
            how="left",
        )
    if len(machines):
        price = (
            machines["vcpus"] * machines["core_price"]
            + machines["memory_gib"] * machines["ram_price"]
            + machines["accelerator_count"] * machines["gpu_price"]
        )
        missing = price.isna()
        skus = (
            machines["core_sku"].fillna("?")
            + "+"
            + machines["ram_sku"].fillna("?")
            + "+"
            + machines["gpu_sku"]
        )
        notes = [
            (
                f"composed: {v:g} vCPU x {c} + {m:g} GiB x {r} ({s} Instance Core/Ram) "
                f"+ {n:g} GPU x {g:g} $/h; bundled local SSD not included"
            )
            if not miss
            else f"no {s} Instance {'Core' if c == 'n/a' else 'Ram'} SKU in this region: host price unknown"
            for v, c, m, r, s, n, g, miss in zip(
                machines["vcpus"],
                _fmt(machines["core_price"]),
                machines["memory_gib"],
                _fmt(machines["ram_price"]),
                machines["host_series"],
                machines["accelerator_count"],
                machines["gpu_price"],
                missing,
                strict=True,
            )
        ]
        parts.append(
            pd.DataFrame(
                {
                    "region": machines["region"],
                    "instance_type": machines["machine_type"],
                    "accelerator": machines["accelerator"],
                    "accelerator_count": machines["accelerator_count"],
                    "vcpus": machines["vcpus"],
                    "memory_gib": machines["memory_gib"],
                    "pricing_model": machines["model"],
                    "price_usd_per_hour": price,
                    "source_sku": skus,
                    "effective_date": machines["effective_date"],
                    "flags": np.where(missing, "composed;missing", "composed"),
                    "note": notes,
                }
            )
        )

    attach = gpus[gpus["key"].isin(ATTACHABLE)]
    if len(attach):
        parts.append(
            pd.DataFrame(
                {
                    "region": attach["region"],
                    "instance_type": attach["key"].map(ATTACHABLE) + "-x1",
                    "accelerator": attach["key"].map(GPU_CANONICAL),
                    "accelerator_count": 1.0,
                    "vcpus": np.nan,
                    "memory_gib": np.nan,
                    "pricing_model": attach["model"],
                    "price_usd_per_hour": attach["price"],
                    "source_sku": attach["sku"],
                    "effective_date": attach["effective"],
                    "flags": "accelerator_only",
                    "note": "GPU alone: attach it to an N1 host VM, whose vCPU and RAM are billed on top",
                }
            )
        )

    tpus = components[components["kind"].eq("tpu")]
    if len(tpus):
        chips = tpus["key"].map(lambda g: TPU_GENERATIONS[g][1])
        per_chip = tpus["price"] / chips
        notes = [
            "per chip-hour (TPU VM host included): a slice of N chips costs N x this"
            + ("" if n == 1 else f"; SKU priced per 8-core device ({p:g} $/h) / {n:g} chips")
            for n, p in zip(chips, tpus["price"], strict=True)
        ]
        parts.append(
            pd.DataFrame(
                {
                    "region": tpus["region"],
                    "instance_type": "tpu-v" + tpus["key"] + "-chip",
                    "accelerator": tpus["key"].map(lambda g: TPU_GENERATIONS[g][0]),
                    "accelerator_count": 1.0,
                    "vcpus": np.nan,
                    "memory_gib": np.nan,
                    "pricing_model": tpus["model"],
                    "price_usd_per_hour": per_chip,
                    "source_sku": tpus["sku"],
                    "effective_date": tpus["effective"],
                    "flags": "",
                    "note": notes,
                }
            )
        )
    if not parts:
        return offers_frame([], ROW_COLUMNS)
    rows = pd.concat(parts, ignore_index=True)
    rows["provider"] = "gcp"
    rows["zone"] = None
    rows["accelerator_memory_gib"] = rows["accelerator"].map(
        lambda name: BY_NAME[name].memory_gib if name in BY_NAME else None
    )
    rows["currency_original"] = "USD"
    rows["source"] = SOURCE
    rows["fetched_at"] = fetched_at
    rows = rows.sort_values(["instance_type", "region", "pricing_model"], kind="stable")
    return offers_frame_of(rows, ROW_COLUMNS)


class GcpPrices:
    """The GCP client (``PriceClient``)."""

    name = "gcp"

    def __init__(
        self, options: ClientOptions | None = None, *, api_key: str | None = None, credentials: Any = None
    ) -> None:
        self.options = options or ClientOptions()
        self.endpoint = self.options.endpoint_for("gcp")
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if key is not None and not key.strip():
            raise PricingError(
                f"{API_KEY_ENV if api_key is None else 'the GCP API key'} is empty",
                hint=f"give an API key, or unset {API_KEY_ENV} to use Application Default Credentials",
            )
        self.api_key = key.strip() if key is not None else None
        self.credentials = credentials

    def _client(self) -> Any:
        from google.api_core.client_options import ClientOptions as GoogleClientOptions
        from google.cloud import billing_v1

        credentials = self.credentials
        if self.api_key:
            options = GoogleClientOptions(api_endpoint=self.endpoint, api_key=self.api_key)
            credentials = None
        else:
            options = GoogleClientOptions(api_endpoint=self.endpoint)
            if credentials is None:
                import google.auth
                from google.auth import exceptions as auth_exc

                try:
                    credentials, _ = google.auth.default(scopes=list(SCOPES))
                except auth_exc.DefaultCredentialsError as exc:
                    raise PricingError("GCP credentials not found", hint=CREDENTIALS_HINT) from exc
        return billing_v1.CloudCatalogClient(
            credentials=credentials, transport="rest", client_options=options
        )

    def fetch(self, regions: Sequence[str], progress: ProgressCallback) -> FetchResult:
        from google.cloud import billing_v1

        fetched_at = utc_now_iso()
        client = self._client()
        endpoint = self.endpoint or DEFAULT_ENDPOINT
        wanted = frozenset(regions)
        skipped = SkipCounter()
        table = ComponentTable()
        pages = items = 0
        guard = PageGuard("GCP", self.options.max_pages)
        progress(ProgressEvent("gcp", "start", message=f"Cloud Billing Catalog at {endpoint}"))
        for service_name, service_id in SERVICES.items():
            token = ""
            while True:
                guard.page()
                request = billing_v1.ListSkusRequest(
                    parent=f"services/{service_id}",
                    currency_code="USD",
                    page_size=self.options.page_size or PAGE_SIZE,
                    page_token=token,
                )
                what = f"{service_name} SKUs page {pages + 1}"

                def get_page(request: Any = request) -> Any:
                    pager = client.list_skus(request=request, retry=None, timeout=self.options.timeout_s)
                    return billing_v1.ListSkusResponse.pb(next(iter(pager.pages)))

                def on_retry(
                    attempt: int,
                    verdict: Retry,
                    delay: float,
                    what: str = what,
                    pages: int = pages,
                    items: int = items,
                ) -> None:
                    progress(
                        ProgressEvent(
                            "gcp",
                            "retry",
                            pages,
                            items,
                            f"{what}: {verdict.reason}; retry {attempt} in {delay:.1f} s",
                        )
                    )

                try:
                    response = with_retries(
                        get_page, policy=self.options.retry, classify=classify_error, on_retry=on_retry
                    )
                except PricingError:
                    raise
                except Exception as exc:
                    raise convert_error(
                        exc,
                        what=what,
                        endpoint=endpoint,
                        timeout_s=self.options.timeout_s,
                        attempts=self.options.retry.attempts,
                    ) from exc
                table.add_skus(response.skus, wanted=wanted, skipped=skipped)
                pages += 1
                items += len(response.skus)
                progress(ProgressEvent("gcp", "page", pages, items))
                token = guard.token(response.next_page_token, service_id) or ""
                if not token:
                    break
        offers = compose_offers(table.frame(skipped), fetched_at)
        return FetchResult("gcp", SOURCE, endpoint, offers, pages, items, dict(skipped), [], fetched_at)
