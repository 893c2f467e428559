"""Read SkyPilot service-catalog CSVs (the source of the embedded snapshot) into offer rows.

Quirks handled here, each documented in pricing/data/SOURCES.md and docs/pricing_apis.md:
- GCP GPU machines cost a host row (vCPU + RAM) plus accelerator rows in the same zone: composed here.
  GPUs that attach to N1 hosts (T4, V100, P100, P4) have no host row: kept as ``accelerator_only``.
- GCP TPU rows price a whole slice; chips per slice depend on the generation (v2/v3/v4/v5p count cores,
  two per chip; v5e and v6e count chips). Duplicated TPU rows are dropped.
- Sentinels: a GCP ``a4-highgpu-8g`` host price of 0.0 and TPU prices of 700.0 are missing prices.
- AWS on-demand prices are per region, spot per zone (zone IDs such as ``use1-az4``), observed at fetch.
- Azure rows with SpotPrice equal to Price carry no spot data; some accelerator counts are wrong or
  fractional in the source and are corrected from the provider's size documentation (``count_corrected``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pricing.accelerators import BY_NAME
from pricing.providers.gcp import ATTACHABLE as GCP_ATTACHABLE  # their rows price the GPU alone
from pricing.schema import ALL_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

#: SkyPilot accelerator names -> canonical names.
SKYPILOT_NAMES: Final = {
    "A100": "A100-40GB",
    "A100-80GB": "A100-80GB",
    "H100": "H100-80GB",
    "H100-MEGA": "H100-80GB",
    "H200": "H200-141GB",
    "B200": "B200",
    "L4": "L4",
    "L40S": "L40S",
    "A10G": "A10G",
    "A10": "A10",
    "T4": "T4",
    "T4g": "T4",
    "V100": "V100-16GB",
    "V100-32GB": "V100-32GB",
    "P100": "P100",
    "P4": "P4",
    "K80": "K80",
    "M60": "M60",
    "Radeon MI25": "MI25",
    "Inferentia2": "Inferentia2",
    "Trainium": "Trainium1",
    "Trainium2": "Trainium2",
}

#: GCP host machine type -> (SkyPilot accelerator name, count) it is sold with.
GCP_HOST_ACCELERATORS: Final = {
    **{f"a2-highgpu-{n}g": ("A100", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("A100", 16),
    **{f"a2-ultragpu-{n}g": ("A100-80GB", n) for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": ("H100", n) for n in (1, 2, 4, 8)},
    "a3-edgegpu-8g": ("H100", 8),
    "a3-edgegpu-8g-nolssd": ("H100", 8),
    "a3-megagpu-8g": ("H100-MEGA", 8),
    "a3-ultragpu-8g": ("H200", 8),
    "a3-ultragpu-8g-nolssd": ("H200", 8),
    "a4-highgpu-8g": ("B200", 8),
    **{f"g2-standard-{n}": ("L4", 1) for n in (4, 8, 12, 16, 32)},
    "g2-standard-24": ("L4", 2),
    "g2-standard-48": ("L4", 4),
    "g2-standard-96": ("L4", 8),
}

#: TPU generation -> (canonical name, chips per unit of the slice suffix).
TPU_GENERATIONS: Final = {
    "v2": ("TPU-v2", 0.5),
    "v3": ("TPU-v3", 0.5),
    "v4": ("TPU-v4", 0.5),
    "v5p": ("TPU-v5p", 0.5),
    "v5litepod": ("TPU-v5e", 1.0),
    "v6e": ("TPU-v6e", 1.0),
}

#: Accelerator counts the source gets wrong or leaves out, from the providers' size documentation.
COUNT_CORRECTIONS: Final[dict[tuple[str, str], tuple[str, float, str]]] = {
    ("aws", "trn2.48xlarge"): (
        "Trainium2",
        16,
        "AWS Trn2 instance page: trn2.48xlarge has 16 Trainium2 chips",
    ),
    ("azure", "Standard_ND96isr_H100_v5"): (
        "H100",
        8,
        "Azure ND H100 v5 sizes: 8 H100 per VM (source said 12)",
    ),
    ("azure", "Standard_ND96is_H100_v5"): (
        "H100",
        8,
        "Azure ND H100 v5 sizes: 8 H100 per VM (source said 12)",
    ),
    ("azure", "Standard_NV6ads_A10_v5"): ("A10", 1 / 6, "Azure NVadsA10 v5 sizes: 1/6 of an A10"),
    ("azure", "Standard_NV12ads_A10_v5"): ("A10", 1 / 3, "Azure NVadsA10 v5 sizes: 1/3 of an A10"),
    ("azure", "Standard_NV18ads_A10_v5"): ("A10", 1 / 2, "Azure NVadsA10 v5 sizes: 1/2 of an A10"),
    ("azure", "Standard_NV4as_v4"): ("Radeon MI25", 1 / 8, "Azure NVv4 sizes: 1/8 of an MI25"),
    ("azure", "Standard_NV8as_v4"): ("Radeon MI25", 1 / 4, "Azure NVv4 sizes: 1/4 of an MI25"),
    ("azure", "Standard_NV16as_v4"): ("Radeon MI25", 1 / 2, "Azure NVv4 sizes: 1/2 of an MI25"),
}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Where a catalog file came from, stamped on every row it yields."""

    source: str  # e.g. "skypilot-catalog/v8/aws@e385a0d"
    as_of: str  # earliest date the content can be from (ISO date)


def _gpu_memory_gib(gpu_info: Any) -> float | None:
    """Per-GPU memory from SkyPilot's GpuInfo (a Python-literal dict), or None."""
    if not isinstance(gpu_info, str) or not gpu_info.startswith("{"):
        return None
    try:
        info = ast.literal_eval(gpu_info)
        mib = info["Gpus"][0]["MemoryInfo"]["SizeInMiB"]
    except (ValueError, SyntaxError, KeyError, IndexError, TypeError):
        return None
    return float(mib) / 1024.0


def _memory_column(frame: pd.DataFrame, canonical: pd.Series) -> pd.Series:
    import pandas as pd

    default = canonical.map(lambda n: BY_NAME[n].memory_gib if n in BY_NAME else None)
    parsed = (
        frame["GpuInfo"].map(_gpu_memory_gib) if "GpuInfo" in frame else pd.Series(None, index=frame.index)
    )
    return pd.to_numeric(parsed.where(parsed.notna(), default), errors="coerce")


def _apply_corrections(frame: pd.DataFrame, provider: str) -> pd.DataFrame:
    frame = frame.copy()
    frame["AcceleratorCount"] = frame["AcceleratorCount"].astype(float)
    frame["AcceleratorName"] = frame["AcceleratorName"].astype(object)
    frame["flags"] = ""
    frame["note"] = ""
    for (prov, instance_type), (name, count, why) in COUNT_CORRECTIONS.items():
        if prov != provider:
            continue
        hit = frame["InstanceType"].eq(instance_type)
        frame.loc[hit, "AcceleratorName"] = name
        frame.loc[hit, "AcceleratorCount"] = count
        frame.loc[hit, "flags"] = "count_corrected"
        frame.loc[hit, "note"] = why
    return frame


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    for column in ALL_COLUMNS:
        if column not in rows:
            rows[column] = np.nan if column.endswith(("_gib", "_hour", "_count", "vcpus")) else None
    rows["price_usd_per_hour"] = pd.to_numeric(rows["price_usd_per_hour"], errors="coerce")
    rows["price_usd_per_accelerator_hour"] = rows["price_usd_per_hour"] / rows["accelerator_count"]
    return rows.loc[:, list(ALL_COLUMNS)].reset_index(drop=True)


def _long(
    frame: pd.DataFrame,
    *,
    provider: str,
    info: SourceInfo,
    price_columns: dict[str, str],
    zone_models: frozenset[str],
) -> pd.DataFrame:
    """Melt one wide frame (one column per pricing model) into long offer rows."""
    import pandas as pd

    parts = []
    for model, column in price_columns.items():
        part = frame.assign(
            pricing_model=model, price_usd_per_hour=pd.to_numeric(frame[column], errors="coerce")
        )
        if model not in zone_models:
            part = part.assign(zone=None).drop_duplicates(
                subset=["instance_type", "region", "pricing_model"], keep="first"
            )
        part = part[part["price_usd_per_hour"].notna() | part["flags"].str.contains("sentinel|missing")]
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    rows["provider"] = provider
    rows["currency_original"] = "USD"
    rows["source"] = info.source
    rows["fetched_at"] = info.as_of
    return _finish(rows)


def aws_offers(raw: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """AWS vms.csv rows -> offers: on-demand per region, spot per zone (zone IDs)."""
    frame = _apply_corrections(raw, "aws")
    canonical = frame["AcceleratorName"].map(SKYPILOT_NAMES)
    no_price = frame["Price"].isna()
    frame = frame.assign(
        instance_type=frame["InstanceType"],
        region=frame["Region"],
        zone=frame["AvailabilityZone"],
        accelerator=canonical,
        accelerator_count=frame["AcceleratorCount"].astype(float),
        accelerator_memory_gib=_memory_column(frame, canonical),
        vcpus=frame["vCPUs"],
        memory_gib=frame["MemoryGiB"],
    )
    # An instance with no published on-demand price keeps a row with a null price (trap 5).
    frame.loc[no_price, "flags"] = (
        frame.loc[no_price, "flags"].where(
            frame.loc[no_price, "flags"].eq(""), frame.loc[no_price, "flags"] + ";"
        )
        + "missing"
    )
    spot = frame.drop(columns=["flags"]).assign(
        flags=frame["flags"].str.replace(r";?missing", "", regex=True)
    )
    on_demand = _long(
        frame, provider="aws", info=info, price_columns={"on_demand": "Price"}, zone_models=frozenset()
    )
    spot_rows = _long(
        spot, provider="aws", info=info, price_columns={"spot": "SpotPrice"}, zone_models=frozenset({"spot"})
    )
    import pandas as pd

    return pd.concat([on_demand, spot_rows], ignore_index=True)


def _tpu_rows(accels: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    import numpy as np

    parsed = accels["AcceleratorName"].str.extract(r"^tpu-(v2|v3|v4|v5p|v5litepod|v6e)-(\d+)$")
    tpu = accels[parsed[0].notna()].copy()
    gen = parsed.loc[tpu.index, 0]
    size = parsed.loc[tpu.index, 1].astype(float)
    tpu["accelerator"] = gen.map(lambda g: TPU_GENERATIONS[g][0])
    tpu["accelerator_count"] = np.maximum(size * gen.map(lambda g: TPU_GENERATIONS[g][1]), 1.0)
    tpu["instance_type"] = tpu["AcceleratorName"]
    tpu["accelerator_memory_gib"] = tpu["accelerator"].map(lambda n: BY_NAME[n].memory_gib)
    tpu["note"] = "TPU slice price (TPU VM host included); accelerator_count counts chips"
    tpu["flags"] = ""
    tpu = tpu.drop_duplicates(subset=["AcceleratorName", "Region", "Price", "SpotPrice"])
    return tpu.assign(region=tpu["Region"], zone=tpu["AvailabilityZone"], vcpus=np.nan, memory_gib=np.nan)


def gcp_offers(accels: pd.DataFrame, hosts: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """GCP accelerator + host rows -> offers: GPU machines composed, TPU slices per chip, N1 GPUs alone."""
    import numpy as np
    import pandas as pd

    from pricing.validate import SENTINEL_PRICES_USD_PER_HOUR, add_flag, below_spot, outlier_mask

    def missing(price: pd.Series) -> pd.Series:
        return price.isna() | price.le(0) | price.isin(SENTINEL_PRICES_USD_PER_HOUR)

    host_map = pd.DataFrame(
        [(k, v[0], float(v[1])) for k, v in GCP_HOST_ACCELERATORS.items()],
        columns=["InstanceType", "AcceleratorName", "AcceleratorCount"],
    )
    hosts = (
        hosts[hosts["InstanceType"].isin(host_map["InstanceType"])]
        .drop(columns=["AcceleratorName", "AcceleratorCount", "GpuInfo"])
        .merge(host_map, on="InstanceType")
    )
    gpus = accels[~accels["AcceleratorName"].str.startswith("tpu-")].copy()
    gpus["AcceleratorCount"] = gpus["AcceleratorCount"].astype(float)
    # Validate the GPU component across regions before composing (trap 10: in some regions the H100 row is
    # a different SKU); every machine built on a flagged component inherits the flag.
    on_demand = pd.to_numeric(gpus["Price"], errors="coerce")
    components = gpus.rename(columns={"AcceleratorName": "name", "AcceleratorCount": "n", "Region": "region"})
    spot = pd.to_numeric(gpus["SpotPrice"], errors="coerce")
    gpus["Price_outlier"] = outlier_mask(
        on_demand.where(~missing(on_demand)) / gpus["AcceleratorCount"], components, ["name", "n"]
    ) | below_spot(on_demand.where(~missing(on_demand)), spot.where(~missing(spot)))
    machines = hosts.merge(
        gpus[
            [
                "AcceleratorName",
                "AcceleratorCount",
                "GpuInfo",
                "AvailabilityZone",
                "Price",
                "SpotPrice",
                "Price_outlier",
            ]
        ],
        on=["AcceleratorName", "AcceleratorCount", "AvailabilityZone"],
        suffixes=("_host", "_gpu"),
    )
    parts = []
    for model, column in (("on_demand", "Price"), ("spot", "SpotPrice")):
        host_price, gpu_price = machines[f"{column}_host"], machines[f"{column}_gpu"]
        bad = missing(host_price) | missing(gpu_price)
        placeholder = (
            host_price.le(0)
            | host_price.isin(SENTINEL_PRICES_USD_PER_HOUR)
            | gpu_price.le(0)
            | gpu_price.isin(SENTINEL_PRICES_USD_PER_HOUR)
        )
        note = (
            "composed: host "
            + machines["InstanceType"]
            + " "
            + host_price.map("{:g}".format)
            + " + "
            + machines["AcceleratorName"]
            + " x"
            + machines["AcceleratorCount"].map("{:g}".format)
            + " "
            + gpu_price.map("{:g}".format)
        )
        parts.append(
            machines.assign(
                pricing_model=model,
                price_usd_per_hour=(host_price + gpu_price).mask(bad),
                flags=np.where(placeholder, "composed;sentinel", "composed"),
                component_outlier=machines["Price_outlier"].astype(bool) & (model == "on_demand"),
                note=note,
            )[~(bad & ~placeholder)]
        )
    composed = pd.concat(parts, ignore_index=True)
    composed["flags"] = add_flag(composed["flags"], composed["component_outlier"], "outlier")
    canonical = composed["AcceleratorName"].map(SKYPILOT_NAMES)
    composed = composed.assign(
        instance_type=composed["InstanceType"],
        region=composed["Region"],
        zone=None,
        accelerator=canonical,
        accelerator_count=composed["AcceleratorCount"],
        accelerator_memory_gib=_memory_column(composed, canonical),
        vcpus=composed["vCPUs"],
        memory_gib=composed["MemoryGiB"],
    ).drop_duplicates(subset=["instance_type", "region", "pricing_model"], keep="first")

    attach = gpus[gpus["AcceleratorName"].isin(GCP_ATTACHABLE)].copy()
    attach_canonical = attach["AcceleratorName"].map(SKYPILOT_NAMES)
    attach = attach.assign(
        instance_type=attach["AcceleratorName"].map(GCP_ATTACHABLE)
        + "-x"
        + attach["AcceleratorCount"].map("{:g}".format),
        region=attach["Region"],
        zone=None,
        accelerator=attach_canonical,
        accelerator_count=attach["AcceleratorCount"],
        accelerator_memory_gib=_memory_column(attach, attach_canonical),
        vcpus=np.nan,
        memory_gib=np.nan,
        flags="accelerator_only",
        note="GPU alone: attach to an N1 host VM, whose vCPU and RAM are billed on top",
    )
    tpus = _tpu_rows(accels, info)
    tpus["flags"] = np.where(missing(tpus["Price"]) & tpus["Price"].notna(), "sentinel", "")
    tpu_spot_flags = np.where(missing(tpus["SpotPrice"]) & tpus["SpotPrice"].notna(), "sentinel", "")
    simple = []
    for frame in (attach, tpus):
        frame_on_demand = frame.assign(pricing_model="on_demand", price_usd_per_hour=frame["Price"])
        frame_spot = frame.assign(pricing_model="spot", price_usd_per_hour=frame["SpotPrice"])
        if frame is tpus:
            frame_spot = frame_spot.assign(flags=tpu_spot_flags)
        simple.extend([frame_on_demand, frame_spot])
    rest = pd.concat(simple, ignore_index=True)
    rest = (
        rest[rest["price_usd_per_hour"].notna()]
        .drop_duplicates(subset=["instance_type", "region", "pricing_model"], keep="first")
        .assign(zone=None)
    )
    rows = pd.concat([composed, rest], ignore_index=True)
    rows["provider"] = "gcp"
    rows["currency_original"] = "USD"
    rows["source"] = info.source
    rows["fetched_at"] = info.as_of
    return _finish(rows)


def azure_offers(raw: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """Azure vms.csv rows -> offers (per region); spot equal to on-demand means no spot data."""
    frame = _apply_corrections(raw, "azure")
    canonical = frame["AcceleratorName"].map(SKYPILOT_NAMES)
    frame = frame.assign(
        instance_type=frame["InstanceType"],
        region=frame["Region"],
        zone=None,
        accelerator=canonical,
        accelerator_count=frame["AcceleratorCount"].astype(float),
        accelerator_memory_gib=canonical.map(lambda n: BY_NAME[n].memory_gib if n in BY_NAME else None),
        vcpus=frame["vCPUs"],
        memory_gib=frame["MemoryGiB"],
    )
    frame["SpotPrice"] = frame["SpotPrice"].mask(frame["SpotPrice"].eq(frame["Price"]))
    return _long(
        frame,
        provider="azure",
        info=info,
        price_columns={"on_demand": "Price", "spot": "SpotPrice"},
        zone_models=frozenset(),
    )


def source_label(kind: str, commit: str) -> str:
    """A short source label, e.g. ``skypilot-catalog/v8/aws@e385a0d``."""
    return f"skypilot-catalog/{kind}@{commit[:7]}" if re.fullmatch(r"[0-9a-f]{7,40}", commit) else kind
