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

#: SkyPilot accelerator names -> canonical names. A name that covers several parts (``H100``: SXM or PCIe;
#: ``A100``: SXM4 or PCIe) maps to the SXM part here; :func:`canonical_accelerator` corrects it from the
#: seller's own description (``ACCELERATOR_RULES``, ``FORM_FACTOR_TOKENS``).
SKYPILOT_NAMES: Final = {
    "A100": "A100-40GB",
    "A100-80GB": "A100-80GB",
    "A800": "A800-80GB-PCIe",
    "H100": "H100-80GB",
    "H100-SXM": "H100-80GB",
    "H100-MEGA": "H100-80GB",
    "H200": "H200-141GB",
    "GH200": "GH200",
    "B200": "B200",
    "B300": "B300",
    "GB200": "GB200",
    "GB300": "GB300",
    "L4": "L4",
    "L40": "L40",
    "L40S": "L40S",
    "A10G": "A10G",
    "A10": "A10",
    "A16": "A16",
    "A40": "A40",
    "T4": "T4",
    "T4g": "T4",
    "V100": "V100-16GB",
    "V100-32GB": "V100-32GB",
    "P100": "P100",
    "P4": "P4",
    "K80": "K80",
    "M60": "M60",
    "A4000": "RTX-A4000",
    "A5000": "RTX-A5000",
    "RTXA5000": "RTX-A5000",
    "A6000": "RTX-A6000",
    "RTXA6000": "RTX-A6000",
    "RTX6000": "Quadro-RTX-6000",
    "RTX6000Ada": "RTX-6000-Ada",
    "RTXPro6000": "RTX-PRO-6000",
    "RTXPRO6000": "RTX-PRO-6000",
    "P4000": "Quadro-P4000",
    "M4000": "Quadro-M4000",
    "Radeon MI25": "MI25",
    "MI300X": "MI300X",
    "MI355X": "MI355X",
    "GAUDI2": "Gaudi2",
    "Inferentia2": "Inferentia2",
    "Trainium": "Trainium1",
    "Trainium2": "Trainium2",
}

#: The PCIe card of each chip also sold as an SXM module (the SXM part is the SkyPilot name's default).
PCIE_VARIANTS: Final = {
    "A100-40GB": "A100-40GB-PCIe",
    "A100-80GB": "A100-80GB-PCIe",
    "H100-80GB": "H100-80GB-PCIe",
}

#: Words in a seller's instance type, upstream type or GPU name that say which form factor it is. Checked in
#: order; the first that matches decides. ``S`` after the memory in DataCrunch names (``1H100.80S.30V``) marks
#: SXM; HBM3 memory on an H100 means SXM5 (the PCIe card has HBM2e); an NVLink mesh of eight is an HGX board.
FORM_FACTOR_TOKENS: Final[tuple[tuple[str, str], ...]] = (
    (r"pci", "pcie"),
    (r"sxm|hbm3|nvlink|\.\d+s\.", "sxm"),
)

#: Instance types whose accelerator the SkyPilot name gets wrong or leaves open, from the seller's
#: description: (provider, regular expression matching the whole instance type, canonical accelerator, why).
#: Checked first, before the form-factor words and the name-based default.
ACCELERATOR_RULES: Final[tuple[tuple[str, str, str, str], ...]] = (
    (
        "azure",
        r"Standard_NC(40ads|80adis)_H100_v5",
        "H100-NVL",
        "Microsoft Learn NCads H100 v5 sizes: H100 NVL (94 GB, PCIe), not the SXM H100",
    ),
    (
        "azure",
        r"Standard_NC(24|48|96)ads_A100_v4",
        "A100-80GB-PCIe",
        "Microsoft Learn NC A100 v4 sizes: A100 PCIe 80 GB",
    ),
    ("lambda", r"gpu_[124]x_a100", "A100-40GB-PCIe", "Lambda API description: 'Nx A100 (40 GB PCIe)'"),
    ("lambda", r"gpu_8x_a100", "A100-40GB", "Lambda API description: '8x A100 (40 GB SXM4)'"),
    ("oci", r"BM\.GPU\.H100\.8", "H100-80GB", "OCI BM.GPU.H100.8: eight H100 SXM5 on an HGX board"),
    (
        "oci",
        r"BM\.GPU\.A100-v2\.8",
        "A100-80GB",
        "OCI BM.GPU.A100-v2.8: eight A100 80GB SXM4 on an HGX board",
    ),
    ("oci", r"BM\.GPU4\.8", "A100-40GB", "OCI BM.GPU4.8: eight A100 40GB SXM4 on an HGX board"),
    (
        "shadeform",
        r"lambdalabs_H100",
        "H100-80GB",
        "resold Lambda gpu_1x_h100_sxm5 (same 4.29 $/h; Lambda's PCIe H100 costs 3.29)",
    ),
    ("shadeform", r"lambdalabs_A100x8", "A100-40GB", "resold Lambda gpu_8x_a100: '8x A100 (40 GB SXM4)'"),
    (
        "shadeform",
        r"scaleway_H100(x2)?",
        "H100-80GB-PCIe",
        "Scaleway H100-1-80G / H100-2-80G are H100 PCIe instances (Scaleway docs, H100 migration guide)",
    ),
    (
        "shadeform",
        r"massedcompute_A100-80GB(x2)?",
        "A100-80GB-PCIe",
        "listed beside massedcompute_A100-sxm4-80GB at another price: the unmarked one is the PCIe card",
    ),
    (
        "shadeform",
        r"crusoe_A100-80GB(x2|x4)?",
        "A100-80GB-PCIe",
        "listed beside crusoe_A100-80G-sxm4x8: the unmarked one is the PCIe card",
    ),
    (
        "primeintellect",
        r"hyperstack__\dxH100_80GB__(28__180|60__360|124__720|252__1440)",
        "H100-80GB-PCIe",
        "Hyperstack n3-H100xN flavours are H100 PCIe (the SXM5 flavour says so: n3-H100-SXM5x8)",
    ),
    (
        "primeintellect",
        r"hyperstack__\d+xA100_80GB__\d+__\d+",
        "A100-80GB-PCIe",
        "Hyperstack n3-A100xN flavours are A100 PCIe 80GB",
    ),
    (
        "primeintellect",
        r"lambdalabs__8xA100_40GB__.*",
        "A100-40GB",
        "resold Lambda gpu_8x_a100: '8x A100 (40 GB SXM4)'",
    ),
    (
        "cudo",
        r"(epyc-genoa|intel-ice-lake)-a100-pcie?_.*",
        "A100-80GB-PCIe",
        "Cudo's A100 sizes carry 80 GB per GPU (GpuInfo 81920 MiB) on a PCIe card: the A100 PCIe 80GB",
    ),
)
#: Providers whose GPU sizes are documented: an ambiguous name there is the SXM part (the exceptions are in
#: ``ACCELERATOR_RULES``), not an assumption to flag.
HYPERSCALERS: Final = frozenset({"aws", "gcp", "azure"})


def canonical_accelerator(
    provider: str, name: Any, instance_type: str, evidence: str = ""
) -> tuple[str | None, str, str]:
    """(canonical accelerator, flag, note) of one catalog row.

    ``name`` is SkyPilot's ``AcceleratorName``; ``evidence`` is any other text of the row that may name the
    form factor (an upstream type, the GPU name in ``GpuInfo``). ``ACCELERATOR_RULES`` decide first, then
    form-factor words, then the name. The flag is ``variant_assumed`` when a GPU sold in two form factors
    could not be told apart (the SXM part is kept), else "".
    """
    base = SKYPILOT_NAMES.get(name) if isinstance(name, str) else None
    text = f"{instance_type} {evidence}".lower()
    for rule_provider, pattern, canonical, why in ACCELERATOR_RULES:
        if rule_provider == provider and re.fullmatch(pattern, instance_type):
            return canonical, "", why
    form = next((f for pattern, f in FORM_FACTOR_TOKENS if re.search(pattern, text)), None)
    if base not in PCIE_VARIANTS:
        return base, "", ""
    if form is not None:
        return (PCIE_VARIANTS[base] if form == "pcie" else base), "", ""
    if provider in HYPERSCALERS:
        return base, "", ""
    return base, "variant_assumed", "form factor not stated by the seller: the SXM part is assumed"


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
    import pandas as pd

    frame = _apply_corrections(raw, "azure")
    resolved = [
        canonical_accelerator("azure", name, size)
        for name, size in zip(frame["AcceleratorName"], frame["InstanceType"], strict=True)
    ]
    canonical = pd.Series([r[0] for r in resolved], index=frame.index, dtype=object)
    why = pd.Series([r[2] for r in resolved], index=frame.index, dtype=object)
    frame["note"] = frame["note"].where(
        why.eq(""), why.where(frame["note"].eq(""), frame["note"] + "; " + why)
    )
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


@dataclass(frozen=True, slots=True)
class GpuCloud:
    """How to read one GPU cloud's catalog table (pricing/data/SOURCES.md, "Neocloud tables")."""

    provider: str
    #: a marketplace: the instance type's prefix names the cloud that runs the offer
    reseller: bool = False
    #: the table crosses one global price list with every region: it does not say where capacity exists
    listed_all_regions: bool = False
    #: the ``AvailabilityZone`` column holds a site with its own price (else zones are folded into regions)
    zonal: bool = False
    #: what the seller calls its spot prices
    spot_note: str = ""


GPU_CLOUDS: Final = {
    "lambda": GpuCloud("lambda", listed_all_regions=True),
    "nebius": GpuCloud("nebius", spot_note="preemptible price"),
    "oci": GpuCloud("oci", listed_all_regions=True, spot_note="preemptible price"),
    "cudo": GpuCloud("cudo"),
    "shadeform": GpuCloud("shadeform", reseller=True),
    "primeintellect": GpuCloud("primeintellect", reseller=True, zonal=True),
    "hyperbolic": GpuCloud("hyperbolic"),
    "fluidstack": GpuCloud("fluidstack"),
    "paperspace": GpuCloud("paperspace"),
}

_SPOT_SUFFIX: Final = "__SPOT"


def _gpu_name(gpu_info: Any) -> str:
    """The GPU name inside SkyPilot's GpuInfo (Python-literal or JSON dict), or ""."""
    if not isinstance(gpu_info, str):
        return ""
    match = re.search(r"""['"]Name['"]+\s*:\s*['"]+([^'"]+)""", gpu_info)
    return match.group(1) if match else ""


def _upstream(cloud: GpuCloud, instance_type: str) -> str:
    """The cloud behind a marketplace offer: the instance type's prefix (``lambdalabs__8xH100...``)."""
    if not cloud.reseller:
        return ""
    separator = "__" if "__" in instance_type else "_"
    return instance_type.split(separator, 1)[0]


def gpu_cloud_offers(raw: pd.DataFrame, provider: str, info: SourceInfo) -> pd.DataFrame:
    """A GPU cloud's vms.csv rows -> offers: whole-instance prices, canonical accelerators, seller flags.

    - ``Price`` is on-demand and ``SpotPrice`` spot (or preemptible), both USD per hour for the instance;
    - accelerators come from :func:`canonical_accelerator` (a seller's PCIe H100 is not an SXM H100) and
      memory from the canonical part (GpuInfo memory is unreliable in these tables);
    - marketplace rows carry ``reseller`` and a note naming the cloud behind the offer; rows of tables that
      list every type in every region carry ``listed_all_regions`` (a price, not a promise of capacity);
    - Prime Intellect's ``__SPOT`` rows are the spot price of the offer without the suffix, per site.
    """
    import numpy as np
    import pandas as pd

    cloud = GPU_CLOUDS[provider]
    frame = raw.copy()
    types = frame["InstanceType"].astype(str)
    spot_row = types.str.endswith(_SPOT_SUFFIX)
    frame["instance_type"] = types.str.removesuffix(_SPOT_SUFFIX)
    upstream_id = frame["UpstreamCloudId"].fillna("").astype(str) if "UpstreamCloudId" in frame else ""
    gpu_names = frame["GpuInfo"].map(_gpu_name) if "GpuInfo" in frame else ""
    evidence = (
        pd.Series(upstream_id, index=frame.index).astype(str)
        + " "
        + pd.Series(gpu_names, index=frame.index).astype(str)
    )
    resolved = [
        canonical_accelerator(provider, name, instance_type, text)
        for name, instance_type, text in zip(
            frame["AcceleratorName"], frame["instance_type"], evidence, strict=True
        )
    ]
    frame["accelerator"] = [r[0] for r in resolved]
    flags = pd.Series([r[1] for r in resolved], index=frame.index, dtype=object)
    notes = pd.Series([r[2] for r in resolved], index=frame.index, dtype=object)
    if cloud.reseller:
        origin = frame["instance_type"].map(lambda t: _upstream(cloud, t))
        upstream_text = pd.Series(upstream_id, index=frame.index).astype(str)
        resold: pd.Series = (
            "resold offer of "
            + origin
            + np.where(upstream_text.ne(""), " (upstream type " + upstream_text + ")", "")
        )
        notes = resold.where(notes.eq(""), resold + "; " + notes)
        flags = ("reseller;" + flags).str.rstrip(";")
    if cloud.listed_all_regions:
        flags = flags.where(flags.eq(""), flags + ";") + "listed_all_regions"
    frame["flags"] = flags
    frame["note"] = notes
    count = pd.to_numeric(frame["AcceleratorCount"], errors="coerce").astype(float)
    frame = frame.assign(
        region=frame["Region"].astype(str),
        zone=frame["AvailabilityZone"] if cloud.zonal else None,
        accelerator_count=count,
        accelerator_memory_gib=frame["accelerator"].map(
            lambda n: BY_NAME[n].memory_gib if n in BY_NAME else None
        ),
        vcpus=pd.to_numeric(frame["vCPUs"], errors="coerce"),
        memory_gib=pd.to_numeric(frame["MemoryGiB"], errors="coerce"),
    )
    on_demand = frame[~spot_row]
    extra = np.where(spot_row, "spot offer listed as " + frame["InstanceType"].astype(str), cloud.spot_note)
    spot = frame.assign(
        note=[
            f"{base}; {more}" if base and more else base or more
            for base, more in zip(frame["note"], extra, strict=True)
        ]
    )
    zone_models = frozenset({"on_demand", "spot"}) if cloud.zonal else frozenset()
    parts = [
        _long(
            on_demand,
            provider=provider,
            info=info,
            price_columns={"on_demand": "Price"},
            zone_models=zone_models,
        ),
        _long(
            spot, provider=provider, info=info, price_columns={"spot": "SpotPrice"}, zone_models=zone_models
        ),
    ]
    return pd.concat(parts, ignore_index=True)
