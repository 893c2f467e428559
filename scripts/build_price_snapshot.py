"""Build the embedded price snapshot (pricing/data/) from the SkyPilot catalog rows in scripts/price_sources/.

    python scripts/build_price_snapshot.py [--prices-dir scripts/price_sources] [--out pricing/data]

Deterministic: the same inputs give byte-identical outputs (tests/pricing/test_skypilot.py rebuilds and
compares). The source tables and their provenance notes (SOURCES.md) live beside this script, so a clone can
rebuild the snapshot.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from pricing.sellers import SELLERS
from pricing.skypilot import (
    GPU_CLOUDS,
    SourceInfo,
    aws_offers,
    azure_offers,
    gcp_offers,
    gpu_cloud_offers,
    source_label,
)
from pricing.validate import flag_counts, flag_prices

ROOT = Path(__file__).resolve().parents[1]
PRICE_SOURCES = ROOT / "scripts" / "price_sources"

#: Per provider: the source files (pricing/data/SOURCES.md), the catalog path and commit they were copied
#: from, and the earliest date the content can be from with the reason (commit dates are not recorded, so
#: every date is read from what the table contains).
SOURCES: dict[str, dict[str, Any]] = {
    "aws": {
        "files": ["skypilot_v8_aws_p_family.csv", "skypilot_v8_aws_g_inf_trn.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/aws/vms.csv",
        "commit": "e385a0d348eda9cefd9806423e7725944dc249e4",
        "as_of": "2025-06-05",
        "as_of_basis": "p5.48xlarge at $55.04/h in us-east-1 is the price after AWS's P4/P5 price cut "
        "announced "
        "2025-06-05; commit date not recorded, so prices are as of that date or later",
    },
    "gcp": {
        "files": ["skypilot_v8_gcp_accelerators.csv", "skypilot_v8_gcp_gpu_host_vms.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/gcp/vms.csv",
        "commit": "8427bbff988abdd050a9f51addd314ef31cb4e85",
        "as_of": "2025-01-01",
        "as_of_basis": "TPU v6e (GA December 2024) and B200/H200 machine types are present; commit date not "
        "recorded, so prices are as of 2025 or later",
    },
    "azure": {
        "files": ["skypilot_v6_azure_gpu.csv", "skypilot_v5_azure_gpu_rows_not_in_v6.csv"],
        "catalog": "v6",
        "path": "catalogs/v6/azure/vms.csv (+ catalogs/v5 rows missing from v6)",
        "commit": "098741e70562f65d7af1cceb81e33b284f742604",
        "as_of": "2024-01-01",
        "as_of_basis": "newest sizes are H100 v5 (2023-2024); commit date not recorded",
    },
    "oci": {
        "files": ["skypilot_v8_oci_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/oci/vms.csv",
        "commit": "0588751183820cf2dab5c8a89447e8aac9f73fd5",
        "as_of": "2025-06-12",
        "as_of_basis": "BM.GPU.MI355X.8 is present (AMD announced the MI355X on 2025-06-12; OCI was first to "
        "offer it), with B300/GB300 shapes; commit date not recorded",
    },
    "lambda": {
        "files": ["skypilot_v8_lambda_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/lambda/vms.csv",
        "commit": "0f4070387edc953d7004cff197940e1918a1d6aa",
        "as_of": "2025-01-01",
        "as_of_basis": "B200 instances (gpu_*_b200_sxm6) are present (2025 or later); the prices equal the "
        "lambda.ai page as a third party transcribed it on 2026-09-20; commit date not recorded",
    },
    "nebius": {
        "files": ["skypilot_v8_nebius_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/nebius/vms.csv",
        "commit": "0082b0435f3912ae4c566856b272455cc78f4f61",
        "as_of": "2025-01-01",
        "as_of_basis": "B200 instances (gpu-b200-sxm) are present (2025 or later); commit date not recorded",
    },
    "cudo": {
        "files": ["skypilot_v8_cudo_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/cudo/vms.csv",
        "commit": "113567a74b2f208af08e0c9236e26cc354a2bf65",
        "as_of": "2023-10-01",
        "as_of_basis": "newest GPUs listed are H100 SXM and L40S (shipping from autumn 2023); commit date "
        "not recorded, so the prices may be much newer",
    },
    "hyperbolic": {
        "files": ["skypilot_v8_hyperbolic_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/hyperbolic/vms.csv",
        "commit": "0082b0435f3912ae4c566856b272455cc78f4f61",
        "as_of": "2023-01-01",
        "as_of_basis": "only H100 SXM (HBM3) offers, shipping from 2023; the same catalog commit as Nebius "
        "(B200, 2025 or later) suggests 2025; commit date not recorded",
    },
    "fluidstack": {
        "files": ["skypilot_v6_fluidstack_gpu.csv"],
        "catalog": "v6",
        "path": "catalogs/v6/fluidstack/vms.csv",
        "commit": "002403bca05e2ab5110637448f3b1654c983d5d5",
        "as_of": "2023-01-01",
        "as_of_basis": "newest GPUs are H100 PCIe/NVLink and L40 (2023); SkyPilot stopped refreshing this "
        "table (catalog v6): older than the v8 tables",
    },
    "paperspace": {
        "files": ["skypilot_v6_paperspace_gpu.csv"],
        "catalog": "v6",
        "path": "catalogs/v6/paperspace/vms.csv",
        "commit": "e520054145d1bce6748bcf18c9a25ddd6ea9a348",
        "as_of": "2023-01-01",
        "as_of_basis": "newest GPU is the H100 (2023); SkyPilot stopped refreshing this table (catalog v6): "
        "older than the v8 tables",
    },
    "shadeform": {
        "files": ["skypilot_v8_shadeform_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/shadeform/vms.csv",
        "commit": "002363dac75913b446b2d3d564ae795678849dfd",
        "as_of": "2025-04-01",
        "as_of_basis": "RTX PRO 6000 Blackwell offers are present (sold from April 2025); commit date not "
        "recorded",
    },
    "primeintellect": {
        "files": ["skypilot_v8_primeintellect_gpu.csv"],
        "catalog": "v8",
        "path": "catalogs/v8/primeintellect/vms.csv",
        "commit": "d9a304ea01e96cd4a043159c60d9326d8de4cf0f",
        "as_of": "2025-01-01",
        "as_of_basis": "8x B200 offers are present (2025 or later); commit date not recorded",
    },
}
V5_AZURE_COMMIT = "3f5f697196c9278346b0271342031fff6b37036d"


def _info(provider: str, commit: str | None = None, catalog: str | None = None) -> SourceInfo:
    spec = SOURCES[provider]
    label = source_label(f"{catalog or spec['catalog']}/{provider}", commit or spec["commit"])
    return SourceInfo(label, spec["as_of"])


def build(prices_dir: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    read = {f: pd.read_csv(prices_dir / f) for spec in SOURCES.values() for f in spec["files"]}
    aws = aws_offers(
        pd.concat(
            [read["skypilot_v8_aws_p_family.csv"], read["skypilot_v8_aws_g_inf_trn.csv"]], ignore_index=True
        ),
        _info("aws"),
    )
    gcp = gcp_offers(
        read["skypilot_v8_gcp_accelerators.csv"], read["skypilot_v8_gcp_gpu_host_vms.csv"], _info("gcp")
    )
    azure = pd.concat(
        [
            azure_offers(read["skypilot_v6_azure_gpu.csv"], _info("azure")),
            azure_offers(
                read["skypilot_v5_azure_gpu_rows_not_in_v6.csv"], _info("azure", V5_AZURE_COMMIT, "v5")
            ),
        ],
        ignore_index=True,
    )
    clouds = [
        gpu_cloud_offers(read[SOURCES[provider]["files"][0]], provider, _info(provider))
        for provider in GPU_CLOUDS
    ]
    offers = flag_prices(pd.concat([aws, gcp, azure, *clouds], ignore_index=True))
    offers["price_usd_per_hour"] = offers["price_usd_per_hour"].round(6)
    offers["price_usd_per_accelerator_hour"] = (
        offers["price_usd_per_hour"] / offers["accelerator_count"]
    ).round(6)
    offers["snapshot"] = "embedded"
    offers = offers.sort_values(
        ["provider", "accelerator", "instance_type", "region", "pricing_model", "zone"],
        na_position="first",
        kind="stable",
    ).reset_index(drop=True)
    providers: dict[str, object] = {}
    for provider, spec in SOURCES.items():
        rows = offers[offers["provider"] == provider]
        seller = SELLERS[provider]
        providers[provider] = {
            "label": seller.label,
            "kind": seller.kind,
            "reseller": seller.reseller,
            "embedded_only": seller.embedded_only,
            "live_api": seller.live_api or None,
            "embedded_only_reason": seller.no_api_reason or None,
            "availability_note": seller.availability_note or None,
            "source": f"skypilot-org/skypilot-catalog {spec['path']} @ {spec['commit']}",
            "source_short": f"skypilot-catalog@{spec['commit'][:7]}",
            "catalog_version": spec["catalog"],
            "as_of": spec["as_of"],
            "as_of_basis": spec["as_of_basis"],
            "offers": len(rows),
            "regions": int(rows["region"].nunique()),
            "accelerators": sorted(str(a) for a in rows["accelerator"].dropna().unique()),
            "flags": flag_counts(rows),
        }
    meta: dict[str, object] = {
        "snapshot_id": "embedded",
        "description": "Offer rows built from SkyPilot's public service catalog "
        "(skypilot-org/skypilot-catalog)",
        "built_by": "scripts/build_price_snapshot.py",
        "providers": providers,
        "offers": len(offers),
    }
    return offers, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prices-dir", type=Path, default=PRICE_SOURCES)
    parser.add_argument("--out", type=Path, default=ROOT / "pricing" / "data")
    args = parser.parse_args()
    offers, meta = build(args.prices_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_text = offers.to_csv(index=False, lineterminator="\n")
    (args.out / "offers.csv").write_text(csv_text)
    meta["sha256"] = hashlib.sha256(csv_text.encode()).hexdigest()
    (args.out / "snapshot.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(args.prices_dir / "SOURCES.md", args.out / "SOURCES.md")
    print(f"wrote {len(offers)} offers to {args.out}")
    for provider, info in meta["providers"].items():  # type: ignore[attr-defined]
        print(f"  {provider}: {info['offers']} offers, {info['regions']} regions, flags {info['flags']}")


if __name__ == "__main__":
    main()
