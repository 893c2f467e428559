"""``estimate_training``: what a training run costs on every offer, count and purchase option, as
``tco estimate train`` prints it; the helpers both estimates share (``estimate_serving`` is
:mod:`tco.api.serving`).

A request names the workload, the offers (:class:`~tco.api.offers.OfferQuery`) and the assumptions to
change; the result holds the rows chosen for display, the whole grid, the assumptions in force and the
provenance (price snapshots, stale-price warnings, notes). The projection itself is :mod:`tco.model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from tco.api.offers import OfferQuery, PurchaseOptions, purchase_options_for
from tco.api.sources import Provenance, Sources
from tco.errors import TcoError
from tco.model.settings import Settings
from tco.vocabulary import FRAMEWORKS

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions
    from tco.model.overheads import LineItems
    from tco.model.ownership import OwnershipParams
    from tco.track.calibration import MeasuredRun

TRAIN_SORTS: Final = {
    "count": ("accelerator_count", "cost_usd_per_run"),
    "cost": ("cost_usd_per_run", "wall_hours"),
    "time": ("wall_hours", "cost_usd_per_run"),
}
TRAIN_BEST_OF: Final = (
    "provider", "pricing_model", "accelerator", "accelerator_count", "framework", "runs_per_month",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rows of the grid to show: feasible ones (unless ``include_infeasible``), the cheapest instance
    type per provider, pricing model and size (unless ``all_instances``), at most ``top`` (0: all) - per
    accelerator count in a training estimate, so that every count asked for is shown."""

    top: int = 30
    include_infeasible: bool = False
    all_instances: bool = False

    def __post_init__(self) -> None:
        if self.top < 0:
            raise TcoError(f"top must be >= 0, got {self.top}")


@dataclass(frozen=True, slots=True)
class TrainingWorkload:
    """A training workload: a preset (``model``) and/or its numbers. Missing stays None (never 0)."""

    model: str | None = None
    params: float | None = None
    active_params: float | None = None
    tokens: float | None = None
    train_flops: float | None = None
    samples: float | None = None
    epochs: float | None = None
    samples_per_s_per_accelerator: float | None = None
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    seq_len: int | None = None
    global_batch_tokens: float | None = None
    flops_per_sample: float | None = None
    #: compute precision; None: bf16 (a tracked run's own with ``TrainingRequest.from_run``)
    dtype: str | None = None
    #: activation recomputation: none, selective or full; None: the layout search decides
    recompute: str | None = None
    #: width per attention head where it is not hidden / heads (multi-head latent attention)
    head_dim: int | None = None
    #: mixture of experts: routed experts per layer, experts per token (top-k), each expert's FFN width
    experts: int | None = None
    experts_per_token: int | None = None
    expert_ffn_hidden: int | None = None

    def row(self, settings: Settings, base: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The model's workload row (:data:`tco.model.work.WORKLOAD_COLUMNS`), ``--set`` batch and sample
        FLOPs included. ``base``: a workload row to start from (a tracked run's job) instead of the preset
        or the numbers given; what is given here replaces its values."""
        from tco.presets import preset_workload

        given: dict[str, float | None] = {
            "params": self.params, "active_params": self.active_params, "tokens": self.tokens,
            "train_flops": self.train_flops, "samples": self.samples, "epochs": self.epochs,
            "samples_per_s_per_accelerator": self.samples_per_s_per_accelerator, "layers": self.layers,
            "hidden": self.hidden, "heads": self.heads, "seq_len": self.seq_len,
            "global_batch_tokens": self.global_batch_tokens or settings.get("global_batch_tokens"),
            "flops_per_sample": self.flops_per_sample or settings.get("flops_per_sample"),
            "head_dim": self.head_dim, "experts": self.experts, "experts_per_token": self.experts_per_token,
            "expert_ffn_hidden": self.expert_ffn_hidden,
        }  # fmt: skip
        if base is not None:
            if self.model is not None:
                raise TcoError("give a tracked run or a model preset, not both (the run is the workload)")
            row = dict(base)
        elif self.model is not None:
            row = preset_workload(self.model)
        else:
            row = {"workload": "custom", "kind": self._kind(), "workload_source": "given on the command line"}
        overridden = {k: float(v) for k, v in given.items() if v is not None}
        row.update(overridden)
        if self.recompute is not None:
            row["recompute"] = self.recompute.strip().lower()
        names = [*overridden, *(["recompute"] if self.recompute is not None else [])]
        if (self.model is not None or base is not None) and names:
            row["workload_source"] += "; overridden: " + ", ".join(names)
        if self.train_flops is not None:
            row["kind"] = "flops"
        row["dtype"] = self.dtype or str(row.get("dtype") or "bf16")
        return row

    def _kind(self) -> str:
        if self.train_flops is not None:
            return "flops"
        if self.samples is not None or self.epochs is not None:
            return "samples"
        if self.params is not None or self.tokens is not None:
            return "tokens"
        raise TcoError(
            "nothing to estimate",
            hint="give --model PRESET, --params N --tokens D, "
            "--samples N --epochs E, or --flops F (presets: `tco estimate models`)",
        )


@dataclass(frozen=True)
class TrainingRequest:
    """What ``tco estimate train`` takes. ``calibrations``: extra throughput evidence (calibration result
    rows, e.g. a measured run) used beside the calibration store's."""

    workload: TrainingWorkload
    offers: OfferQuery = field(default_factory=OfferQuery)
    counts: tuple[int, ...] = (8, 64, 256)
    frameworks: tuple[str, ...] = FRAMEWORKS
    runs_per_month: tuple[float, ...] = (1.0,)
    mfu: float | None = None
    goodput: float | None = None
    scaling_efficiency: float | None = None
    settings: Settings = field(default_factory=Settings)
    sort: str = "count"
    selection: Selection = field(default_factory=lambda: Selection(top=10))
    explain: bool = False
    calibrations: pd.DataFrame | None = field(default=None, compare=False)
    #: a tracked run (``tco runs list``; an id or a unique prefix) re-projected: its job is the workload
    #: (numbers given in ``workload`` replace the run's), its measured rate the throughput source ("measured
    #: on your job", :func:`tco.track.from_run`), its framework and precision those of the projection
    from_run: str | None = None
    #: a budget in dollars: options costing more are marked ``over_budget`` and each row says what the budget
    #: buys there (:func:`tco.model.budget.training_budget`)
    budget_usd: float | None = None
    #: what the budget pays for: one ``run`` (cost per run) or a ``month`` (cost per month)
    budget_per: str = "run"

    def __post_init__(self) -> None:
        from tco.model.budget import TRAINING_PERIODS, check_budget

        check_budget(self.budget_usd, self.budget_per, TRAINING_PERIODS)
        if self.sort not in TRAIN_SORTS:
            raise TcoError(f"--sort must be count, cost or time, got {self.sort!r}")
        if not self.counts or min(self.counts) < 1:
            raise TcoError("accelerator counts must be whole numbers >= 1")
        unknown = set(self.frameworks) - set(FRAMEWORKS)
        if unknown:
            raise TcoError(f"unknown framework {sorted(unknown)[0]!r}", hint=", ".join(FRAMEWORKS))


@dataclass(frozen=True)
class TrainingEstimate:
    """The chosen rows (:data:`tco.model.training.TRAINING_COLUMNS`, plus ``explain`` when asked), the
    whole grid, the assumptions in force, the owned hardware's parameters and the provenance."""

    rows: pd.DataFrame = field(compare=False)
    grid: pd.DataFrame = field(compare=False)
    runs_per_month: tuple[float, ...]
    assumptions: TrainingAssumptions
    line_items: LineItems
    ownership: Mapping[str, OwnershipParams]
    provenance: Provenance


def hardware(accelerators: list[str], dtype: str, settings: Settings) -> pd.DataFrame:
    """The model's hardware frame with ``--set peak_tflops`` / ``inter_node_gb_s`` applied."""
    from tco.presets import hardware_table

    frame = hardware_table(accelerators)
    peak, inter = settings.get("peak_tflops"), settings.get("inter_node_gb_s")
    if peak is not None:
        rows = frame["dtype"].eq(dtype)
        frame.loc[rows, "peak_tflops"] = peak
        frame.loc[rows, "peak_source"] = "override (--set peak_tflops)"
    if inter is not None:
        frame["inter_node_gb_s_per_accelerator"] = inter
        frame["network_source"] = "override (--set inter_node_gb_s)"
    return frame


def line_items(settings: Settings) -> LineItems:
    """The non-compute line items budgeted with ``--set`` (storage, egress, MLOps, engineering)."""
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


def training_assumptions(request: TrainingRequest) -> TrainingAssumptions:
    from tco.model.assumptions import TrainingAssumptions

    settings = request.settings
    per_day = settings.get("spot_interruptions_per_day")
    training = {
        k: v
        for k, v in settings.group("training").items()
        if k not in ("global_batch_tokens", "flops_per_sample")
    }
    spot = {k: v for k, v in settings.group("spot").items() if k != "spot_interruptions_per_day"}
    return TrainingAssumptions().with_overrides(
        goodput=request.goodput,
        mfu_override=request.mfu,
        scaling_efficiency_override=request.scaling_efficiency,
        spot_interruptions_per_instance_hour=None if per_day is None else per_day / 24.0,
        **training,
        **spot,
    )


def calibrations_with(sources: Sources, extra: pd.DataFrame | None) -> pd.DataFrame:
    import pandas as pd

    stored = sources.calibration_results()
    if extra is None or extra.empty:
        return stored
    return pd.concat([stored, extra], ignore_index=True) if not stored.empty else extra


def select(
    frame: pd.DataFrame,
    selection: Selection,
    *,
    sort: tuple[str, ...],
    what: str,
    best_of: tuple[str, ...],
    per: str | None = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rows to show and why others are not: feasible ones (unless asked), the cheapest instance per
    ``best_of`` group (so each provider, pricing model and size appears once), ordered by ``sort``, the first
    ``top`` (of each ``per`` group when given). Raises when no row is feasible."""
    feasible = frame["feasible"].astype(bool)
    if not feasible.any():
        reasons = [r for r in dict.fromkeys(frame["reason"].astype(str)) if r]
        raise TcoError(f"no feasible {what}: " + ("; ".join(reasons[:3]) or "no options"))
    chosen = frame if selection.include_infeasible else frame[feasible]
    notes = []
    if not selection.all_instances:
        cheapest = chosen.sort_values(list(sort[-1:]), kind="stable", na_position="last")
        kept = cheapest.drop_duplicates(list(best_of), keep="first")
        if len(kept) < len(chosen):
            notes.append(
                f"cheapest instance type per {', '.join(c.replace('_', ' ') for c in best_of)} "
                f"({len(chosen) - len(kept)} more: --all-instances)"
            )
        chosen = kept
    ordered = chosen.sort_values(list(sort), kind="stable", na_position="last")
    dropped = int((~feasible).sum())
    if dropped and not selection.include_infeasible:
        # a row the model could not estimate at all (no performance row) has no reason text (NaN)
        why = "; ".join(r for r in dict.fromkeys(frame.loc[~feasible, "reason"]) if isinstance(r, str) and r)
        notes.append(
            f"{dropped} infeasible option(s) left out (--include-infeasible shows them): {why[:300]}"
        )
    top = selection.top
    kept_rows = ordered
    if top:
        kept_rows = ordered.groupby(per, sort=False).head(top) if per else ordered.head(top)
    if len(kept_rows) < len(ordered):
        each = f"; at most {top} per {per.replace('_', ' ')}" if per else ""
        notes.append(f"showing {len(kept_rows)} of {len(ordered)} options (--top 0 for all{each})")
    shown = kept_rows.reset_index(drop=True)
    return shown, ("\n".join(notes),) if notes else ()


def estimate_provenance(
    options: PurchaseOptions, shown: pd.DataFrame, notes: tuple[str, ...], assumptions: Provenance
) -> Provenance:
    """Notes, where the shown rows' prices come from (and whether they are stale), the assumptions."""
    prices = options.provenance(tuple(dict.fromkeys(shown["provider"])))
    return replace(prices, notes=notes, assumptions=assumptions.assumptions)


def ethernet_note(shown: pd.DataFrame) -> tuple[str, ...]:
    """A note when shown rows train across instances sold without a cluster fabric (the Ethernet assumption
    of :func:`tco.model.offers.offer_networks`), naming them."""
    if "network_source" not in shown:
        return ()
    ethernet = shown[
        shown["network_source"].astype(str).str.startswith("Ethernet assumption") & (shown["instances"] > 1)
    ]
    if ethernet.empty:
        return ()
    offers = ", ".join(
        dict.fromkeys(ethernet["provider"].astype(str) + " " + ethernet["instance_type"].astype(str))
    )
    figure = float(ethernet["network_gb_s_per_instance"].iloc[0])
    return (
        f"{len(ethernet)} row(s) train across instances sold without a cluster fabric ({offers[:200]}): "
        f"assumed {figure * 8:g} Gb/s of Ethernet per instance between them (--explain; --set "
        "ethernet_gb_s_per_instance)",
    )


def with_budget_line(explain: pd.Series, shown: pd.DataFrame) -> pd.Series:
    """``--explain`` text with the budget line (:func:`tco.model.budget.budget_lines`) when rows carry one."""
    if "budget_usd" not in shown:
        return explain
    from tco.model.budget import budget_lines

    return explain + "\n" + budget_lines(shown)


def owned_parameters(options: PurchaseOptions, shown: pd.DataFrame) -> dict[str, OwnershipParams]:
    owned = dict.fromkeys(shown.loc[shown["billing"].eq("owned"), "accelerator"])
    return {name: options.servers[name].params for name in owned}


def _measured(request: TrainingRequest, sources: Sources) -> MeasuredRun | None:
    """The tracked run ``request.from_run`` names, as a workload and calibration rows (None: no run)."""
    if request.from_run is None:
        return None
    from tco.track.calibration import from_run

    return from_run(request.from_run, home=sources.home)


def estimate_training(request: TrainingRequest, sources: Sources | None = None) -> TrainingEstimate:
    """What a training run costs on every offer, count and purchase option, cheapest first. With
    ``from_run``: the tracked job re-projected from its measured rate."""
    import pandas as pd

    from tco.model.training import project_training
    from tco.model.work import validate_training_workloads
    from tco.presets import load_mfu_defaults

    sources = sources or Sources()
    measured = _measured(request, sources)
    row = request.workload.row(request.settings, None if measured is None else measured.workload)
    workload = pd.DataFrame([row])
    validate_training_workloads(workload)
    assumptions = training_assumptions(request)
    items = line_items(request.settings)
    options = purchase_options_for(request.offers, sources, request.settings)
    names = list(dict.fromkeys(options.options["accelerator"]))
    extra = request.calibrations
    if measured is not None:
        extra = measured.calibrations if extra is None else pd.concat([extra, measured.calibrations])
    grid = project_training(
        workload,
        options.options,
        hardware(names, str(row["dtype"]), request.settings),
        counts=request.counts,
        frameworks=request.frameworks if measured is None else (measured.framework,),
        runs_per_month=request.runs_per_month,
        mfu_defaults=load_mfu_defaults(),
        calibrations=calibrations_with(sources, extra),
        assumptions=assumptions,
        line_items=items,
    )
    if measured is not None:
        from tco.track.calibration import label_measured

        grid = label_measured(grid, measured)
    shown, notes = select(
        grid, request.selection, sort=TRAIN_SORTS[request.sort], what="training option",
        best_of=TRAIN_BEST_OF, per="accelerator_count",
    )  # fmt: skip
    if measured is not None:
        notes = (f"re-projecting {measured.label}", *measured.notes, *notes)
    ethernet = ethernet_note(shown)
    if ethernet:  # one block of notes, as the selection's
        notes = ("\n".join([*notes, *ethernet]),)
    if request.budget_usd is not None:
        from tco.model.budget import training_budget

        samples = float(row.get("samples") or math.nan) * float(row.get("epochs") or math.nan)
        tokens = float(row["tokens"]) if row.get("kind") == "tokens" else math.nan
        per = request.budget_per
        shown = training_budget(shown, request.budget_usd, per=per, tokens=tokens, samples=samples)
    if request.explain:
        from tco.model.explain import train_explain

        shown = shown.assign(explain=with_budget_line(train_explain(shown), shown))
    provenance = estimate_provenance(
        options, shown, notes, Provenance(assumptions=tuple(assumptions.items()))
    )
    return TrainingEstimate(
        shown, grid, request.runs_per_month, assumptions, items, owned_parameters(options, shown), provenance
    )
