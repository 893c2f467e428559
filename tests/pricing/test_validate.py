from __future__ import annotations

import numpy as np
import pandas as pd

from pricing.validate import flag_counts, flag_prices


def frame(rows: list[tuple[str, str, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "provider": "gcp",
                "instance_type": t,
                "region": r,
                "zone": None,
                "pricing_model": m,
                "price_usd_per_hour": p,
                "accelerator_count": 8.0,
                "flags": "",
            }
            for t, r, m, p in rows
        ]
    )


def test_zero_and_sentinel_become_missing_and_flagged() -> None:
    out = flag_prices(
        frame([("x", "a", "on_demand", 0.0), ("x", "b", "on_demand", 700.0), ("x", "c", "spot", 1.0)])
    )
    assert out.price_usd_per_hour.isna().tolist() == [True, True, False]
    assert out["flags"].tolist() == ["zero", "sentinel", ""]
    assert flag_counts(out) == {"sentinel": 1, "zero": 1}


def test_outlier_against_regional_median() -> None:
    rows = [("a3", f"r{i}", "on_demand", 80.0 + i) for i in range(5)] + [("a3", "cheap", "on_demand", 33.6)]
    out = flag_prices(frame(rows))
    flagged = out[out["flags"].str.contains("outlier")]
    assert flagged.region.tolist() == ["cheap"]
    assert flagged.price_usd_per_hour.tolist() == [33.6]  # kept, only flagged


def test_no_outlier_with_too_few_regions_or_for_spot() -> None:
    out = flag_prices(frame([("a", "r1", "on_demand", 10.0), ("a", "r2", "on_demand", 100.0)]))
    assert not out["flags"].str.contains("outlier").any()
    spot = [("a", f"r{i}", "spot", p) for i, p in enumerate([10.0, 11.0, 12.0, 90.0])]
    assert not flag_prices(frame(spot))["flags"].str.contains("outlier").any()


def test_on_demand_below_spot_is_flagged() -> None:
    out = flag_prices(frame([("h200", "r1", "on_demand", 36.6), ("h200", "r1", "spot", 37.5)]))
    assert out.set_index("pricing_model").loc["on_demand", "flags"] == "outlier"
    equal = flag_prices(frame([("p5", "r1", "on_demand", 55.04), ("p5", "r1", "spot", 55.04)]))
    assert not equal["flags"].str.contains("outlier").any()


def test_nan_prices_pass_through() -> None:
    out = flag_prices(frame([("x", "a", "on_demand", np.nan)]))
    assert out.price_usd_per_hour.isna().all() and out["flags"].tolist() == [""]
