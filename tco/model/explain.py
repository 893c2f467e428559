"""Provenance text: every formula input of a projection row and its source, as one block per row.

Pure string building over the rows a command shows (never the whole scenario grid): the CLI prints these
blocks for ``--explain`` and puts them in an ``explain`` column for CSV/JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def _fmt(values: pd.Series, spec: str) -> pd.Series:
    """Format a numeric column; NaN prints as n/a."""
    numbers = values.astype("float64")
    return numbers.map(("{:" + spec + "}").format).where(numbers.notna(), "n/a")


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def _date(values: pd.Series) -> pd.Series:
    text = _text(values)
    return text.where(text == "", ", " + text)


def train_explain(rows: pd.DataFrame) -> pd.Series:
    """One block per training row: work, rate, scaling, goodput, wall time, price and cost, with sources."""
    import numpy as np
    import pandas as pd

    r = rows
    number = pd.Series(np.arange(1, len(r) + 1), index=r.index).astype(str)
    samples = r["work_formula"].astype(str).str.startswith("samples")
    rate = pd.Series(
        np.where(
            samples,
            "samples/s per accelerator (FLOP rate " + _fmt(r["achieved_tflop_per_s"], ".4g") + " TFLOP/s)",
            _fmt(r["achieved_tflop_per_s"], ".4g") + " TFLOP/s",
        ),
        index=r.index,
    ).astype(str)
    header = (
        "#"
        + number
        + " "
        + _text(r["provider"])
        + " "
        + _text(r["instance_type"])
        + " "
        + _text(r["region"])
        + " "
        + _text(r["pricing_model"])
        + ": "
        + _fmt(r["accelerator_count"], "g")
        + " x "
        + _text(r["accelerator"])
        + " in "
        + _fmt(r["instances"], "g")
        + " instance(s)"
    )
    work = (
        "  work: train_flops = "
        + _text(r["work_formula"])
        + " = "
        + _fmt(r["train_flops"], ".4g")
        + " FLOP ("
        + _text(r["workload_source"])
        + ")"
    )
    speed = (
        "  rate: n x R x scaling x goodput; R = "
        + rate
        + ", scaling "
        + _fmt(r["scaling_efficiency"], ".3f")
        + ", goodput "
        + _fmt(r["goodput"], "g")
    )
    source = (
        "    R ("
        + _text(r["framework"])
        + ", "
        + _text(r["throughput_source"])
        + "): peak "
        + _fmt(r["peak_tflops"], "g")
        + " TFLOP/s x MFU "
        + _fmt(r["mfu"], ".3f")
        + "; "
        + _text(r["throughput_detail"])
    )
    peak = "    peak: " + _text(r["peak_source"])
    scaling = (
        "    scaling: "
        + _text(r["parallelism"])
        + ", "
        + _text(r["scaling_source"])
        + "; network: "
        + _text(r["network_source"])
    )
    goodput = (
        "    goodput: "
        + _fmt(r["goodput"], "g")
        + " (range "
        + _fmt(r["goodput_low"], "g")
        + "-"
        + _fmt(r["goodput_high"], "g")
        + "): "
        + _text(r["goodput_source"])
    )
    wall = (
        "  wall: "
        + _fmt(r["uninterrupted_wall_hours"], ",.1f")
        + " h x interruption factor "
        + _fmt(r["interruption_factor"], ".3f")
        + " = "
        + _fmt(r["wall_hours"], ",.1f")
        + " h (low "
        + _fmt(r["wall_hours_low"], ",.1f")
        + ", high "
        + _fmt(r["wall_hours_high"], ",.1f")
        + ")"
    )
    price = (
        "  price: $"
        + _fmt(r["price_usd_per_accelerator_hour"], ".4g")
        + " per accelerator-hour ("
        + _text(r["billing"])
        + "; "
        + _text(r["price_source"])
        + _date(r["price_date"])
        + ")"
    )
    cost = (
        "  cost: "
        + _fmt(r["accelerator_hours"], ",.0f")
        + " accelerator-hours at an effective $"
        + _fmt(r["effective_usd_per_accelerator_hour"], ".4g")
        + " (utilisation "
        + _fmt(r["utilisation"], ".0%")
        + ") = $"
        + _fmt(r["cost_usd_per_run"], ",.0f")
        + " per run; x "
        + _fmt(r["runs_per_month"], "g")
        + " run(s)/month = $"
        + _fmt(r["cost_usd_per_month"], ",.0f")
        + "/month, $"
        + _fmt(r["cost_usd_per_year"], ",.0f")
        + "/year"
    )
    return (
        header
        + "\n"
        + work
        + "\n"
        + speed
        + "\n"
        + source
        + "\n"
        + peak
        + "\n"
        + scaling
        + "\n"
        + goodput
        + "\n"
        + wall
        + "\n"
        + price
        + "\n"
        + cost
    )


def serve_explain(rows: pd.DataFrame) -> pd.Series:
    """One block per serving row: memory, decode and prefill rates, latency, replicas, price and cost."""
    import numpy as np
    import pandas as pd

    r = rows
    number = pd.Series(np.arange(1, len(r) + 1), index=r.index).astype(str)
    header = (
        "#"
        + number
        + " "
        + _text(r["provider"])
        + " "
        + _text(r["instance_type"])
        + " "
        + _text(r["region"])
        + " "
        + _text(r["pricing_model"])
        + ": replicas of "
        + _fmt(r["accelerators_per_replica"], "g")
        + " x "
        + _text(r["accelerator"])
        + " ("
        + _text(r["workload_source"])
        + ")"
    )
    memory = (
        "  memory: weights "
        + _fmt(r["weights_gb"], ".1f")
        + " GB; KV cache "
        + _fmt(r["kv_bytes_per_token"] / 1e3, ".1f")
        + " kB/token, "
        + _fmt(r["kv_cache_gb"], ".2f")
        + " GB at batch "
        + _fmt(r["batch_size"], "g")
        + " (batch limited by: "
        + _text(r["limit"])
        + ")"
    )
    decode = (
        "  decode: memory-bound at MBU "
        + _fmt(r["mbu"], ".2f")
        + " of "
        + _fmt(r["memory_bandwidth_tb_s"], "g")
        + " TB/s ("
        + _text(r["mbu_detail"])
        + ")"
    )
    prefill = (
        "  prefill: "
        + _fmt(r["prefill_flops_efficiency"], ".2f")
        + " of "
        + _fmt(r["peak_tflops"], "g")
        + " TFLOP/s ("
        + _text(r["prefill_flops_efficiency_detail"])
        + ")"
    )
    peak = "    peak: " + _text(r["peak_source"])
    latency = (
        "  latency: TTFT "
        + _fmt(r["ttft_s"], ".3f")
        + " s, TPOT "
        + _fmt(r["tpot_s"] * 1000.0, ".1f")
        + " ms (with interleaved prefill); "
        + _fmt(r["tokens_per_s_per_replica"], ",.0f")
        + " output tokens/s = "
        + _fmt(r["requests_per_s_per_replica"], ".3g")
        + " req/s per replica"
    )
    replicas = (
        "  replicas: ceil("
        + _fmt(r["requests_per_s"], "g")
        + " req/s x (1 + headroom "
        + _fmt(r["headroom"], "g")
        + ") / "
        + _fmt(r["requests_per_s_per_replica"], ".3g")
        + ") = "
        + _fmt(r["replicas"], "g")
        + " in "
        + _fmt(r["instances"], "g")
        + " instance(s); utilisation "
        + _fmt(r["utilisation"], ".0%")
    )
    price = (
        "  price: $"
        + _fmt(r["price_usd_per_accelerator_hour"], ".4g")
        + " per accelerator-hour ("
        + _text(r["billing"])
        + "; "
        + _text(r["price_source"])
        + _date(r["price_date"])
        + ")"
    )
    cost = (
        "  cost: $"
        + _fmt(r["cost_usd_per_month"], ",.0f")
        + "/month at "
        + _fmt(r["hours_per_day"], "g")
        + " h/day -> $"
        + _fmt(r["cost_usd_per_1m_output_tokens"], ".4g")
        + " per 1M output tokens, $"
        + _fmt(r["cost_usd_per_1m_tokens"], ".4g")
        + " per 1M tokens (in+out), $"
        + _fmt(r["cost_usd_per_1k_requests"], ".4g")
        + " per 1k requests"
    )
    return (
        header
        + "\n"
        + memory
        + "\n"
        + decode
        + "\n"
        + prefill
        + "\n"
        + peak
        + "\n"
        + latency
        + "\n"
        + replicas
        + "\n"
        + price
        + "\n"
        + cost
    )
