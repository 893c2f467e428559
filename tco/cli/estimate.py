"""`tco estimate ...`: training and serving cost across clouds, counts and purchase options (issue #5).

Commands parse options, assemble the model's input frames (workload, purchase options, hardware,
calibrations) and render; the projection itself is :mod:`tco.model` (pure, vectorised). Common inputs have
options; every other named default is overridable with ``--set NAME=VALUE`` (``tco estimate assumptions``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import typer

from tco.cli.state import FORMAT_OPTION, OUTPUT_OPTION, Format, Target, output_target, state
from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from pricing.catalog import Catalog
    from tco.model.assumptions import Assumption, ServingAssumptions, TrainingAssumptions
    from tco.model.overheads import LineItems
    from tco.model.ownership import OwnershipParams
    from tco.model.settings import Settings

app = typer.Typer(
    help="Project training and serving cost across scales and purchase options.", no_args_is_help=True
)

DEFAULT_COUNTS: Final = "8,64,256"
DEFAULT_REPLICA_SIZES: Final = "1,2,4,8"
FRAMEWORK_CHOICES: Final = ("torch", "jax", "tensorflow", "all")
_SUFFIXES: Final = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}

SET_OPTION = typer.Option(
    None,
    "--set",
    help="Override any named default, NAME=VALUE (list: `tco estimate assumptions`).",
    show_default=False,
)
ACCELERATOR_OPTION = typer.Option(None, "--accelerator", "-a", help="Name or alias (default: all).")
FRAMEWORK_OPTION = typer.Option("all", "--framework", help="torch, jax, tensorflow or all.")
EXPLAIN_OPTION = typer.Option(False, "--explain", help="Every formula input and its source, per row.")
PRICE_OPTION = typer.Option(
    None,
    "--price-usd-per-hour",
    "--price-usd-per-accelerator-hour",
    help="Price per ACCELERATOR-hour instead of the catalog.",
    show_default=False,
)


# --- option parsing -------------------------------------------------------------------------------------


def quantity(text: str | None, name: str) -> float | None:
    """``7e9``, ``6.7B``, ``2T``, ``500M`` -> float; None passes. Raises TcoError on anything else."""
    if text is None:
        return None
    cleaned = text.strip().replace("_", "").replace(",", "")
    match = re.fullmatch(r"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)", cleaned)
    if not match:
        raise TcoError(f"{name}: cannot read {text!r} as a number", hint="e.g. 7e9, 6.7B, 2T, 500M")
    return float(match.group(1)) * _SUFFIXES.get(match.group(2).lower(), 1.0)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _counts(values: list[str] | None, default: str, name: str) -> list[int]:
    out: list[int] = []
    for part in _split(values) or default.split(","):
        number = quantity(part, name)
        if number is None or number < 1 or number != int(number):
            raise TcoError(f"{name} must be whole numbers >= 1, got {part!r}")
        out.append(int(number))
    return sorted(set(out))


def _frameworks(value: str) -> list[str]:
    key = value.strip().lower()
    if key not in FRAMEWORK_CHOICES:
        raise TcoError(f"unknown framework {value!r}", hint=f"one of {', '.join(FRAMEWORK_CHOICES)}")
    return ["torch", "jax", "tensorflow"] if key == "all" else [key]


def _pricing_models(values: list[str] | None) -> tuple[str, ...]:
    from pricing.catalog import check_pricing_model

    out: list[str] = []
    for part in _split(values):
        key = part.lower().replace("-", "_")
        if key == "all":
            return ()
        out.append("owned" if key == "owned" else check_pricing_model(key))
    return tuple(dict.fromkeys(out))


# --- shared assembly -----------------------------------------------------------------------------------


def _options(
    ctx: typer.Context,
    *,
    accelerator: list[str] | None,
    provider: list[str] | None,
    region: list[str] | None,
    pricing_model: list[str] | None,
    all_regions: bool,
    price_override: float | None,
    settings: Settings,
    interruptible_by_default: bool = True,
) -> tuple[pd.DataFrame, Catalog | None]:
    """The purchase options for the requested accelerators; an accelerator without any is an error.

    With ``interruptible_by_default=False`` (serving) spot/low-priority capacity is left out unless
    ``--pricing-model`` names it: an endpoint on reclaimable capacity is a choice, not a default."""
    import pandas as pd

    from pricing.accelerators import resolve_many
    from pricing.catalog import OfferFilter, check_provider, filter_offers, load_catalog
    from tco.cli.prices import price_store
    from tco.model.offers import cheapest_regions, override_options, purchase_options

    accelerators = resolve_many(_split(accelerator)) if accelerator else ()
    providers = tuple(dict.fromkeys(check_provider(p) for p in _split(provider)))
    models = _pricing_models(pricing_model)
    if price_override is not None:
        if not accelerators:
            raise TcoError("--price-usd-per-hour needs --accelerator (which accelerator does it price?)")
        if not price_override > 0 or math.isinf(price_override):
            raise TcoError(f"--price-usd-per-hour must be positive, got {price_override:g}")
        per_instance = settings.get("accelerators_per_instance") or 8.0
        return override_options(accelerators, price_override, per_instance), None
    catalog = load_catalog(price_store(ctx), providers or ("aws", "gcp", "azure"))
    catalog_models = tuple(m for m in models if m != "owned")
    spec = OfferFilter(
        providers=providers,
        regions=tuple(_split(region)),
        accelerators=accelerators,
        pricing_models=catalog_models,
    )
    offers = filter_offers(catalog.offers, spec)
    if models and not catalog_models:
        offers = offers.iloc[0:0]
    options = purchase_options(offers)
    options = options[options["price_usd_per_accelerator_hour"].notna()]
    if not interruptible_by_default and not models:
        options = options[~options["interruptible"].astype(bool)]
    options = options if all_regions else cheapest_regions(options)
    if not models or "owned" in models:
        names = accelerators or tuple(dict.fromkeys(options["accelerator"]))
        owned = _owned_options(names, settings, required=models == ("owned",))
        if not owned.empty:
            options = pd.concat([options, owned], ignore_index=True)
    for name in accelerators:
        if not options["accelerator"].eq(name).any():
            raise TcoError(
                f"no price for {name} in the catalog with these filters",
                hint="pass --price-usd-per-hour (per accelerator-hour) or widen --provider/--region",
            )
    if options.empty:
        raise TcoError(
            "no priced offers match these filters", hint="widen --provider/--region/--pricing-model"
        )
    return options, catalog


def _ownership(
    accelerators: tuple[str, ...] | list[str], settings: Settings, required: bool = False
) -> dict[str, tuple[OwnershipParams, float]]:
    """Owned-hardware parameters and node size per accelerator (with --set overrides); accelerators without
    a sourced capex are left out (an error when ``required``)."""
    from tco.presets import ownership_params

    overrides = settings.group("ownership")
    capex = overrides.pop("capex_usd_per_accelerator", None)
    out: dict[str, tuple[OwnershipParams, float]] = {}
    for name in accelerators:
        found = ownership_params(name, capex_usd_per_accelerator=capex, **overrides)
        if found is None:
            if required:
                raise TcoError(
                    f"no owned-hardware capex is sourced for {name}",
                    hint="pass --set capex_usd_per_accelerator=USD",
                )
            continue
        params, node = found
        out[name] = (params, float(node))
    return out


def _owned_options(accelerators: tuple[str, ...], settings: Settings, required: bool) -> pd.DataFrame:
    import pandas as pd

    from tco.model.offers import OPTION_COLUMNS, owned_options
    from tco.model.ownership import ownership_costs

    frames = []
    for name, (params, node) in _ownership(accelerators, settings, required).items():
        costs = ownership_costs(params.to_frame()).assign(
            accelerator=name,
            accelerators_per_instance=node,
            ownership_source="capex "
            + params.capex_usd_per_accelerator.source
            + "; other defaults docs/projection_model.md §5/§8",
        )
        frames.append(owned_options(costs))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(OPTION_COLUMNS))


def _need_file(target: Target) -> None:
    if target.fmt is Format.xlsx and target.path is None:
        raise TcoError("--format xlsx writes a workbook: add --output FILE.xlsx")


def _workbook(target: Target, kind: str, shown: pd.DataFrame, assumptions: Any, settings: Settings) -> None:
    """``--format xlsx``: the shown rows as a workbook of live formulas over an Assumptions sheet."""
    from tco.cli.render import emit_bytes
    from tco.export.xlsx import serving_workbook, training_workbook

    _need_file(target)
    owned = list(dict.fromkeys(shown.loc[shown["billing"].eq("owned"), "accelerator"]))
    ownership = {name: p for name, (p, _) in _ownership(owned, settings, required=True).items()}
    build = training_workbook if kind == "train" else serving_workbook
    emit_bytes(target, build(shown, assumptions, ownership), f"a workbook of {len(shown)} options")


def _render(
    target: Target,
    kind: Literal["train", "serve"],
    shown: pd.DataFrame,
    assumptions: TrainingAssumptions | ServingAssumptions,
    settings: Settings,
    catalog: Catalog | None,
    explain: bool,
    table: Callable[[pd.DataFrame, str, str], Table],
    title: str,
    caption: str,
) -> None:
    """Show the chosen rows: the table (with every formula input and its source under ``explain``) or the
    ``--format`` export, then where the prices came from."""
    explained = None
    if explain:
        from tco.model.explain import serve_explain, train_explain

        shown = shown.assign(explain=(train_explain if kind == "train" else serve_explain)(shown))
        explained = _explain_table(shown, list(assumptions.items()))
    if target.fmt is Format.xlsx:
        _workbook(target, kind, shown, assumptions, settings)
    else:
        _emit(target, shown, table(shown, title, caption), explained)
    _report_prices(catalog, shown)


def _hardware(accelerators: list[str], dtype: str, settings: Settings) -> pd.DataFrame:
    from tco.presets import hardware_table

    hardware = hardware_table(accelerators)
    peak, inter = settings.get("peak_tflops"), settings.get("inter_node_gb_s")
    if peak is not None:
        rows = hardware["dtype"].eq(dtype)
        hardware.loc[rows, "peak_tflops"] = peak
        hardware.loc[rows, "peak_source"] = "override (--set peak_tflops)"
    if inter is not None:
        hardware["inter_node_gb_s_per_accelerator"] = inter
        hardware["network_source"] = "override (--set inter_node_gb_s)"
    return hardware


def _report_prices(catalog: Catalog | None, shown: pd.DataFrame) -> None:
    from tco.cli.render import note, warn

    if catalog is None:
        note("prices: --price-usd-per-hour override")
        return
    snapshots = [catalog.snapshots[p] for p in dict.fromkeys(shown["provider"]) if p in catalog.snapshots]
    if snapshots:
        note("prices: " + "; ".join(f"{s.provider} {s.label}" for s in snapshots))
    stale = [s for s in snapshots if (age := s.age_days()) is not None and age > 30]
    if stale:
        ages = ", ".join(f"{s.provider} {s.age_days():.0f} d" for s in stale)
        warn(f"prices older than 30 days ({ages}); `tco prices pull` refreshes them")


def _select(
    frame: pd.DataFrame,
    *,
    sort: list[str],
    top: int,
    include_infeasible: bool,
    what: str,
    best_of: list[str] | None = None,
) -> pd.DataFrame:
    """The rows to show: feasible ones (unless asked), the cheapest instance per ``best_of`` group (so each
    provider, pricing model and count appears once), ordered by ``sort``, the first ``top``."""
    from tco.cli.render import note

    feasible = frame["feasible"].astype(bool)
    if not feasible.any():
        reasons = [r for r in dict.fromkeys(frame["reason"].astype(str)) if r]
        raise TcoError(f"no feasible {what}: " + ("; ".join(reasons[:3]) or "no options"))
    chosen = frame if include_infeasible else frame[feasible]
    messages = []
    if best_of:
        cheapest = chosen.sort_values(sort[-1:], kind="stable", na_position="last")
        kept = cheapest.drop_duplicates(best_of, keep="first")
        if len(kept) < len(chosen):
            messages.append(
                f"cheapest instance type per {', '.join(c.replace('_', ' ') for c in best_of)} "
                f"({len(chosen) - len(kept)} more: --all-instances)"
            )
        chosen = kept
    ordered = chosen.sort_values(sort, kind="stable", na_position="last")
    dropped = int((~feasible).sum())
    if dropped and not include_infeasible:
        why = "; ".join(r for r in dict.fromkeys(frame.loc[~feasible, "reason"]) if r)
        messages.append(
            f"{dropped} infeasible option(s) left out (--include-infeasible shows them): {why[:300]}"
        )
    if top and len(ordered) > top:
        messages.append(f"showing {top} of {len(ordered)} options (--top 0 for all)")
    if messages:
        note("\n".join(messages))
    return (ordered.head(top) if top else ordered).reset_index(drop=True)


def _human_hours(hours: float) -> str:
    if hours is None or (isinstance(hours, float) and math.isnan(hours)):
        return "n/a"
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.1f} d"


def _money(value: Any) -> str:
    from tco.cli.render import number

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return number(value, 0 if abs(float(value)) >= 1000 else 2, prefix="$")


def _emit(target: Target, frame: pd.DataFrame, main: Table, explain: Table | None) -> None:
    from rich.table import Table as RichTable

    from tco.cli.render import emit

    def build() -> RichTable:
        if explain is None:
            return main
        grid = RichTable.grid(padding=(1, 0))
        grid.add_row(main)
        grid.add_row(explain)
        return grid

    emit(target, frame, build)


def _explain_table(rows: pd.DataFrame, items: list[tuple[str, Assumption]]) -> Table:
    from rich.markup import escape

    from tco.cli.render import table

    body = [[escape(text)] for text in rows["explain"]]
    listed = "\n".join(
        f"  {name.replace('_', ' ')} = {a.value:g}"
        + (f" (range {a.low:g}-{a.high:g})" if a.low != a.high else "")
        + f" {a.unit}: {a.source}"
        for name, a in items
    )
    body.append([escape("assumptions (override with --set NAME=VALUE or their options):\n" + listed)])
    return table("How each number was made", [("", "left")], body)


# --- train ---------------------------------------------------------------------------------------------


def _line_items(settings: Settings) -> LineItems:
    from tco.model.assumptions import Assumption
    from tco.model.overheads import EGRESS_USD_PER_GB, STORAGE_USD_PER_TB_MONTH, LineItems

    items = settings.group("line_items")
    prices: dict[str, Assumption] = {}
    for name, default in (
        ("storage_usd_per_tb_month", STORAGE_USD_PER_TB_MONTH),
        ("egress_usd_per_gb", EGRESS_USD_PER_GB),
    ):
        if name in items:
            prices[name] = Assumption.given(items.pop(name), default.unit, f"override (--set {name})")
    return LineItems(
        storage_tb=items.get("storage_tb"),
        checkpoints_kept=items.get("checkpoints_kept"),
        egress_tb_per_month=items.get("egress_tb_per_month"),
        mlops_usd_per_month=items.get("mlops_usd_per_month"),
        engineering_hours_per_month=items.get("engineering_hours_per_month"),
        engineering_usd_per_hour=items.get("engineering_usd_per_hour"),
        **prices,
    )


def _train_workload(model: str | None, given: dict[str, float | None], dtype: str) -> dict[str, Any]:
    from tco.presets import preset_workload

    if model is not None:
        row = preset_workload(model)
    else:
        kind = (
            "flops"
            if given["train_flops"] is not None
            else "samples"
            if given["samples"] is not None or given["epochs"] is not None
            else "tokens"
            if given["params"] is not None or given["tokens"] is not None
            else None
        )
        if kind is None:
            raise TcoError(
                "nothing to estimate",
                hint="give --model PRESET, --params N --tokens D, "
                "--samples N --epochs E, or --flops F (presets: `tco estimate models`)",
            )
        row = {"workload": "custom", "kind": kind, "workload_source": "given on the command line"}
    overridden = {k: float(v) for k, v in given.items() if v is not None}
    row.update(overridden)
    if model is not None and overridden:
        row["workload_source"] += "; overridden: " + ", ".join(overridden)
    if given["train_flops"] is not None:
        row["kind"] = "flops"
    row["dtype"] = dtype
    return row


def _train_table(rows: pd.DataFrame, title: str, caption: str) -> Table:
    from tco.cli.render import number, table

    columns = [
        ("#", "right"),
        ("Provider", "left"),
        ("Instance", "left"),
        ("Region", "left"),
        ("Pricing", "left"),
        ("Accelerators", "right"),
        ("Rate (source)", "left"),
        ("Scale", "right"),
        ("Wall", "right"),
        ("Acc-hours", "right"),
        ("$/acc-h", "right"),
        ("$/run", "right"),
        ("low-high", "right"),
        ("$/month", "right"),
    ]
    body = [
        [
            str(i),
            str(r["provider"]),
            str(r["instance_type"]),
            str(r["region"]),
            str(r["pricing_model"]).replace("_", "-"),
            f"{r['accelerator_count']:g} x {r['accelerator']}",
            f"MFU {number(r['mfu'], 2)} ({r['throughput_source']}"
            + ("" if r["framework"] == "any" else f", {r['framework']}")
            + ")",
            number(r["scaling_efficiency"], 2),
            _human_hours(r["wall_hours"]),
            number(r["accelerator_hours"], 0),
            number(r["effective_usd_per_accelerator_hour"], 2),
            _money(r["cost_usd_per_run"]),
            f"{_money(r['cost_usd_low'])}-{_money(r['cost_usd_high'])}",
            _money(r["cost_usd_per_month"]),
        ]
        for i, r in enumerate(rows.to_dict("records"), start=1)
    ]
    return table(title, columns, body, caption)


@app.command("train")
def train(
    ctx: typer.Context,
    model: str | None = typer.Option(None, "--model", "-m", help="A preset (`tco estimate models`)."),
    params: str | None = typer.Option(None, "--params", help="Parameters N (7e9, 6.7B)."),
    active_params: str | None = typer.Option(
        None, "--active-params", help="MoE: parameters active per token."
    ),
    tokens: str | None = typer.Option(None, "--tokens", help="Training tokens D (2e12, 2T)."),
    flops: str | None = typer.Option(None, "--flops", help="Raw training FLOPs instead of N and D."),
    samples: str | None = typer.Option(None, "--samples", help="Examples per epoch (with --epochs)."),
    epochs: float | None = typer.Option(None, "--epochs", help="Epochs over --samples."),
    samples_per_s: float | None = typer.Option(
        None, "--samples-per-s", help="Measured examples/s per accelerator."
    ),
    layers: int | None = typer.Option(None, "--layers", min=1, help="Layers L (adds the attention term)."),
    hidden: int | None = typer.Option(None, "--hidden", min=1, help="Hidden size h."),
    heads: int | None = typer.Option(None, "--heads", min=1, help="Attention heads."),
    seq_len: int | None = typer.Option(None, "--seq-len", min=1, help="Sequence length s."),
    dtype: str = typer.Option("bf16", "--dtype", help="bf16, fp16, fp8, tf32 or fp32."),
    accelerator: list[str] | None = ACCELERATOR_OPTION,
    count: list[str] | None = typer.Option(
        None, "--count", "-n", help=f"Accelerator counts (default: {DEFAULT_COUNTS})."
    ),
    framework: str = FRAMEWORK_OPTION,
    mfu: float | None = typer.Option(None, "--mfu", help="Steady MFU (0-1]: replaces every rate source."),
    goodput: float | None = typer.Option(None, "--goodput", help="End-to-end goodput (0-1] (default: 0.85)."),
    scaling_efficiency: float | None = typer.Option(
        None, "--scaling-efficiency", help="(0-1]: replaces the comm model."
    ),
    provider: list[str] | None = typer.Option(None, "--provider", "-p", help="aws, gcp, azure."),
    region: list[str] | None = typer.Option(None, "--region", "-r", help="Only these regions."),
    pricing_model: list[str] | None = typer.Option(
        None, "--pricing-model", help="on_demand, spot, reserved_1y, ..., owned, all."
    ),
    all_regions: bool = typer.Option(
        False, "--all-regions", help="Every region, not the cheapest per instance."
    ),
    runs_per_month: list[str] | None = typer.Option(
        None, "--runs-per-month", help="Runs per month (default: 1)."
    ),
    price_usd_per_hour: float | None = PRICE_OPTION,
    sets: list[str] | None = SET_OPTION,
    sort: str = typer.Option("count", "--sort", help="count (then cost), cost (per run) or time (wall)."),
    all_instances: bool = typer.Option(
        False, "--all-instances", help="Every instance type, not the cheapest per provider/pricing/count."
    ),
    top: int = typer.Option(30, "--top", min=0, help="Show at most K rows (0: all)."),
    include_infeasible: bool = typer.Option(
        False, "--include-infeasible", help="Also options that cannot run."
    ),
    explain: bool = EXPLAIN_OPTION,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """What a training run costs on every offer, count and purchase option, cheapest first."""
    import pandas as pd

    from tco.calibrations import load_calibrations
    from tco.model.assumptions import TrainingAssumptions
    from tco.model.settings import parse_settings
    from tco.model.training import project_training
    from tco.model.work import validate_training_workloads
    from tco.presets import load_mfu_defaults

    target = output_target(ctx, fmt, output)
    _need_file(target)
    orders = {
        "count": ["accelerator_count", "cost_usd_per_run"],
        "cost": ["cost_usd_per_run", "wall_hours"],
        "time": ["wall_hours", "cost_usd_per_run"],
    }
    if sort not in orders:
        raise TcoError(f"--sort must be count, cost or time, got {sort!r}")
    settings = parse_settings(sets or [])
    given = {
        "params": quantity(params, "--params"),
        "active_params": quantity(active_params, "--active-params"),
        "tokens": quantity(tokens, "--tokens"),
        "train_flops": quantity(flops, "--flops"),
        "samples": quantity(samples, "--samples"),
        "epochs": epochs,
        "samples_per_s_per_accelerator": samples_per_s,
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "seq_len": seq_len,
        "global_batch_tokens": settings.get("global_batch_tokens"),
        "flops_per_sample": settings.get("flops_per_sample"),
    }
    workload = pd.DataFrame([_train_workload(model, given, dtype)])
    validate_training_workloads(workload)
    per_day = settings.get("spot_interruptions_per_day")
    assumptions = TrainingAssumptions().with_overrides(
        goodput=goodput,
        mfu_override=mfu,
        scaling_efficiency_override=scaling_efficiency,
        spot_interruptions_per_instance_hour=None if per_day is None else per_day / 24.0,
        **{
            k: v
            for k, v in settings.group("training").items()
            if k not in ("global_batch_tokens", "flops_per_sample")
        },
        **{k: v for k, v in settings.group("spot").items() if k != "spot_interruptions_per_day"},
    )
    line_items = _line_items(settings)
    runs = [quantity(r, "--runs-per-month") or 0.0 for r in (_split(runs_per_month) or ["1"])]
    options, catalog = _options(
        ctx,
        accelerator=accelerator,
        provider=provider,
        region=region,
        pricing_model=pricing_model,
        all_regions=all_regions,
        price_override=price_usd_per_hour,
        settings=settings,
    )
    names = list(dict.fromkeys(options["accelerator"]))
    frame = project_training(
        workload,
        options,
        _hardware(names, dtype, settings),
        counts=_counts(count, DEFAULT_COUNTS, "--count"),
        frameworks=_frameworks(framework),
        runs_per_month=runs,
        mfu_defaults=load_mfu_defaults(),
        calibrations=load_calibrations(state(ctx).home_dir),
        assumptions=assumptions,
        line_items=line_items,
    )
    best_of = (
        None
        if all_instances
        else ["provider", "pricing_model", "accelerator", "accelerator_count", "framework", "runs_per_month"]
    )
    shown = _select(
        frame,
        sort=orders[sort],
        top=top,
        include_infeasible=include_infeasible,
        what="training option",
        best_of=best_of,
    )
    first = shown.iloc[0]
    title = (
        f"Training {first['workload']}: {first['train_flops']:.3g} FLOP ({first['work_formula']}), goodput "
        f"{first['goodput']:g}, {', '.join(f'{r:g}' for r in runs)} run(s)/month"
    )
    caption = (
        "$/acc-h is effective (commitments and owned hardware at their utilisation). low-high: the "
        "efficiency assumptions' ranges. Scale: scaling efficiency. Sources: --explain or --format json."
    )
    if line_items.any:
        caption += " Line items beyond compute: --format json/csv (other_usd_per_month)."
    _render(target, "train", shown, assumptions, settings, catalog, explain, _train_table, title, caption)


# --- serve ---------------------------------------------------------------------------------------------


def _serve_workload(model: str | None, given: dict[str, Any]) -> dict[str, Any]:
    from tco.model.units import DTYPE_BYTES
    from tco.presets import find_model

    if model is not None:
        record = find_model(model)
        if record["family"] == "cnn":
            raise TcoError(f"{record['name']} is not a transformer: serving projects LLM prefill and decode")
        row: dict[str, Any] = {
            k: record.get(k) for k in ("params", "active_params", "layers", "hidden", "heads", "kv_heads")
        }
        row.update(workload=record["name"], workload_source=f"preset {record['name']}: {record['source']}")
    elif given["params"] is not None:
        row = {"workload": "custom", "workload_source": "given on the command line"}
    else:
        raise TcoError("nothing to serve", hint="give --model PRESET or --params N --layers --hidden --heads")
    for name in ("weight_dtype", "kv_dtype"):
        if given[name] not in DTYPE_BYTES:
            raise TcoError(
                f"--{name.replace('_', '-')}: unknown dtype {given[name]!r}",
                hint=f"one of {', '.join(DTYPE_BYTES)}",
            )
    row.update({k: v for k, v in given.items() if v is not None and k not in ("weight_dtype", "kv_dtype")})
    row.update(
        weight_bytes_per_param=DTYPE_BYTES[given["weight_dtype"]],
        kv_bytes_per_element=DTYPE_BYTES[given["kv_dtype"]],
    )
    for column in ("params", "active_params", "layers", "hidden", "heads", "kv_heads"):
        number = row.get(column)
        row[column] = (
            float(number) if isinstance(number, int | float) and not math.isnan(number) else math.nan
        )
    return row


def _serve_table(rows: pd.DataFrame, title: str, caption: str) -> Table:
    from tco.cli.render import number, table

    columns = [
        ("#", "right"),
        ("Provider", "left"),
        ("Instance", "left"),
        ("Region", "left"),
        ("Pricing", "left"),
        ("Replica", "right"),
        ("Replicas", "right"),
        ("Batch", "right"),
        ("TTFT s", "right"),
        ("TPOT ms", "right"),
        ("tok/s/replica", "right"),
        ("$/1M out", "right"),
        ("low-high", "right"),
        ("$/1k req", "right"),
        ("$/month", "right"),
    ]
    body = [
        [
            str(i),
            str(r["provider"]),
            str(r["instance_type"]),
            str(r["region"]),
            str(r["pricing_model"]).replace("_", "-"),
            f"{r['accelerators_per_replica']:g} x {r['accelerator']}",
            number(r["replicas"], 0),
            number(r["batch_size"], 0),
            number(r["ttft_s"], 3),
            number(r["tpot_s"] * 1000.0, 1),
            number(r["tokens_per_s_per_replica"], 0),
            _money(r["cost_usd_per_1m_output_tokens"]),
            f"{_money(r['cost_usd_per_1m_output_tokens_low'])}-{_money(r['cost_usd_per_1m_output_tokens_high'])}",
            _money(r["cost_usd_per_1k_requests"]),
            _money(r["cost_usd_per_month"]),
        ]
        for i, r in enumerate(rows.to_dict("records"), start=1)
    ]
    return table(title, columns, body, caption)


@app.command("serve")
def serve(
    ctx: typer.Context,
    model: str | None = typer.Option(None, "--model", "-m", help="A preset (`tco estimate models`)."),
    params: str | None = typer.Option(None, "--params", help="Parameters N."),
    active_params: str | None = typer.Option(
        None, "--active-params", help="MoE: active parameters per token."
    ),
    layers: int | None = typer.Option(None, "--layers", min=1),
    hidden: int | None = typer.Option(None, "--hidden", min=1),
    heads: int | None = typer.Option(None, "--heads", min=1),
    kv_heads: int | None = typer.Option(None, "--kv-heads", min=1, help="KV heads (GQA) (default: heads)."),
    prompt_tokens: float = typer.Option(512, "--prompt-tokens", help="Mean prompt tokens per request."),
    output_tokens: float = typer.Option(256, "--output-tokens", help="Mean output tokens per request."),
    requests_per_s: float = typer.Option(1.0, "--requests-per-s", help="Request rate to serve."),
    ttft_s: float = typer.Option(1.0, "--ttft-s", help="Time-to-first-token target (s)."),
    tpot_s: float = typer.Option(0.05, "--tpot-s", help="Time-per-output-token target (s)."),
    weight_dtype: str = typer.Option("bf16", "--weight-dtype", help="bf16, fp8, int8 or int4."),
    kv_dtype: str = typer.Option("bf16", "--kv-dtype", help="KV-cache precision."),
    dtype: str = typer.Option("bf16", "--dtype", help="Compute precision (prefill peak)."),
    hours_per_day: float = typer.Option(24.0, "--hours-per-day", help="Hours served per day."),
    mbu: float | None = typer.Option(
        None, "--mbu", help="Memory-bandwidth utilisation (0-1] (default: 0.8)."
    ),
    prefill_efficiency: float | None = typer.Option(
        None, "--prefill-efficiency", help="Prefill FLOP efficiency."
    ),
    accelerator: list[str] | None = ACCELERATOR_OPTION,
    count: list[str] | None = typer.Option(
        None, "--count", "-n", help=f"Accelerators per replica (default: {DEFAULT_REPLICA_SIZES})."
    ),
    framework: str = FRAMEWORK_OPTION,
    provider: list[str] | None = typer.Option(None, "--provider", "-p"),
    region: list[str] | None = typer.Option(None, "--region", "-r"),
    pricing_model: list[str] | None = typer.Option(None, "--pricing-model"),
    all_regions: bool = typer.Option(False, "--all-regions"),
    price_usd_per_hour: float | None = PRICE_OPTION,
    sets: list[str] | None = SET_OPTION,
    all_instances: bool = typer.Option(
        False, "--all-instances", help="Every instance type, not the cheapest per provider/pricing/replica."
    ),
    top: int = typer.Option(20, "--top", min=0, help="Show the K cheapest per 1M output tokens (0: all)."),
    include_infeasible: bool = typer.Option(False, "--include-infeasible"),
    explain: bool = EXPLAIN_OPTION,
    fmt: Format | None = FORMAT_OPTION,
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """What serving an LLM costs: replicas, batch, latency, $ per 1M tokens, per 1k requests, per month."""
    import pandas as pd

    from tco.calibrations import load_calibrations
    from tco.model.assumptions import ServingAssumptions, check_fraction
    from tco.model.serving import project_serving, validate_serving_workloads
    from tco.model.settings import parse_settings
    from tco.model.throughput import resolve_serving_efficiency

    target = output_target(ctx, fmt, output)
    _need_file(target)
    check_fraction("MBU", mbu)
    check_fraction("prefill efficiency", prefill_efficiency)
    settings = parse_settings(sets or [])
    given = {
        "params": quantity(params, "--params"),
        "active_params": quantity(active_params, "--active-params"),
        "layers": layers,
        "hidden": hidden,
        "heads": heads,
        "kv_heads": kv_heads,
        "prompt_tokens": prompt_tokens,
        "output_tokens": output_tokens,
        "requests_per_s": requests_per_s,
        "ttft_s": ttft_s,
        "tpot_s": tpot_s,
        "hours_per_day": hours_per_day,
        "dtype": dtype,
        "weight_dtype": weight_dtype,
        "kv_dtype": kv_dtype,
    }
    workload = pd.DataFrame([_serve_workload(model, given)])
    validate_serving_workloads(workload)
    a = ServingAssumptions().with_overrides(**settings.group("serving"))
    options, catalog = _options(
        ctx,
        accelerator=accelerator,
        provider=provider,
        region=region,
        pricing_model=pricing_model,
        all_regions=all_regions,
        price_override=price_usd_per_hour,
        settings=settings,
        interruptible_by_default=False,
    )
    names = list(dict.fromkeys(options["accelerator"]))
    hardware = _hardware(names, dtype, settings)
    efficiencies = resolve_serving_efficiency(
        names,
        _frameworks(framework),
        hardware,
        load_calibrations(state(ctx).home_dir),
        dtype=dtype,
        mbu_default=(a.mbu.value, a.mbu.low, a.mbu.high, a.mbu.source),
        flops_default=(
            a.prefill_flops_efficiency.value,
            a.prefill_flops_efficiency.low,
            a.prefill_flops_efficiency.high,
            a.prefill_flops_efficiency.source,
        ),
        mbu_override=mbu,
        flops_override=prefill_efficiency,
    )
    frame = project_serving(
        workload,
        options,
        hardware,
        efficiencies,
        replica_sizes=_counts(count, DEFAULT_REPLICA_SIZES, "--count"),
        assumptions=a,
    )
    line_items = _line_items(settings)
    if line_items.any:
        from tco.model.assumptions import STATE_BYTES_PER_PARAM
        from tco.model.overheads import line_items as compute_line_items

        params_column = pd.Series(workload["params"].iloc[0], index=frame.index).to_numpy(dtype="float64")
        items = compute_line_items(
            params_column, line_items, state_bytes_per_param=STATE_BYTES_PER_PARAM.value
        )
        frame = frame.assign(**items)
        frame["total_usd_per_month"] = frame["cost_usd_per_month"] + frame["other_usd_per_month"].fillna(0.0)
    best_of = (
        None
        if all_instances
        else ["provider", "pricing_model", "accelerator", "accelerators_per_replica", "framework"]
    )
    shown = _select(
        frame,
        sort=["cost_usd_per_1m_output_tokens"],
        top=top,
        include_infeasible=include_infeasible,
        what="serving option",
        best_of=best_of,
    )
    w = workload.iloc[0]
    title = (
        f"Serving {w['workload']}: {w['requests_per_s']:g} req/s of {w['prompt_tokens']:g} in / "
        f"{w['output_tokens']:g} out tokens, TTFT <= {w['ttft_s']:g} s, TPOT <= {w['tpot_s'] * 1000:g} ms, "
        f"{w['hours_per_day']:g} h/day"
    )
    caption = (
        "Replica: accelerators per model copy (tensor parallel). Spot capacity only with --pricing-model "
        "spot. low-high: $/1M output tokens over the MBU and prefill-efficiency ranges. Sources: --explain "
        "or --format json."
    )
    _render(target, "serve", shown, a, settings, catalog, explain, _serve_table, title, caption)


# --- reference tables ----------------------------------------------------------------------------------


@app.command("models")
def models(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """The model presets (shapes, training tokens, sources) that --model accepts."""
    from tco.cli.render import emit, number, table
    from tco.presets import load_models

    target = output_target(ctx, fmt, output)
    frame = load_models()

    def build() -> Table:
        rows = [
            [
                str(r["name"]),
                str(r["family"]),
                number(r["params"] / 1e9, 3),
                number(r["layers"], 0),
                number(r["hidden"], 0),
                number(r["heads"], 0),
                number(r["kv_heads"], 0),
                number(r["seq_len"], 0),
                number(r["tokens"] / 1e9, 0),
                str(r["source"])[:60],
            ]
            for r in frame.to_dict("records")
        ]
        columns = [
            ("Name", "left"),
            ("Family", "left"),
            ("B params", "right"),
            ("Layers", "right"),
            ("Hidden", "right"),
            ("Heads", "right"),
            ("KV", "right"),
            ("Seq", "right"),
            ("B tokens", "right"),
            ("Source (all: --format json)", "left"),
        ]
        return table("Model presets (--model)", columns, rows)

    emit(target, frame, build)


@app.command("assumptions")
def assumptions(
    ctx: typer.Context, fmt: Format | None = FORMAT_OPTION, output: Path | None = OUTPUT_OPTION
) -> None:
    """Every named default (--set NAME=VALUE), its unit and where it comes from."""
    import pandas as pd

    from tco.cli.render import emit, table
    from tco.model.settings import SETTINGS

    target = output_target(ctx, fmt, output)
    frame = pd.DataFrame(
        [
            {"name": s.name, "group": s.group, "unit": s.unit, "meaning": s.meaning, "default": s.default}
            for s in SETTINGS.values()
        ]
    )

    def build() -> Table:
        rows = [
            [r["name"], r["group"], r["unit"], r["meaning"], r["default"]] for r in frame.to_dict("records")
        ]
        return table(
            "Named defaults (tco estimate train|serve --set NAME=VALUE)",
            [
                ("Name", "left"),
                ("Group", "left"),
                ("Unit", "left"),
                ("Meaning", "left"),
                ("Default and source", "left"),
            ],
            rows,
            caption="Also options: --mfu, --goodput, --scaling-efficiency, --mbu, --prefill-efficiency. "
            "Assumed MFU per accelerator: tco/data/mfu_defaults.csv.",
        )

    emit(target, frame, build)
