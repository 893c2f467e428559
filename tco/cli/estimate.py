"""`tco estimate ...`: training and serving cost across clouds, counts and purchase options.

Commands parse their options into a request, call :mod:`tco.api` and render the result. Common inputs have
options; every other named default is overridable with ``--set NAME=VALUE`` (``tco estimate assumptions``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import typer

from pricing.schema import PROVIDERS
from tco.cli import options
from tco.cli.lazy import group
from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, output_target, sources

if TYPE_CHECKING:
    from tco.api.offers import OfferQuery
    from tco.cli.state import Target

app = group(
    "estimate",
    "Project training and serving cost across scales and purchase options.",
    {
        "train": "tco.cli.estimate:train_app",
        "serve": "tco.cli.estimate:serve_app",
        "models": "tco.cli.estimate:models_app",
        "assumptions": "tco.cli.estimate:assumptions_app",
    },
)
train_app = typer.Typer(add_completion=False)
serve_app = typer.Typer(add_completion=False)
models_app = typer.Typer(add_completion=False)
assumptions_app = typer.Typer(add_completion=False)

DEFAULT_COUNTS: Final = "8,64,256"
DEFAULT_REPLICA_SIZES: Final = "1,2,4,8"

# --- options shared by train and serve ---------------------------------------------------------------------
MODEL = typer.Option(None, "--model", "-m", help="A preset (`tco estimate models`).", callback=options.model)
PARAMS = typer.Option(None, "--params", help="Parameters N (7e9, 6.7B).", callback=options.quantity)
ACTIVE = typer.Option(
    None, "--active-params", help="MoE: parameters active per token.", callback=options.quantity
)
LAYERS = typer.Option(None, "--layers", min=1, help="Layers L (adds the attention term).")
HIDDEN = typer.Option(None, "--hidden", min=1, help="Hidden size h.")
HEADS = typer.Option(None, "--heads", min=1, help="Attention heads.")
HEAD_DIM = typer.Option(None, "--head-dim", min=1, help="Width per attention head (default: hidden / heads).")
EXPERTS = typer.Option(None, "--experts", min=1, help="MoE: routed experts per layer.")
TOP_K = typer.Option(None, "--experts-per-token", min=1, help="MoE: experts each token is routed to.")
ACCELERATOR = typer.Option(
    None, "--accelerator", "-a", help="Name or alias (default: all).", callback=options.accelerators
)
FRAMEWORK = typer.Option(
    "all", "--framework", help="torch, jax, tensorflow or all.", callback=options.framework
)
PROVIDER = typer.Option(
    None, "--provider", "-p", help=f"{', '.join(PROVIDERS)} (default: all).", callback=options.providers
)
REGION = typer.Option(None, "--region", "-r", help="Only these regions.")
PRICING = typer.Option(
    None, "--pricing-model", help="on_demand, spot, reserved_1y, ..., owned, all.",
    callback=options.pricing_models,
)  # fmt: skip
ALL_REGIONS = typer.Option(False, "--all-regions", help="Every region, not the cheapest per instance.")
PRICE = typer.Option(
    None,
    "--price-usd-per-hour",
    "--price-usd-per-accelerator-hour",
    help="Price per ACCELERATOR-hour instead of the catalog.",
    show_default=False,
    callback=options.positive,
)
SET = typer.Option(
    None, "--set", help="Override any named default, NAME=VALUE (list: `tco estimate assumptions`).",
    show_default=False, callback=options.estimate_settings,
)  # fmt: skip
INFEASIBLE = typer.Option(False, "--include-infeasible", help="Also options that cannot run.")
BUDGET = typer.Option(
    None, "--budget-usd", help="A budget ($, e.g. 250k): options over it are marked; training rows say what "
    "it buys (tokens, steps, samples).", show_default=False, callback=options.quantity,
)  # fmt: skip
BUDGET_PER = typer.Option(
    "run", "--budget-per", help="What the training budget pays for: run (cost per run) or month.",
    callback=options.training_budget_per,
)  # fmt: skip
EXPLAIN = typer.Option(False, "--explain", help="Every formula input and its source, per row.")
DTYPE = typer.Option(
    None, "--dtype", help="bf16, fp16, fp8, tf32 or fp32 (default: bf16; --from-run: the run's).",
    show_default=False, callback=options.compute_dtype,
)  # fmt: skip
# --- train -------------------------------------------------------------------------------------------------
TOKENS = typer.Option(None, "--tokens", help="Training tokens D (2e12, 2T).", callback=options.quantity)
FLOPS = typer.Option(
    None, "--flops", help="Raw training FLOPs instead of N and D.", callback=options.quantity
)
SAMPLES = typer.Option(
    None, "--samples", help="Examples per epoch (with --epochs).", callback=options.quantity
)
EPOCHS = typer.Option(None, "--epochs", help="Epochs over --samples.", callback=options.positive)
SAMPLES_PER_S = typer.Option(
    None, "--samples-per-s", help="Measured examples/s per accelerator.", callback=options.positive
)
SEQ_LEN = typer.Option(None, "--seq-len", min=1, help="Sequence length s.")
FROM_RUN = typer.Option(
    None, "--from-run", help="A tracked run (`tco runs list`): re-project its job from its measured rate."
)
RECOMPUTE = typer.Option(
    None, "--recompute", help="Activation recomputation: none, selective or full (default: layout search).",
    callback=options.recompute,
)  # fmt: skip
EXPERT_FFN = typer.Option(None, "--expert-ffn-hidden", min=1, help="MoE: each routed expert's FFN width.")
BATCH = typer.Option(
    None, "--global-batch-tokens", help="Tokens per optimizer step (default: the preset's, else 4M).",
    callback=options.quantity,
)  # fmt: skip
COUNT = typer.Option(
    None, "--count", "-n", help=f"Accelerator counts (default: {DEFAULT_COUNTS}).", callback=options.counts
)
MFU = typer.Option(
    None, "--mfu", help="Steady MFU (0-1]: replaces every rate source.", callback=options.fraction
)
GOODPUT = typer.Option(
    None, "--goodput", help="End-to-end goodput (0-1] (default: 0.85).", callback=options.fraction
)
SCALING = typer.Option(
    None, "--scaling-efficiency", help="(0-1]: replaces the comm model.", callback=options.fraction
)
RUNS = typer.Option(
    None, "--runs-per-month", help="Runs per month (default: 1).", callback=options.runs_per_month
)
SORT = typer.Option(
    "count", "--sort", help="count (then cost), cost (per run) or time (wall).", callback=options.train_sort
)
TRAIN_INSTANCES = typer.Option(
    False, "--all-instances", help="Every instance type, not the cheapest per provider/pricing/count."
)
TRAIN_TOP = typer.Option(10, "--top", min=0, help="Show at most K rows per accelerator count (0: all).")
# --- serve -------------------------------------------------------------------------------------------------
KV_HEADS = typer.Option(None, "--kv-heads", min=1, help="KV heads (GQA) (default: heads).")
PROMPT = typer.Option(
    512, "--prompt-tokens", help="Mean prompt tokens per request.", callback=options.positive
)
OUTPUT_TOKENS = typer.Option(
    256, "--output-tokens", help="Mean output tokens per request.", callback=options.positive
)
RATE = typer.Option(1.0, "--requests-per-s", help="Request rate to serve.", callback=options.positive)
TTFT = typer.Option(1.0, "--ttft-s", help="Time-to-first-token target (s).", callback=options.positive)
TPOT = typer.Option(0.05, "--tpot-s", help="Time-per-output-token target (s).", callback=options.positive)
WEIGHT_DTYPE = typer.Option(
    "bf16", "--weight-dtype", help="bf16, fp8, int8 or int4.", callback=options.storage_dtype
)
KV_DTYPE = typer.Option("bf16", "--kv-dtype", help="KV-cache precision.", callback=options.storage_dtype)
COMPUTE_DTYPE = typer.Option(
    "bf16", "--dtype", help="Compute precision (prefill peak).", callback=options.compute_dtype
)
HOURS = typer.Option(24.0, "--hours-per-day", help="Hours served per day.", callback=options.hours_per_day)
MBU = typer.Option(
    None, "--mbu", help="Decode memory-bandwidth utilisation at TP1, (0-1] (default: see assumptions).",
    callback=options.fraction,
)  # fmt: skip
PREFILL = typer.Option(
    None, "--prefill-efficiency", help="Prefill and large-batch decode FLOP efficiency.",
    callback=options.fraction,
)  # fmt: skip
ENGINE = typer.Option(
    None, "--engine",
    help="Serving engine: auto (TensorRT-LLM on NVIDIA, vLLM elsewhere), trtllm, vllm or sglang; several "
    "(comma-separated) compare them.",
    show_default=False, callback=options.engines,
)  # fmt: skip
LAYOUT = typer.Option(
    "aggregated", "--layout", callback=options.layout,
    help="aggregated (one engine), disaggregated (prefill and decode pools) or all.",
)  # fmt: skip
REPLICA = typer.Option(
    None, "--count", "-n", help=f"Accelerators per replica (default: {DEFAULT_REPLICA_SIZES}).",
    callback=options.counts,
)  # fmt: skip
SERVE_INSTANCES = typer.Option(
    False, "--all-instances", help="Every instance type, not the cheapest per provider/pricing/replica."
)
SERVE_TOP = typer.Option(20, "--top", min=0, help="Show the K cheapest per 1M output tokens (0: all).")


def _offers(
    accelerator: list[str] | None,
    provider: list[str] | None,
    region: list[str] | None,
    pricing_model: list[str] | None,
    all_regions: bool,
    price: float | None,
) -> OfferQuery:
    from tco.api import OfferQuery

    return OfferQuery(
        accelerators=tuple(accelerator or ()),
        providers=tuple(provider or ()),
        regions=tuple(region or ()),
        pricing_models=tuple(pricing_model or ()),
        all_regions=all_regions,
        price_usd_per_accelerator_hour=price,
    )


def _target(ctx: typer.Context, fmt: Format | None, output: Path | None) -> Target:
    """Where the rows go; a workbook needs a file (checked before any work is done)."""
    return output_target(ctx, fmt, output)


@train_app.command("train")
def train(
    ctx: typer.Context,
    model: str | None = MODEL, from_run: str | None = FROM_RUN, params: str | None = PARAMS,
    active_params: str | None = ACTIVE, tokens: str | None = TOKENS, flops: str | None = FLOPS,
    samples: str | None = SAMPLES, epochs: float | None = EPOCHS, samples_per_s: float | None = SAMPLES_PER_S,
    layers: int | None = LAYERS, hidden: int | None = HIDDEN, heads: int | None = HEADS,
    head_dim: int | None = HEAD_DIM, experts: int | None = EXPERTS, experts_per_token: int | None = TOP_K,
    expert_ffn_hidden: int | None = EXPERT_FFN, seq_len: int | None = SEQ_LEN,
    global_batch_tokens: str | None = BATCH, recompute: str | None = RECOMPUTE, dtype: str | None = DTYPE,
    accelerator: list[str] | None = ACCELERATOR, count: list[str] | None = COUNT, framework: str = FRAMEWORK,
    mfu: float | None = MFU, goodput: float | None = GOODPUT, scaling_efficiency: float | None = SCALING,
    provider: list[str] | None = PROVIDER, region: list[str] | None = REGION,
    pricing_model: list[str] | None = PRICING, all_regions: bool = ALL_REGIONS,
    runs_per_month: list[str] | None = RUNS, price_usd_per_hour: float | None = PRICE,
    sets: list[str] | None = SET, sort: str = SORT, all_instances: bool = TRAIN_INSTANCES,
    top: int = TRAIN_TOP, include_infeasible: bool = INFEASIBLE, explain: bool = EXPLAIN,
    budget_usd: str | None = BUDGET, budget_per: str = BUDGET_PER,
    fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION,
) -> None:  # fmt: skip
    """What a training run costs on every offer, count and purchase option, cheapest first; --from-run
    re-projects a tracked job from its measured rate."""
    from tco.api import Selection, TrainingRequest, TrainingWorkload, estimate_training
    from tco.api import inputs as read
    from tco.api.reference import ESTIMATE_GROUPS
    from tco.cli.views.estimate import render_training

    target = _target(ctx, fmt, output)
    q = read.quantity
    workload = TrainingWorkload(
        model=model, params=q(params, "--params"), active_params=q(active_params, "--active-params"),
        tokens=q(tokens, "--tokens"), train_flops=q(flops, "--flops"), samples=q(samples, "--samples"),
        epochs=epochs, samples_per_s_per_accelerator=samples_per_s, layers=layers, hidden=hidden, heads=heads,
        seq_len=seq_len, global_batch_tokens=q(global_batch_tokens, "--global-batch-tokens"), dtype=dtype,
        recompute=read.recompute(recompute), head_dim=head_dim, experts=experts,
        experts_per_token=experts_per_token, expert_ffn_hidden=expert_ffn_hidden,
    )  # fmt: skip
    request = TrainingRequest(
        workload, _offers(accelerator, provider, region, pricing_model, all_regions, price_usd_per_hour),
        counts=read.counts(count, DEFAULT_COUNTS, "--count"), frameworks=read.frameworks(framework),
        runs_per_month=tuple(q(r, "--runs-per-month") or 0.0 for r in read.split(runs_per_month) or ["1"]),
        mfu=mfu, goodput=goodput, scaling_efficiency=scaling_efficiency,
        settings=read.settings(sets, groups=ESTIMATE_GROUPS), sort=sort,
        selection=Selection(top, include_infeasible, all_instances), explain=explain, from_run=from_run,
        budget_usd=q(budget_usd, "--budget-usd"), budget_per=budget_per.strip().lower(),
    )  # fmt: skip
    render_training(target, estimate_training(request, sources(ctx)))


@serve_app.command("serve")
def serve(
    ctx: typer.Context,
    model: str | None = MODEL, params: str | None = PARAMS, active_params: str | None = ACTIVE,
    layers: int | None = LAYERS, hidden: int | None = HIDDEN, heads: int | None = HEADS,
    kv_heads: int | None = KV_HEADS, head_dim: int | None = HEAD_DIM, experts: int | None = EXPERTS,
    experts_per_token: int | None = TOP_K, prompt_tokens: float = PROMPT,
    output_tokens: float = OUTPUT_TOKENS, requests_per_s: float = RATE, ttft_s: float = TTFT,
    tpot_s: float = TPOT,
    weight_dtype: str = WEIGHT_DTYPE, kv_dtype: str = KV_DTYPE, dtype: str = COMPUTE_DTYPE,
    hours_per_day: float = HOURS, engine: list[str] | None = ENGINE, layout: str = LAYOUT,
    mbu: float | None = MBU, prefill_efficiency: float | None = PREFILL,
    accelerator: list[str] | None = ACCELERATOR, count: list[str] | None = REPLICA,
    framework: str = FRAMEWORK,
    provider: list[str] | None = PROVIDER, region: list[str] | None = REGION,
    pricing_model: list[str] | None = PRICING, all_regions: bool = ALL_REGIONS,
    price_usd_per_hour: float | None = PRICE, sets: list[str] | None = SET,
    all_instances: bool = SERVE_INSTANCES, top: int = SERVE_TOP, include_infeasible: bool = INFEASIBLE,
    explain: bool = EXPLAIN, budget_usd: str | None = BUDGET, fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:  # fmt: skip
    """What serving an LLM costs: replicas, batch, latency, $ per 1M tokens (input and output apart), per 1k
    requests, per month, for one or several serving engines and layouts."""
    from tco.api import Selection, ServingRequest, ServingWorkload, estimate_serving
    from tco.api import inputs as read
    from tco.api.reference import ESTIMATE_GROUPS
    from tco.cli.views.estimate import render_serving

    target = _target(ctx, fmt, output)
    workload = ServingWorkload(
        model=model, params=read.quantity(params, "--params"),
        active_params=read.quantity(active_params, "--active-params"), layers=layers, hidden=hidden,
        heads=heads, kv_heads=kv_heads, head_dim=head_dim, experts=experts,
        experts_per_token=experts_per_token, prompt_tokens=prompt_tokens, output_tokens=output_tokens,
        requests_per_s=requests_per_s, ttft_s=ttft_s, tpot_s=tpot_s, weight_dtype=weight_dtype,
        kv_dtype=kv_dtype, dtype=dtype, hours_per_day=hours_per_day,
    )  # fmt: skip
    request = ServingRequest(
        workload, _offers(accelerator, provider, region, pricing_model, all_regions, price_usd_per_hour),
        replica_sizes=read.counts(count, DEFAULT_REPLICA_SIZES, "--count"),
        frameworks=read.frameworks(framework), mbu=mbu, prefill_efficiency=prefill_efficiency,
        settings=read.settings(sets, groups=ESTIMATE_GROUPS),
        selection=Selection(top, include_infeasible, all_instances), explain=explain,
        engines=read.split(engine), layouts=read.layouts(layout),
        budget_usd=read.quantity(budget_usd, "--budget-usd"),
    )  # fmt: skip
    render_serving(target, estimate_serving(request, sources(ctx)))


@models_app.command("models")
def models(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """The model presets (shapes, training tokens, sources) that --model accepts."""
    from tco.api.reference import model_presets
    from tco.cli.render import emit
    from tco.cli.views.estimate import models_table

    frame = model_presets()
    emit(output_target(ctx, fmt, output), frame, lambda: models_table(frame))


@assumptions_app.command("assumptions")
def assumptions(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """Every named default (--set NAME=VALUE), its unit and where it comes from."""
    from tco.api.reference import named_defaults
    from tco.cli.render import emit
    from tco.cli.views.estimate import defaults_table

    frame = named_defaults()
    emit(output_target(ctx, fmt, output), frame, lambda: defaults_table(frame))
