"""tco/data/mfu_defaults.csv: every accelerator people price for training has its own row (sourced, or derived
from a named part with the reason), and a row derived from another part's default carries that default's
numbers."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tco.presets import load_mfu_defaults

#: Accelerators the embedded catalog sells for training (issue #14): each needs an explicit bf16 row.
PRICED_FOR_TRAINING = (
    "A100-40GB", "A100-40GB-PCIe", "A100-80GB", "A100-80GB-PCIe", "A800-80GB-PCIe", "H100-80GB",
    "H100-80GB-PCIe", "H100-NVL", "H200-141GB", "GH200", "B200", "B300", "GB200", "L40", "MI355X",
)  # fmt: skip


def table() -> pd.DataFrame:
    return load_mfu_defaults()


@pytest.mark.parametrize("accelerator", PRICED_FOR_TRAINING)
def test_priced_accelerators_have_an_explicit_row(accelerator: str) -> None:
    rows = table()
    own = rows[rows["accelerator"].eq(accelerator) & rows["dtype"].isin(["bf16", "fp16"])]
    assert set(own["dtype"]) == {"bf16", "fp16"}, accelerator
    for rec in own.to_dict("records"):
        assert rec["mfu_low"] <= rec["mfu"] <= rec["mfu_high"]
        assert len(str(rec["source"])) > 40  # says where the number comes from, or from which part and why


def test_derived_rows_carry_their_parts_numbers() -> None:
    """A row whose source begins "<part> default" or "<part> <dtype> default" has that row's numbers."""
    rows = table()
    index = {(r["accelerator"], r["dtype"]): r for r in rows.to_dict("records")}
    checked = 0
    for rec in rows.to_dict("records"):
        match = re.match(r"([A-Z][\w-]+?)(?: (bf16|fp16|fp8))? default", str(rec["source"]))
        if match is None or (match.group(1) == rec["accelerator"] and match.group(2) is None):
            continue
        part = match.group(1)
        dtype = match.group(2) or ("fp8" if rec["dtype"] == "fp8" else "bf16")
        base = index[(part, dtype)]
        got = (rec["mfu"], rec["mfu_low"], rec["mfu_high"])
        assert got == (base["mfu"], base["mfu_low"], base["mfu_high"]), (rec["accelerator"], rec["dtype"])
        checked += 1
    assert checked >= 30


def test_the_b200_bf16_derivation() -> None:
    rows = table().set_index(["accelerator", "dtype"])
    ratio = rows.loc[("B200", "fp8"), "mfu"] / rows.loc[("H100-80GB", "fp8"), "mfu"]
    assert rows.loc[("B200", "bf16"), "mfu"] == pytest.approx(
        ratio * rows.loc[("H100-80GB", "bf16"), "mfu"], abs=0.005
    )
