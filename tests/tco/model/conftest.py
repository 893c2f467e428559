"""Synthetic inputs for the model tests: small frames whose numbers are easy to check by hand."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from tco.model.offers import override_options


def hardware(
    accelerator: str = "X1",
    *,
    peak_tflops: float = 100.0,
    memory_bytes: float = 80.0 * 2**30,
    bandwidth_tb_s: float = 2.0,
    interconnect_gb_s: float = 600.0,
    inter_gb_s: float = 25.0,
    dtype: str = "bf16",
) -> pd.DataFrame:
    """A one-accelerator hardware frame (intra-node busbw = interconnect / 2 = 300 GB/s by default)."""
    return pd.DataFrame(
        [
            {
                "accelerator": accelerator,
                "dtype": dtype,
                "peak_tflops": peak_tflops,
                "memory_bytes": memory_bytes,
                "memory_bandwidth_tb_s": bandwidth_tb_s,
                "interconnect_gb_s": interconnect_gb_s,
                "inter_node_gb_s_per_accelerator": inter_gb_s,
                "inter_node_gb_s_per_instance": math.nan,
                "tdp_w": 700.0,
                "peak_source": "test peak",
                "network_source": "test network",
            }
        ]
    )


def mfu_defaults(
    accelerator: str = "X1", mfu: float = 0.5, low: float = 0.4, high: float = 0.6
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "accelerator": accelerator,
                "dtype": "bf16",
                "mfu": mfu,
                "mfu_low": low,
                "mfu_high": high,
                "source": "test default",
            },
            {
                "accelerator": "*",
                "dtype": "*",
                "mfu": 0.3,
                "mfu_low": 0.2,
                "mfu_high": 0.4,
                "source": "generic",
            },
        ]
    )


def token_workload(**overrides: Any) -> pd.DataFrame:
    row: dict[str, Any] = {
        "workload": "w",
        "kind": "tokens",
        "params": 1e9,
        "tokens": 1e11,
        "dtype": "bf16",
        "workload_source": "test",
    }
    row.update(overrides)
    return pd.DataFrame([row])


def options(accelerator: str = "X1", price: float = 2.0, per_instance: float = 8.0) -> pd.DataFrame:
    return override_options([accelerator], price, per_instance)


@pytest.fixture
def x1_hardware() -> pd.DataFrame:
    return hardware()
