"""Build the embedded price snapshot (pricing/data/) from the SkyPilot catalog rows in ../shared/data/prices.

    python scripts/build_price_snapshot.py [--prices-dir ../shared/data/prices] [--out pricing/data]

Deterministic: the same inputs give byte-identical outputs (a test rebuilds and compares).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd

from pricing.skypilot import SourceInfo, aws_offers, azure_offers, gcp_offers, source_label
from pricing.validate import flag_counts, flag_prices

#: Commit of each source file (SOURCES.md) and the earliest date its content can be from, with the reason.
SOURCES = {
    "aws": {
        "files": ["skypilot_v8_aws_p_family.csv", "skypilot_v8_aws_g_inf_trn.csv"],
        "path": "catalogs/v8/aws/vms.csv",
        "commit": "e385a0d348eda9cefd9806423e7725944dc249e4",
        "as_of": "2025-06-05",
        "as_of_basis": "p5.48xlarge at $55.04/h in us-east-1 is the price after AWS's P4/P5 price cut "
        "announced "
        "2025-06-05; commit date not recorded, so prices are as of that date or later",
    },
    "gcp": {
        "files": ["skypilot_v8_gcp_accelerators.csv", "skypilot_v8_gcp_gpu_host_vms.csv"],
        "path": "catalogs/v8/gcp/vms.csv",
        "commit": "8427bbff988abdd050a9f51addd314ef31cb4e85",
        "as_of": "2025-01-01",
        "as_of_basis": "TPU v6e (GA December 2024) and B200/H200 machine types are present; commit date not "
        "recorded, so prices are as of 2025 or later",
    },
    "azure": {
        "files": ["skypilot_v6_azure_gpu.csv", "skypilot_v5_azure_gpu_rows_not_in_v6.csv"],
        "path": "catalogs/v6/azure/vms.csv (+ catalogs/v5 rows missing from v6)",
        "commit": "098741e70562f65d7af1cceb81e33b284f742604",
        "as_of": "2024-01-01",
        "as_of_basis": "newest sizes are H100 v5 (2023-2024); commit date not recorded",
    },
}
V5_AZURE_COMMIT = "3f5f697196c9278346b0271342031fff6b37036d"


def build(prices_dir: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    read = {f: pd.read_csv(prices_dir / f) for spec in SOURCES.values() for f in spec["files"]}  # type: ignore[attr-defined]
    aws_info = SourceInfo(source_label("v8/aws", SOURCES["aws"]["commit"]), SOURCES["aws"]["as_of"])  # type: ignore[arg-type]
    gcp_info = SourceInfo(source_label("v8/gcp", SOURCES["gcp"]["commit"]), SOURCES["gcp"]["as_of"])  # type: ignore[arg-type]
    az6 = SourceInfo(source_label("v6/azure", SOURCES["azure"]["commit"]), SOURCES["azure"]["as_of"])  # type: ignore[arg-type]
    az5 = SourceInfo(source_label("v5/azure", V5_AZURE_COMMIT), SOURCES["azure"]["as_of"])  # type: ignore[arg-type]
    aws = aws_offers(
        pd.concat(
            [read["skypilot_v8_aws_p_family.csv"], read["skypilot_v8_aws_g_inf_trn.csv"]], ignore_index=True
        ),
        aws_info,
    )
    gcp = gcp_offers(
        read["skypilot_v8_gcp_accelerators.csv"], read["skypilot_v8_gcp_gpu_host_vms.csv"], gcp_info
    )
    azure = pd.concat(
        [
            azure_offers(read["skypilot_v6_azure_gpu.csv"], az6),
            azure_offers(read["skypilot_v5_azure_gpu_rows_not_in_v6.csv"], az5),
        ],
        ignore_index=True,
    )
    offers = flag_prices(pd.concat([aws, gcp, azure], ignore_index=True))
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
    meta: dict[str, object] = {
        "snapshot_id": "embedded",
        "description": "Offer rows built from SkyPilot's public service catalog "
        "(skypilot-org/skypilot-catalog)",
        "built_by": "scripts/build_price_snapshot.py",
        "providers": {
            provider: {
                "source": f"skypilot-org/skypilot-catalog {spec['path']} @ {spec['commit']}",
                "source_short": f"skypilot-catalog@{spec['commit'][:7]}",
                "as_of": spec["as_of"],
                "as_of_basis": spec["as_of_basis"],
                "offers": int((offers["provider"] == provider).sum()),
                "regions": int(offers.loc[offers["provider"] == provider, "region"].nunique()),
                "flags": flag_counts(offers[offers["provider"] == provider]),
            }
            for provider, spec in SOURCES.items()
        },
        "offers": len(offers),
    }
    return offers, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--prices-dir", type=Path, default=root.parent / "shared" / "data" / "prices")
    parser.add_argument("--out", type=Path, default=root / "pricing" / "data")
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
