"""Units, declared once. Every quantity in tco's model carries its unit in its name (``wall_hours``,
``price_usd_per_accelerator_hour``, ``achieved_tflop_per_s``); these are the conversions between them.
"""

from __future__ import annotations

from typing import Final

SECONDS_PER_HOUR: Final = 3600.0
HOURS_PER_DAY: Final = 24.0
#: 8760 h / 12: the month cloud providers bill by (AWS, GCP and Azure all quote 730 h).
HOURS_PER_MONTH: Final = 730.0
HOURS_PER_YEAR: Final = 8760.0
MONTHS_PER_YEAR: Final = 12.0

FLOP_PER_TFLOP: Final = 1e12
BYTES_PER_TB: Final = 1e12
BYTES_PER_GIB: Final = float(2**30)
GB_PER_TB: Final = 1000.0
W_PER_KW: Final = 1000.0

#: Bytes per element by dtype name (training and serving precisions).
DTYPE_BYTES: Final = {
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
}
