"""TCO line items beyond compute, as teams budget them: storage, egress, MLOps tooling, engineering time.

Each item is optional (absent unless its quantity is given), named, and summed separately from compute:
``other_usd_per_month`` next to ``cost_usd_per_month``, and ``total_usd_per_month`` = both. Unit prices
default to public list prices with their source; a quantity never defaults (an unknown stays unknown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from tco.errors import TcoError
from tco.model.assumptions import Assumption, check_positive
from tco.model.units import BYTES_PER_TB, GB_PER_TB

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STORAGE_USD_PER_TB_MONTH: Final = Assumption(
    23.0,
    21.0,
    23.0,
    "USD per TB-month",
    "AWS S3 Standard us-east-1 list price $0.023/GB-month for the first 50 TB (aws.amazon.com/s3/pricing; "
    "$0.021 above 500 TB)",
)
EGRESS_USD_PER_GB: Final = Assumption(
    0.09,
    0.05,
    0.12,
    "USD per GB",
    "AWS data transfer out to the internet $0.09/GB for the first 10 TB/month (aws.amazon.com/ec2/pricing/"
    "on-demand); GCP and Azure premium tiers list $0.08-0.12",
)


@dataclass(frozen=True, slots=True)
class LineItems:
    """Quantities for the non-compute line items (None = not budgeted) and their unit prices."""

    storage_tb: float | None = None
    checkpoints_kept: float | None = None
    egress_tb_per_month: float | None = None
    mlops_usd_per_month: float | None = None
    engineering_hours_per_month: float | None = None
    engineering_usd_per_hour: float | None = None
    storage_usd_per_tb_month: Assumption = STORAGE_USD_PER_TB_MONTH
    egress_usd_per_gb: Assumption = EGRESS_USD_PER_GB

    def __post_init__(self) -> None:
        for name in (
            "storage_tb",
            "checkpoints_kept",
            "egress_tb_per_month",
            "mlops_usd_per_month",
            "engineering_hours_per_month",
            "engineering_usd_per_hour",
        ):
            value = getattr(self, name)
            if value is not None and value != 0:
                check_positive(name.replace("_", " "), value)
        if (self.engineering_hours_per_month is None) != (self.engineering_usd_per_hour is None):
            raise TcoError(
                "engineering time needs both hours per month and a rate",
                hint="pass --engineering-hours-per-month and --engineering-usd-per-hour",
            )

    @property
    def any(self) -> bool:
        return any(
            v is not None
            for v in (
                self.storage_tb,
                self.checkpoints_kept,
                self.egress_tb_per_month,
                self.mlops_usd_per_month,
                self.engineering_hours_per_month,
            )
        )


def line_items(
    params: np.ndarray | pd.Series, items: LineItems, *, state_bytes_per_param: float
) -> dict[str, np.ndarray]:
    """Monthly USD per item for arrays of scenarios (``params`` sizes the kept checkpoints).

    Items not budgeted are NaN (not zero); ``other_usd_per_month`` sums the budgeted ones (NaN if none).
    """
    import numpy as np

    shape = np.shape(params)
    nan = np.full(shape, np.nan)
    stored_tb = np.full(shape, items.storage_tb if items.storage_tb is not None else 0.0)
    if items.checkpoints_kept is not None:
        stored_tb = stored_tb + items.checkpoints_kept * np.asarray(params, dtype="float64") * (
            state_bytes_per_param / BYTES_PER_TB
        )
    has_storage = items.storage_tb is not None or items.checkpoints_kept is not None
    storage = stored_tb * items.storage_usd_per_tb_month.value if has_storage else nan
    egress = (
        np.full(shape, items.egress_tb_per_month * GB_PER_TB * items.egress_usd_per_gb.value)
        if items.egress_tb_per_month is not None
        else nan
    )
    mlops = np.full(shape, items.mlops_usd_per_month) if items.mlops_usd_per_month is not None else nan
    engineering = (
        np.full(shape, items.engineering_hours_per_month * items.engineering_usd_per_hour)
        if items.engineering_hours_per_month is not None and items.engineering_usd_per_hour is not None
        else nan
    )
    stacked = np.stack([storage, egress, mlops, engineering])
    other = np.where(np.isnan(stacked).all(axis=0), np.nan, np.nansum(stacked, axis=0)) if items.any else nan
    return {
        "storage_usd_per_month": storage,
        "egress_usd_per_month": egress,
        "mlops_usd_per_month": mlops,
        "engineering_usd_per_month": engineering,
        "other_usd_per_month": other,
    }
