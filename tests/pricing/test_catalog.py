from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pricing.accelerators import CANONICAL_NAMES, resolve, resolve_many
from pricing.catalog import (
    OfferFilter,
    cheapest_region,
    check_provider,
    filter_offers,
    load_catalog,
    load_embedded,
    pivot_offers,
    sort_pivot,
)
from pricing.errors import PricingError
from pricing.schema import PROVIDERS
from pricing.store import PriceStore


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h100", ("H100-80GB",)),
        ("H100-80GB", ("H100-80GB",)),
        ("a100-80", ("A100-80GB",)),
        ("a100", ("A100-40GB", "A100-40GB-PCIe", "A100-80GB", "A100-80GB-PCIe")),
        ("a100-pcie-80gb", ("A100-80GB-PCIe",)),
        ("h100-pcie", ("H100-80GB-PCIe",)),
        ("h100-nvl", ("H100-NVL",)),
        ("l40", ("L40",)),
        ("l40s", ("L40S",)),
        ("gh200", ("GH200",)),
        ("mi3", ("MI300X", "MI355X")),
        ("mi355x", ("MI355X",)),
        ("A10", ("A10",)),
        ("l4", ("L4",)),
        ("tpu-v5", ("TPU-v5e", "TPU-v5p")),
        ("v5litepod", ("TPU-v5e",)),
        ("trn2", ("Trainium2",)),
    ],
)
def test_resolve_aliases(text: str, expected: tuple[str, ...]) -> None:
    assert resolve(text) == expected


def test_resolve_unknown_suggests() -> None:
    with pytest.raises(PricingError, match=r"unknown accelerator 'h1000'.*did you mean"):
        resolve("h1000")
    assert resolve_many(["h100,h200", "h100"]) == ("H100-80GB", "H200-141GB")


def test_every_embedded_accelerator_is_canonical() -> None:
    names = set(load_embedded().accelerator.dropna())
    assert names <= set(CANONICAL_NAMES)


def test_unknown_provider_suggests() -> None:
    with pytest.raises(PricingError, match="did you mean aws"):
        check_provider("awss")


def test_filter_and_pivot_h100() -> None:
    offers = load_embedded()
    rows = filter_offers(offers, OfferFilter(accelerators=("H100-80GB",)))
    # hyperscalers and GPU clouds side by side (FluidStack's 8x NVLink H100 is the SXM part)
    assert set(rows.provider) == set(PROVIDERS)
    assert not rows["flags"].fillna("").str.contains("outlier|sentinel").any()
    pivot = sort_pivot(pivot_offers(rows), None)
    prices = pivot.on_demand_usd_per_accelerator_hour.dropna()
    assert prices.is_monotonic_increasing and (prices > 0).all()
    p5 = pivot[(pivot.instance_type == "p5.48xlarge") & (pivot.region == "us-east-1")].iloc[0]
    assert p5.on_demand_usd_per_hour == pytest.approx(55.04)
    assert (
        p5.spot_usd_per_hour
        == rows[
            (rows.instance_type == "p5.48xlarge")
            & (rows.region == "us-east-1")
            & (rows.pricing_model == "spot")
        ].price_usd_per_hour.min()
    )
    assert p5.spot_zones > 1


def test_cheapest_region_keeps_one_row_per_instance_type() -> None:
    rows = filter_offers(load_embedded(), OfferFilter(accelerators=("H100-80GB",), providers=("aws",)))
    cheapest = cheapest_region(pivot_offers(rows), "on_demand")
    assert cheapest.instance_type.is_unique
    full = pivot_offers(rows)
    for rec in cheapest.itertuples():
        same = full[full.instance_type == rec.instance_type].on_demand_usd_per_accelerator_hour
        assert rec.on_demand_usd_per_accelerator_hour == same.min()


def test_filters_min_count_region_and_flagged() -> None:
    offers = load_embedded()
    big = filter_offers(offers, OfferFilter(min_count=8))
    assert (big.accelerator_count >= 8).all()
    with pytest.raises(PricingError, match=r"did you mean .*us-east-1"):
        filter_offers(offers, OfferFilter(regions=("us-east-l",)))
    flagged = filter_offers(offers, OfferFilter(include_flagged=True))
    assert flagged["flags"].fillna("").str.contains("outlier").any()


def test_pulled_snapshot_replaces_embedded_for_its_provider(tco_home) -> None:  # type: ignore[no-untyped-def]
    store = PriceStore(tco_home / "prices.sqlite")
    base = load_embedded()
    aws = base[base.provider == "aws"].head(3).copy()
    aws["price_usd_per_hour"] = [1.0, 2.0, 3.0]
    store.write_snapshot("aws", "test", "2026-11-25T00:00:00Z", aws)
    catalog = load_catalog(store)
    got = catalog.offers[catalog.offers.provider == "aws"]
    assert sorted(got.price_usd_per_hour) == [1.0, 2.0, 3.0]
    assert catalog.snapshots["aws"].kind == "pulled" and catalog.snapshots["gcp"].kind == "embedded"
    assert (catalog.offers.provider == "gcp").sum() == (base.provider == "gcp").sum()
    assert isinstance(catalog.offers, pd.DataFrame)


def test_pull_lookup_tables_name_canonical_accelerators_with_peaks() -> None:
    import csv
    from importlib import resources

    from calibrate.peaks import load_peaks

    peaks = load_peaks()
    for name in ("aws_accelerated_instances.csv", "azure_gpu_sizes.csv", "gcp_machine_shapes.csv"):
        text = resources.files("pricing").joinpath(f"data/{name}").read_text()
        for row in csv.DictReader(text.splitlines()):
            assert row["accelerator"] in CANONICAL_NAMES and row["accelerator"] in peaks, (name, row)


def test_aliases_name_one_accelerator_each() -> None:
    from pricing.accelerators import ACCELERATORS, _key

    seen: dict[str, str] = {}
    for acc in ACCELERATORS:
        for text in (acc.name, *acc.aliases):
            assert seen.setdefault(_key(text), acc.name) == acc.name, (text, seen[_key(text)], acc.name)


@pytest.mark.parametrize("count", [float("nan"), float("inf"), -1.0, True, "8"])
def test_offer_filter_refuses_a_count_that_is_not_one(count: Any) -> None:
    from pricing.catalog import OfferFilter

    with pytest.raises(PricingError, match="minimum accelerator count must be a finite number"):
        OfferFilter(min_count=count)
