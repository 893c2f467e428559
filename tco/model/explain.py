"""Provenance text: every formula input of a projection row and its source, as one block per row.

Pure string building over the rows a command shows (never the whole scenario grid): the CLI prints these
blocks for ``--explain`` and puts them in an ``explain`` column for CSV/JSON.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd


_FIELDS = string.Formatter()


def _fmt(values: pd.Series, spec: str) -> pd.Series:
    """Format a numeric column; NaN prints as n/a."""
    numbers = values.astype("float64")
    return numbers.map(("{:" + spec + "}").format).where(numbers.notna(), "n/a")


def _text(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str)


def _render(rows: pd.DataFrame, template: str) -> pd.Series:
    """``template`` filled in per row, vectorised: ``{column:spec}`` formats a number (NaN -> n/a),
    ``{column}`` inserts text, ``{column:date}`` inserts ``", <date>"`` when there is one.
    """
    import pandas as pd

    out = pd.Series("", index=rows.index, dtype=object)
    for literal, field, spec, _ in _FIELDS.parse(template):
        out = out + literal
        if field is None:
            continue
        if spec == "date":
            text = _text(rows[field])
            out = out + text.where(text == "", ", " + text)
        elif spec:
            out = out + _fmt(rows[field], spec)
        else:
            out = out + _text(rows[field])
    return out


def _block(rows: pd.DataFrame, lines: tuple[str, ...]) -> pd.Series:
    rendered = [_render(rows, line) for line in lines]
    joined: pd.Series = rendered[0]
    for line in rendered[1:]:
        joined = joined + "\n" + line
    return joined


_PRICE = (
    "  price: ${price_usd_per_accelerator_hour:.4g} per accelerator-hour ({billing}; {price_source}"
    "{price_date:date})"
)

TRAIN_LINES: Final = (
    "#{_number} {provider} {instance_type} {region} {pricing_model}: "
    "{accelerator_count:g} x {accelerator} in {instances:g} instance(s)",
    "  work: train_flops = {work_formula} = {train_flops:.4g} FLOP ({workload_source})",
    "  rate: n x R x scaling x goodput; R = {_rate}, scaling {scaling_efficiency:.3f}, goodput {goodput:g}",
    "    R ({framework}, {throughput_source}): peak {peak_tflops:g} TFLOP/s x MFU {mfu:.3f}; "
    "{throughput_detail}",
    "    peak: {peak_source}",
    "    scaling: {parallelism}, {scaling_source}; network: {network_source}",
    "    layout: step {step_s:.4g} s = compute {compute_s:.4g} s (recompute: {_recompute}) + pipeline bubble "
    "{bubble_s:.4g} s + exposed communication {_exposed_s:.4g} s (tensor parallel {_tensor_s:.4g} s of it); "
    "{_memory_gib:.1f} GiB per accelerator; batch {global_batch_tokens_used:,.0f} tokens ({batch_source})",
    "    goodput: {goodput:g} (range {goodput_low:g}-{goodput_high:g}): {goodput_source}",
    "  wall: {uninterrupted_wall_hours:,.1f} h x interruption factor {interruption_factor:.3f} = "
    "{wall_hours:,.1f} h (low {wall_hours_low:,.1f}, high {wall_hours_high:,.1f}){_range}",
    _PRICE,
    "  cost: {accelerator_hours:,.0f} accelerator-hours at an effective "
    "${effective_usd_per_accelerator_hour:.4g} (utilisation {utilisation:.0%}) = "
    "${cost_usd_per_run:,.0f} per run; x {runs_per_month:g} run(s)/month = "
    "${cost_usd_per_month:,.0f}/month, ${cost_usd_per_year:,.0f}/year",
)

SERVE_LINES: Final = (
    "#{_number} {provider} {instance_type} {region} {pricing_model}: "
    "{layout} replicas of {accelerators_per_replica:g} x {accelerator} ({workload_source})",
    "  engine: {engine_label} ({_chunked}; at most {engine_max_running_batch:g} sequences and "
    "{max_num_tokens:g} tokens per step; KV fraction {kv_cache_memory_fraction:g}, {kv_block_tokens:g}-token "
    "blocks, {kv_reserved_output_fraction:.0%} of the output reserved; step overhead {_overhead_ms:.2f} ms; "
    "efficiency x{efficiency_factor:g} on {accelerator}) - tco/model/inference/engines.py",
    "  memory per accelerator: weights {_weights_gb_acc:.1f} GB, KV {_kv_kb_acc:.1f} kB/token "
    "({kv_tokens_per_sequence:g} tokens held per sequence); KV cache {kv_capacity_gb:.1f} GB per replica "
    "-> at most {max_running_batch:g} running sequences",
    "  decode: memory-bound at MBU {mbu:.2f} at TP1 -> {mbu_at_tp:.2f} at TP{accelerators_per_replica:g} of "
    "{memory_bandwidth_tb_s:g} TB/s ({mbu_detail})",
    "  compute: {prefill_flops_efficiency:.2f} of {peak_tflops:g} TFLOP/s "
    "({prefill_flops_efficiency_detail})",
    "    peak: {peak_source}",
    "{_step_line}",
    "  latency: TTFT p50 {ttft_p50_s:.3f} s / p99 {ttft_s:.3f} s (queueing p99 {queue_wait_p99_s:.3f} s, "
    "prefill {prefill_s:.3f} s); TPOT p50 {_tpot50_ms:.1f} ms / p99 {_tpot_ms:.1f} ms",
    "{_capacity_line}",
    "{_replicas_line}",
    _PRICE,
    "  cost: ${cost_usd_per_month:,.0f}/month at {hours_per_day:g} h/day -> "
    "${cost_usd_per_1m_output_tokens:.4g} per 1M output tokens, ${cost_usd_per_1m_tokens:.4g} per 1M tokens "
    "(in+out), ${cost_usd_per_1k_requests:.4g} per 1k requests; split: ${split_usd_per_1m_input_tokens:.4g} "
    "per 1M input + ${split_usd_per_1m_output_tokens:.4g} per 1M output (prefill {input_cost_share:.0%} of "
    "replica time)",
)


#: The lines that differ between the layouts: (aggregated, disaggregated) templates.
SERVE_LAYOUT_LINES: Final = {
    "_step_line": (
        "  decode-only step at the offered load ({running_batch:.1f} sequences decoding): weights "
        "{_w_ms:.2f} ms, KV {_kv_ms:.2f} ms, compute {_c_ms:.2f} ms, communication {_comm_ms:.2f} ms; with "
        "the prompts arriving (whole or chunked, Poisson) the mean step is {_step_ms:.2f} ms",
        "  decode replicas step {_step_ms:.2f} ms at their share of the load ({running_batch:.1f} sequences "
        "decoding, no prefill in their steps); prefill replicas run whole prompts ({prefill_s:.3f} s each) "
        "and hand the KV cache over",
    ),
    "_capacity_line": (
        "  capacity within the targets: {requests_per_s_per_replica:.3g} req/s = "
        "{tokens_per_s_per_replica:,.0f} output tokens/s per replica (limited by {limit}); offline "
        "{offline_tokens_per_s_per_replica:,.0f} tokens/s",
        "  capacity within the targets: {prefill_requests_per_s_per_replica:.3g} req/s per prefill replica "
        "(p99 TTFT), {decode_requests_per_s_per_replica:.3g} req/s per decode replica (TPOT); "
        "{requests_per_s_per_replica:.3g} req/s = {tokens_per_s_per_replica:,.0f} output tokens/s per "
        "replica of a balanced pair",
    ),
    "_replicas_line": (
        "  replicas: ceil({requests_per_s:g} req/s x (1 + headroom {headroom:g}) / "
        "{requests_per_s_per_replica:.3g}) = {replicas:g} in {instances:g} instance(s); "
        "utilisation {utilisation:.0%}",
        "  replicas: prefill ceil({requests_per_s:g} req/s x (1 + headroom {headroom:g}) / "
        "{prefill_requests_per_s_per_replica:.3g}) = {prefill_replicas:g} + decode ceil({requests_per_s:g} x "
        "(1 + {headroom:g}) / {decode_requests_per_s_per_replica:.3g}) = {decode_replicas:g}, "
        "{replicas:g} in {instances:g} instance(s)",
    ),
}


def _numbered(rows: pd.DataFrame) -> pd.DataFrame:
    import numpy as np

    return rows.assign(_number=np.arange(1, len(rows) + 1).astype(str))


def train_explain(rows: pd.DataFrame) -> pd.Series:
    """One block per training row: work, rate, scaling and the layout's step (compute, recompute, bubble,
    exposed communication, memory per accelerator, batch), goodput, wall time, price, cost, with sources."""
    import numpy as np
    import pandas as pd

    samples = rows["work_formula"].astype(str).str.startswith("samples")
    tflops = _fmt(rows["achieved_tflop_per_s"], ".4g")
    rate = np.where(
        samples, "samples/s per accelerator (FLOP rate " + tflops + " TFLOP/s)", tflops + " TFLOP/s"
    )

    def column(name: str) -> pd.Series:
        return rows[name] if name in rows.columns else pd.Series(np.nan, index=rows.index)

    notes = _text(column("range_note"))
    prepared = _numbered(rows).assign(
        _rate=rate,
        _recompute=column("recompute").fillna("").astype(str).replace("", "n/a"),
        # Communication left after overlap: the step less compute and bubble (tensor parallelism included).
        _exposed_s=column("exposed_comm_s"),
        _tensor_s=column("tensor_comm_s"),
        _memory_gib=column("memory_bytes_per_accelerator").astype("float64") / 2**30,
        # a spot plan whose high case crosses the stretch limit has no upper bound: say why
        _range=np.where(notes != "", "; " + notes, ""),
    )
    return _block(prepared, TRAIN_LINES)


def serve_explain(rows: pd.DataFrame) -> pd.Series:
    """One block per serving row: memory, decode and compute rates, the step's breakdown (weights, KV,
    compute, communication), queueing and latency, capacity, replicas, price and cost."""
    import numpy as np

    t = rows["accelerators_per_replica"]
    prepared = _numbered(rows).assign(
        _weights_gb_acc=rows["weights_gb"] / t,
        _kv_kb_acc=rows["kv_bytes_per_token"] / t / 1e3,
        _tpot_ms=rows["tpot_s"] * 1000.0,
        _overhead_ms=rows["step_overhead_s"] * 1000.0,
        _chunked=np.where(
            rows["chunked_prefill"] > 0.5,
            "chunked prefill",
            "whole prompts per step, no chunked prefill",
        ),
        _tpot50_ms=rows["tpot_p50_s"] * 1000.0,
        _w_ms=rows["step_weights_s"] * 1000.0,
        _kv_ms=rows["step_kv_s"] * 1000.0,
        _c_ms=rows["step_compute_s"] * 1000.0,
        _comm_ms=rows["step_comm_s"] * 1000.0,
        _step_ms=rows["step_s"] * 1000.0,
    )
    split = prepared["layout"].eq("disaggregated").to_numpy()
    for name, (aggregated, disaggregated) in SERVE_LAYOUT_LINES.items():
        either = _render(prepared, aggregated)
        if split.any():
            either = either.where(~split, _render(prepared, disaggregated))
        prepared[name] = either
    return _block(prepared, SERVE_LINES)
