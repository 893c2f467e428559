"""A plan's candidates: every (workload, purchase option) the projection model allows, costed over the
horizon on narrow arrays, without a (candidate x month) grid.

The model is evaluated in batches, never once per workload:

* training: one :func:`tco.model.training.training_performance` call per (MFU override, accelerator
  count, and the framework where calibrations tell frameworks apart) (the model crosses its workloads with
  those), over the accelerators of the batch's workloads; each workload keeps the rows of its own
  accelerators. A group whose workloads name different
  accelerator sets is split where that saves more model rows than a call costs (:func:`_batches`);
* serving: one :func:`tco.model.serving.project_serving` call per (dtype, efficiency overrides), over one
  purchase option per (accelerator, instance size): a replica's projection does not depend on the price,
  so the options are joined afterwards by index.

A *model row* (training: a performance row under interruptible or steady capacity; serving: a replica
projection on one instance size) is paired with every option of its accelerator and instance size (and,
for training, the offer's network) that the workload allows. A month's cost is linear in the option's two
prices (:data:`tco.model.formulas.CAPACITY_MONTH_COST`: held accelerators x fixed/12 + used
accelerator-hours x variable), so each model row's horizon is two sums evaluated once by the model's own
functions (:func:`tco.model.purchase.run_costs` for training, ``HELD_MONTH_COST`` over the grown fleet for
serving) at unit prices::

    fixed_coef    = sum over months of cost(m) at fixed = 1, variable = 0   (held accelerator-years / 12)
    variable_coef = sum over months of cost(m) at fixed = 0, variable = 1   (used accelerator-hours)
    total_usd     = fixed_coef x fixed_usd_per_accelerator_year + variable_coef x variable_usd_per_acc_hour

the same total as summing the month-by-month costs, to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tco.model import formulas as F
from tco.model.formula import var

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions, TrainingAssumptions
    from tco.plan.scenario import Scenario

#: Replica sizes (tensor parallel) tried for serving, as ``tco estimate serve``'s default.
REPLICA_SIZES: Final = (1, 2, 4, 8)
#: Attention head dimension when a serving endpoint names only its parameter count.
HEAD_DIM: Final = 128.0
HEAD_DIM_SOURCE: Final = "head dimension 128 (LLaMA family; docs/projection_model.md §2.2)"
#: Model rows one more training_performance call is worth (its fixed cost, measured: ~25 ms a call,
#: ~15 us a row); a batch is also cut at CALL_ROWS_MAX rows (the layout search slows on larger frames).
CALL_ROWS: Final = 1500
CALL_ROWS_MAX: Final = 16_000

#: A serving endpoint's month-``m`` fleet (whole instances) and cost: its month-1 request rate grown by
#: ``growth`` over the requests/s one replica serves within the latency targets (tco.model.serving).
FLEET: Final = F.FLEET_ACCELERATORS.bind(
    replicas=F.REPLICAS.bind(requests_per_s=var("requests_per_s") * var("growth"))
)
SERVING_MONTH: Final = F.HELD_MONTH_COST.bind(billed_accelerators=FLEET)
SERVING_INPUTS: Final = (
    "requests_per_s", "min_replicas", "requests_per_s_per_replica", "replicas_per_instance",
    "accelerators_per_instance", "hours_per_month",
)  # fmt: skip
#: The columns project_serving takes from the purchase option (and prices it with): a serving model row
#: is projected on one option per (accelerator, instance size), so these come from the candidate's option.
SERVING_OPTION_COLUMNS: Final = (
    "provider", "region", "instance_type", "pricing_model", "billing", "interruptible",
    "price_usd_per_hour", "price_usd_per_accelerator_hour", "price_source", "price_date",
)  # fmt: skip
#: project_serving's columns priced at that option's prices (the plan prices each candidate itself).
_SERVING_PRICED: Final = (
    "utilisation", "cost_usd_per_month", "cost_usd_per_year", "cost_usd_per_1m_output_tokens",
    "cost_usd_per_1m_tokens", "cost_usd_per_1k_requests", "cost_usd_per_month_low",
    "cost_usd_per_month_high", "cost_usd_per_1m_output_tokens_low", "cost_usd_per_1m_output_tokens_high",
    "split_usd_per_1m_input_tokens", "split_usd_per_1m_output_tokens",
)  # fmt: skip


@dataclass(frozen=True)
class Candidates:
    """One kind's model rows and the candidates pairing them with purchase options.

    ``rows``: the model's rows (every column the model gives, plus ``prefix``, ``kind``, ``workload_index``
    into :attr:`Scenario.workloads`), in the workloads' order. A *shape* is a model row as costed: for
    training a row on steady or interruptible capacity (``shape_row`` maps it back), for serving the row.
    Per shape: ``feasible``, ``reason``, ``fixed_coef``, ``variable_coef`` and, for training,
    ``spot_time_factor``. Per candidate: ``shape``, ``option`` (the purchase option: an index into the
    options frame) and ``price_option`` (the option whose fixed and variable prices it pays; serving takes
    the first option of the same provider, region, instance type, pricing model and accelerator).
    """

    kind: str
    rows: pd.DataFrame
    shape_row: np.ndarray
    feasible: np.ndarray
    reason: np.ndarray
    fixed_coef: np.ndarray
    variable_coef: np.ndarray
    spot_time_factor: np.ndarray
    shape: np.ndarray
    option: np.ndarray
    price_option: np.ndarray

    @property
    def workload(self) -> np.ndarray:
        """The candidates' workload indices."""
        import numpy as np

        index = self.rows["workload_index"].to_numpy(dtype=np.int64)
        return np.asarray(index[self.shape_row[self.shape]])


def growth_factors(s: Scenario) -> np.ndarray:
    """Month ``m``'s growth factor, months 1..horizon (tco.model.formulas.GROWTH)."""
    import numpy as np

    months = np.arange(1, s.horizon_months + 1, dtype=float)
    return np.asarray(F.GROWTH.evaluate(growth_per_month=s.growth_per_month, month=months))


def _empty(kind: str) -> Candidates:
    import numpy as np
    import pandas as pd

    none = np.zeros(0, dtype=np.int64)
    nothing = np.zeros(0, dtype="float64")
    return Candidates(
        kind, pd.DataFrame({"workload_index": none, "accelerator": np.zeros(0, dtype=object)}), none,
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=object), nothing, nothing, nothing, none, none, none,
    )  # fmt: skip


def _join(left: pd.DataFrame, right: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the inner join of two frames on all their (same-named) columns: the left order kept,
    a left row's matches in the right's order (as :meth:`pandas.DataFrame.merge`)."""
    import numpy as np
    import pandas as pd

    from tco.model.training import join_indices

    both = pd.concat([left, right], ignore_index=True)
    codes = both.groupby(list(left.columns), sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)
    return join_indices(codes[: len(left)], codes[len(left) :])


def _interruptible(options: pd.DataFrame) -> np.ndarray:
    import numpy as np

    return np.asarray(options["interruptible"].fillna(False).astype(bool).to_numpy(), dtype=bool)


# ------------------------------------------------------------------------------------------------- training


def _batches(
    members: list[int], sets: Sequence[frozenset[str]], rows_per_accelerator: dict[str, int]
) -> list[list[int]]:
    """Split one group of training workloads that the model can take in one call (indices, each with its
    accelerator set) into calls: the workloads sharing a set that would waste the most rows in a call over
    the union of the sets get their own call, as long as that is more than :data:`CALL_ROWS` rows; a call
    holds at most :data:`CALL_ROWS_MAX` rows."""

    def rows(accelerators: frozenset[str]) -> int:
        return sum(rows_per_accelerator.get(a, 0) for a in accelerators)

    by_set: dict[frozenset[str], list[int]] = {}
    for i in members:
        by_set.setdefault(sets[i], []).append(i)
    calls: list[list[int]] = []
    while len(by_set) > 1:
        width = rows(frozenset().union(*by_set))
        split = max(by_set, key=lambda accelerators: len(by_set[accelerators]) * (width - rows(accelerators)))
        if len(by_set[split]) * (width - rows(split)) <= CALL_ROWS:
            break
        calls.append(by_set.pop(split))
    if by_set:
        calls.append(sorted(i for group in by_set.values() for i in group))
    out: list[list[int]] = []
    for call in calls:
        step = max(1, CALL_ROWS_MAX // max(1, rows(frozenset().union(*(sets[i] for i in call)))))
        out += [call[k : k + step] for k in range(0, len(call), step)]
    return out


def _training_workloads(
    s: Scenario, offered: set[str], by_framework: bool
) -> tuple[dict[int, dict[str, Any]], dict[tuple[str, float | None, int], list[int]]]:
    """The training workloads with an offer for one of their accelerators, as rows of the model's workload
    frame (a preset's shape, published batch and experts, as ``tco estimate train``), by index; and their
    indices grouped by what the model takes per call: the MFU override, the accelerator count and, when
    ``by_framework``, the framework (without calibrations the framework changes nothing: the model gives
    one row named ``any`` for all, so workloads of every framework share calls)."""
    from tco.presets import preset_workload

    presets: dict[str, dict[str, Any]] = {}
    records: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[str, float | None, int], list[int]] = {}
    for i, t in enumerate(s.training):
        if not offered.intersection(t.accelerators):
            continue
        record: dict[str, Any] = {"kind": "tokens", "params": t.parameters, "workload_source": ""}
        if t.model is not None:
            if t.model not in presets:
                presets[t.model] = preset_workload(t.model)
            record = dict(presets[t.model])
            record["workload_source"] = f"; model {record['workload_source']}"
        record.update(
            workload=t.name,
            tokens=t.tokens,
            dtype=t.dtype,
            recompute=t.recompute or "",
            global_batch_tokens=math.nan if t.global_batch_tokens is None else t.global_batch_tokens,
            workload_source=f"scenario {s.path.name}{record['workload_source']}",
        )
        records[i] = record
        groups.setdefault((t.framework if by_framework else "", t.mfu, t.accelerator_count), []).append(i)
    return records, groups


def _own_rows(
    frame: pd.DataFrame, index: dict[str, int], sets: Sequence[frozenset[str]], column: str
) -> pd.DataFrame:
    """The rows of one batched model call that belong to their workload: its accelerator is in that
    workload's own set (the call ran the union of the batch's sets), tagged ``column`` = the workload's
    index (``index``: workload name -> index)."""
    import numpy as np

    workload = frame["workload"].map(index).to_numpy(dtype=np.int64)
    accelerators = frame["accelerator"].tolist()
    own = np.array([a in sets[w] for w, a in zip(workload.tolist(), accelerators, strict=True)], dtype=bool)
    return frame[own].assign(**{column: workload[own]})


def _training_rows(
    s: Scenario,
    options: pd.DataFrame,
    calibrations: pd.DataFrame,
    assumptions: TrainingAssumptions,
) -> pd.DataFrame:
    """The performance rows (:func:`tco.model.training.training_performance`) of every training workload on
    each of its accelerators' (instance size, offer network), in the workloads' order, with
    ``workload_index``, ``prefix``, ``kind``, ``runs`` and ``acc_hours_per_run``."""
    import numpy as np
    import pandas as pd

    from tco.model.training import NETWORK, network_sizes, training_performance
    from tco.presets import hardware_table, load_mfu_defaults

    records, groups = _training_workloads(s, set(options["accelerator"]), not calibrations.empty)
    if not records:
        return pd.DataFrame()
    order = list(dict.fromkeys(options["accelerator"]))
    sets = [frozenset(t.accelerators) for t in s.training]
    sizes = network_sizes(options)
    per_accelerator = {str(k): int(v) for k, v in sizes.groupby("accelerator", sort=False).size().items()}
    hardware = hardware_table(tuple(sorted({a for i in records for a in s.training[i].accelerators})))
    mfu_defaults = load_mfu_defaults()
    parts = []
    for (_, mfu, count), members in groups.items():
        params = assumptions.with_overrides(mfu_override=mfu)
        framework = s.training[members[0]].framework
        for call in _batches(members, sets, per_accelerator):
            union = frozenset().union(*(sets[i] for i in call))
            perf = training_performance(
                pd.DataFrame([records[i] for i in call]),
                sizes[sizes["accelerator"].isin([a for a in order if a in union])],
                hardware[hardware["accelerator"].isin(union)],
                counts=[count],
                frameworks=[framework],
                mfu_defaults=mfu_defaults,
                calibrations=calibrations,
                assumptions=params,
            )
            index = {s.training[i].name: i for i in call}
            parts.append(_own_rows(perf, index, sets, "workload_index"))
    perf = pd.concat(parts, ignore_index=True).sort_values("workload_index", kind="stable")
    perf = perf.reset_index(drop=True)
    runs = np.array([t.runs_per_month for t in s.training], dtype="float64")
    perf["prefix"] = "t" + (perf["workload_index"] + 1).astype(str)
    perf["kind"] = "training"
    perf["runs"] = runs[perf["workload_index"].to_numpy(dtype=np.int64)]
    perf["acc_hours_per_run"] = perf["accelerator_count"] * perf["uninterrupted_wall_hours"]
    if NETWORK not in perf:
        perf[NETWORK] = np.nan
    return perf


def _training_key(frame: pd.DataFrame) -> pd.DataFrame:
    """What a performance row and an option join on: accelerator, instance size and offer network."""
    import numpy as np
    import pandas as pd

    from tco.model.training import NETWORK

    network = frame[NETWORK] if NETWORK in frame else pd.Series(np.nan, index=frame.index)
    return pd.DataFrame(
        {
            "accelerator": frame["accelerator"].astype(str).to_numpy(),
            "accelerators_per_instance": frame["accelerators_per_instance"].to_numpy(dtype="float64"),
            "network": network.fillna(-1.0).to_numpy(dtype="float64"),
        }
    )


def training_candidates(
    s: Scenario, options: pd.DataFrame, calibrations: pd.DataFrame, assumptions: TrainingAssumptions
) -> Candidates:
    """Every (training workload, option) candidate, with its feasibility and horizon cost coefficients.

    A shape is a performance row on steady (``2 * row``) or interruptible (``2 * row + 1``) capacity: the
    spot time factor (:func:`tco.model.purchase.spot_time_factor`), a ``max_days`` deadline and the
    interruption limit decide whether it is feasible, as the reason says."""
    import numpy as np

    from tco.model.purchase import run_costs, spot_time_factor

    perf = _training_rows(s, options, calibrations, assumptions)
    if perf.empty:
        return _empty("training")
    workload = perf["workload_index"].to_numpy(dtype=np.int64)
    row, option = _join(_training_key(perf), _training_key(options))
    interruptible = _interruptible(options)
    allowed = np.array([t.interruptible for t in s.training], dtype=bool)
    keep = ~interruptible[option] | allowed[workload[row]]
    row, option = row[keep], option[keep]
    shape = row * 2 + interruptible[option]

    at = np.repeat(np.arange(len(perf)), 2)
    flag = np.tile(np.array([False, True]), len(perf))
    wall = perf["uninterrupted_wall_hours"].to_numpy(dtype="float64")[at]
    count = perf["accelerator_count"].to_numpy(dtype="float64")[at]
    per_instance = perf["accelerators_per_instance"].to_numpy(dtype="float64")[at]
    spot = dict(
        interruptions_per_instance_hour=assumptions.spot_interruptions_per_instance_hour.value,
        checkpoint_interval_hours=assumptions.checkpoint_interval_hours.value,
        restart_hours=assumptions.restart_hours.value,
    )
    factor = np.where(flag, spot_time_factor(wall, count / per_instance, *spot.values()), 1.0)
    model_reason = perf["reason"].fillna("").astype(str).to_numpy(dtype=object)[at]
    accelerator = perf["accelerator"].astype(str).to_numpy(dtype=object)[at]
    usable = (
        np.isfinite(perf["peak_tflops"].to_numpy(dtype="float64")[at])
        & np.isfinite(perf["mfu"].to_numpy(dtype="float64")[at])
        & (model_reason == "")
    )
    dense = "no dense peak for " + accelerator + " " + perf["dtype"].astype(str).to_numpy(dtype=object)[at]
    reason = np.where(model_reason != "", model_reason, np.where(usable, "", dense))
    max_days = np.array([math.nan if t.max_days is None else t.max_days for t in s.training])[workload[at]]
    wall_days = wall * factor / 24.0
    with np.errstate(invalid="ignore"):
        late = usable & (wall_days > max_days)
    for k in np.flatnonzero(late):
        t = s.training[workload[at[k]]]
        reason[k] = (
            f"{float(np.round(wall_days[k], 1))} days on {t.accelerator_count}x{accelerator[k]} "
            f"> max_days {t.max_days:g}"
        )
    with np.errstate(invalid="ignore"):
        stalled = factor > assumptions.max_interruption_factor.value
    reason = np.where(stalled & (reason == ""), "spot interruptions stretch the run too much", reason)
    feasible = np.asarray(reason == "", dtype=bool)
    runs = perf["runs"].to_numpy(dtype="float64")[at]

    def month(growth: float, fixed: np.ndarray, variable: np.ndarray, live: np.ndarray) -> np.ndarray:
        costs = run_costs(
            wall[live],
            count[live],
            per_instance[live],
            fixed,
            variable,
            flag[live],
            runs[live] * growth,
            **spot,
        )
        return np.asarray(costs["cost_usd_per_month"])

    fixed_coef, variable_coef = _coefficients(s, shape, feasible, month)
    return Candidates(
        "training", perf, at, feasible, reason, fixed_coef, variable_coef, factor,
        *_narrow(shape, option, option),
    )  # fmt: skip


def _coefficients(
    s: Scenario,
    shape: np.ndarray,
    feasible: np.ndarray,
    month: Callable[[float, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Per shape: the horizon's cost at a unit fixed price and at a unit variable price, summing
    ``month(growth, fixed, variable, shapes)`` (the model's month cost of those shapes) over the months;
    zero for shapes no feasible candidate has."""
    import numpy as np

    fixed_coef = np.zeros(len(feasible))
    variable_coef = np.zeros(len(feasible))
    used = np.zeros(len(feasible), dtype=bool)
    used[shape] = True
    live = np.flatnonzero(used & feasible)
    one, zero = np.ones(live.size), np.zeros(live.size)
    for growth in growth_factors(s):
        fixed_coef[live] += month(float(growth), one, zero, live)
        variable_coef[live] += month(float(growth), zero, one, live)
    return fixed_coef, variable_coef


def _narrow(shape: np.ndarray, option: np.ndarray, price_option: np.ndarray) -> tuple[np.ndarray, ...]:
    """The candidates' index arrays, 4 bytes an entry (millions of candidates)."""
    import numpy as np

    return tuple(np.asarray(x, dtype=np.int32) for x in (shape, option, price_option))


# -------------------------------------------------------------------------------------------------- serving


def _serving_workloads(s: Scenario, aspect: float) -> list[dict[str, Any]]:
    """One project_serving workload row per endpoint: a preset's shape, or one inferred from the count."""
    import numpy as np
    import pandas as pd

    from tco.model.scaling import infer_shape
    from tco.model.units import DTYPE_BYTES, HOURS_PER_DAY, HOURS_PER_MONTH
    from tco.presets import SERVING_SHAPE, serving_preset

    bare = [v.parameters for v in s.serving if v.model is None]
    layers, hidden = infer_shape(pd.Series(bare, dtype="float64"), aspect)
    inferred = iter(zip(np.asarray(layers, dtype=float), np.asarray(hidden, dtype=float), strict=True))
    presets: dict[str, dict[str, Any]] = {}
    out = []
    for v in s.serving:
        if v.model is not None:  # the preset's shape, as `tco estimate serve` reads it
            if v.model not in presets:
                presets[v.model] = serving_preset(v.model)
            preset = presets[v.model]
            shape = {k: preset[k] for k in SERVING_SHAPE}
            shape_source = f"model {preset['workload_source']}"
        else:  # an assumption: the shape of a dense decoder of this size
            layer, width = next(inferred)
            shape = {
                "params": v.parameters,
                "active_params": v.parameters,
                "layers": float(layer),
                "hidden": float(width),
                "heads": max(1.0, float(width) / HEAD_DIM),
                "kv_heads": math.nan,
            }
            shape_source = f"shape inferred from the parameter count (h/L = {aspect:g}, {HEAD_DIM_SOURCE})"
        out.append(
            {
                "workload": v.name,
                **shape,
                "prompt_tokens": v.prompt_tokens_per_request,
                "output_tokens": v.output_tokens_per_request,
                "requests_per_s": v.requests_per_s,
                "ttft_s": v.ttft_s,
                "tpot_s": (v.latency_ms_per_token or math.inf) / 1000.0,
                "weight_bytes_per_param": DTYPE_BYTES[v.dtype],
                "kv_bytes_per_element": DTYPE_BYTES[v.dtype],
                "hours_per_day": v.hours_per_month * HOURS_PER_DAY / HOURS_PER_MONTH,
                "dtype": v.dtype,
                "workload_source": f"scenario {s.path.name}; {shape_source}",
            }
        )
    return out


def _serving_rows(
    s: Scenario, options: pd.DataFrame, calibrations: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """The replica projections (:func:`tco.model.serving.project_serving`) of every endpoint on each of its
    accelerators' instance sizes, by replica size and framework, in the endpoints' order, with
    ``workload_index``, ``prefix``, ``kind``, ``min_replicas``, ``hours_per_month``,
    ``replicas_per_instance`` and ``accelerator_count`` (no option's identity or price)."""
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions, as_default
    from tco.model.serving import project_serving
    from tco.model.throughput import FRAMEWORKS, resolve_serving_efficiency
    from tco.presets import hardware_table

    interruptible = _interruptible(options)
    offered = set(options["accelerator"])
    steady = set(options.loc[~interruptible, "accelerator"])
    order = list(dict.fromkeys(options["accelerator"]))
    sets = [frozenset(v.accelerators) for v in s.serving]
    rows = _serving_workloads(s, TrainingAssumptions().aspect_ratio.value)
    groups: dict[tuple[str, float | None, float | None], list[int]] = {}
    for j, v in enumerate(s.serving):
        if sets[j] & (offered if v.interruptible else steady):
            groups.setdefault((v.dtype, v.bandwidth_efficiency, v.flops_efficiency), []).append(j)
    if not groups:
        return pd.DataFrame()
    # one option per (accelerator, instance size): what a replica's projection reads of an option
    sized = options.drop_duplicates(["accelerator", "accelerators_per_instance"])
    a = assumptions
    parts = []
    for (dtype, bandwidth, flops), members in groups.items():
        union = frozenset().union(*(sets[j] for j in members))
        accelerators = [x for x in order if x in union]
        hardware = hardware_table(tuple(accelerators))
        efficiencies = resolve_serving_efficiency(
            accelerators,
            list(FRAMEWORKS),
            hardware,
            calibrations,
            dtype=dtype,
            mbu_default=as_default(a.mbu),
            flops_default=as_default(a.prefill_flops_efficiency),
            mbu_override=bandwidth,
            flops_override=flops,
        )
        frame = project_serving(
            pd.DataFrame([rows[j] for j in members]),
            sized[sized["accelerator"].isin(union)],
            hardware,
            efficiencies,
            replica_sizes=REPLICA_SIZES,
            assumptions=a,
        )
        index = {s.serving[j].name: j for j in members}
        parts.append(_own_rows(frame, index, sets, "endpoint"))
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.sort_values("endpoint", kind="stable").reset_index(drop=True)
    endpoint = frame["endpoint"].to_numpy(dtype=np.int64)
    frame = frame.drop(columns=[*SERVING_OPTION_COLUMNS, *_SERVING_PRICED, "endpoint"], errors="ignore")
    endpoints = s.serving
    frame["workload_index"] = endpoint + len(s.training)
    frame["prefix"] = "s" + (frame["workload_index"] - len(s.training) + 1).astype(str)
    frame["kind"] = "serving"
    frame["min_replicas"] = np.array([float(v.min_replicas) for v in endpoints])[endpoint]
    frame["hours_per_month"] = np.array([v.hours_per_month for v in endpoints])[endpoint]
    frame["replicas_per_instance"] = F.REPLICAS_PER_INSTANCE.evaluate(
        accelerators_per_instance=frame["accelerators_per_instance"],
        accelerators_per_replica=frame["accelerators_per_replica"],
    )
    frame["accelerator_count"] = frame["accelerators_per_replica"]
    frame["reason"] = frame["reason"].fillna("").astype(str)

    return frame


def serving_candidates(
    s: Scenario, options: pd.DataFrame, calibrations: pd.DataFrame, assumptions: ServingAssumptions
) -> Candidates:
    """Every (serving endpoint, option, replica size, framework) candidate, with its feasibility and horizon
    cost coefficients. Serving never lands on interruptible capacity unless the endpoint allows it."""
    import numpy as np
    import pandas as pd

    frame = _serving_rows(s, options, calibrations, assumptions)
    if frame.empty:
        return _empty("serving")
    endpoint = frame["workload_index"].to_numpy(dtype=np.int64) - len(s.training)
    interruptible = _interruptible(options)
    a = assumptions

    def key(table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "accelerator": table["accelerator"].astype(str).to_numpy(),
                "accelerators_per_instance": table["accelerators_per_instance"].to_numpy(dtype="float64"),
            }
        )

    row, option = _join(key(frame), key(options))
    allowed = np.array([v.interruptible for v in s.serving], dtype=bool)
    keep = ~interruptible[option] | allowed[endpoint[row]]
    row, option = row[keep], option[keep]
    # the fixed and variable prices: the first option with the same offer keys (as a merge on them)
    keys = ["provider", "region", "instance_type", "pricing_model", "accelerator"]
    code = options[keys].astype(object).groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    _, first = np.unique(code, return_index=True)
    price_option = first[code[option]]

    feasible = frame["feasible"].fillna(False).astype(bool).to_numpy()
    inputs = {c: frame[c].to_numpy(dtype="float64") for c in SERVING_INPUTS}

    def month(growth: float, fixed: np.ndarray, variable: np.ndarray, live: np.ndarray) -> np.ndarray:
        return SERVING_MONTH.evaluate(
            growth=growth,
            headroom=a.headroom.value,
            fixed_usd_per_accelerator_year=fixed,
            variable_usd_per_accelerator_hour=variable,
            **{c: values[live] for c, values in inputs.items()},
        )

    fixed_coef, variable_coef = _coefficients(s, row, feasible, month)
    return Candidates(
        "serving", frame, np.arange(len(frame)), feasible, frame["reason"].to_numpy(dtype=object), fixed_coef,
        variable_coef, np.ones(len(frame)), *_narrow(row, option, price_option),
    )  # fmt: skip
