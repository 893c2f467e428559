"""The month-by-month budget of a scenario, per option, and the cheapest plan meeting its constraints.

An *option* is a (provider, region) relationship; within it each workload takes the cheapest feasible
(accelerator, instance, purchase model) its scenario allows (owned servers included when ``options.owned``).
Serving never lands on spot unless the endpoint says ``interruptible = true``.

The plan has no throughput or ownership model of its own: every number comes from :mod:`tco.model`, the
same functions ``tco estimate`` uses, so the two agree for the same workload, price and count:

* training: :func:`tco.model.training.training_performance` (work from :mod:`tco.model.work`, MFU from
  calibrations or ``tco/data/mfu_defaults.csv`` via :mod:`tco.model.throughput`, scaling efficiency from the
  communication model, goodput), then per month :func:`tco.model.purchase.run_costs`, as ``tco estimate
  train``, with the month's grown run count::

      wall_hours  = train_flops / (accelerators * peak_tflops * 1e12 * mfu * scaling * goodput) / 3600
      runs(m)     = runs_per_month * (1+growth)^(m-1)
      paid_hours  = wall_hours [* spot_time_factor]
      clusters(m) = MAX(1, ROUNDUP(runs(m) * paid_hours / 730))       (paid for commitments and owned)
      cost(m)     = clusters(m) * billed * fixed/12 + variable * billed * paid_hours * runs(m)

  (``billed`` = whole instances x accelerators per instance);
* serving: :func:`tco.model.serving.project_serving` sizes a replica as ``tco estimate serve`` does (tensor
  parallel size, engine, the requests/s it serves with p99 TTFT and TPOT within the targets), then per
  month :func:`tco.model.purchase.held_month_cost`::

      replicas(m)  = MAX(min_replicas, ROUNDUP(requests_per_s * (1+growth)^(m-1) * (1+headroom)
                                               / requests_per_s_per_replica))
      held(m)      = ROUNDUP(replicas(m) / replicas_per_instance) * accelerators_per_instance
      cost(m)      = held(m) * (fixed/12 + variable * hours_per_month)

* prices: ``fixed`` ($/accelerator-year, paid whether used or not) and ``variable`` ($/used accelerator-hour)
  are the model's split (:mod:`tco.model.offers`): on-demand and spot pay the list price per used hour,
  commitments the list price for every hour of the year (:func:`tco.model.purchase.price_split`),
  owned servers their fixed and variable parts from :mod:`tco.model.ownership` (no stated utilisation: the
  held servers and used hours decide it);
* fixed items: storage(m) = storage_tb * (1+growth)^(m-1) * usd_per_tb_month; egress(m) = egress_tb * 1000 *
  (1+growth)^(m-1) * usd_per_gb; tooling(m) = tooling_usd_per_month; people(m) = fte * usd_per_fte_year / 12.

Each formula above is one definition of :mod:`tco.model.formulas` (``WALL_HOURS``, ``RUN_MONTH_COST``,
``REPLICAS``, ``FLEET_ACCELERATORS``, ``HELD_MONTH_COST``, ``GROWTH``, the fixed items): the budget evaluates
it on arrays, and the workbook's templates are the same definition written over the Assumptions sheet
(``{key}`` = an assumption, ``{m}`` = the month number), so the XLSX export stays live and cannot drift;
tests recalculate it in LibreOffice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.model import formulas as F
from tco.model.assumptions import AssumptionRows, network_tag
from tco.model.formula import Expr, var
from tco.plan.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.assumptions import Assumption, ServingAssumptions, TrainingAssumptions

FIXED_ITEMS: Final = ("storage", "egress", "tooling", "people")
#: Replica sizes (tensor parallel) tried for serving, as ``tco estimate serve``'s default.
REPLICA_SIZES: Final = (1, 2, 4, 8)
#: Attention head dimension when a serving endpoint names only its parameter count.
HEAD_DIM: Final = 128.0
HEAD_DIM_SOURCE: Final = "head dimension 128 (LLaMA family; docs/projection_model.md §2.2)"

#: The fixed items' month-``m`` cost (tco.model.formulas, grown where the quantity grows).
_FIXED_FORMULAS: Final[dict[str, Expr]] = {
    "storage": F.grown(F.STORAGE_USD_PER_MONTH, "storage_tb"),
    "egress": F.grown(F.EGRESS_USD_PER_MONTH, "egress_tb_per_month"),
    "tooling": var("tooling_usd_per_month"),
    "people": F.PEOPLE_USD_PER_MONTH,
}
#: A serving endpoint's month-``m`` fleet (whole instances) and cost: its month-1 request rate grown by
#: ``growth`` over the requests/s one replica serves within the latency targets (tco.model.serving).
_FLEET: Final = F.FLEET_ACCELERATORS.bind(
    replicas=F.REPLICAS.bind(requests_per_s=var("requests_per_s") * var("growth"))
)
_SERVING_MONTH: Final = F.HELD_MONTH_COST.bind(billed_accelerators=_FLEET)
_SERVING_INPUTS: Final = (
    "requests_per_s", "min_replicas", "requests_per_s_per_replica", "replicas_per_instance",
    "accelerators_per_instance", "hours_per_month",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything a renderer needs; frames only, no terminal."""

    scenario: Scenario
    #: key, section, description, value, unit, source, formula (template or None)
    assumptions: pd.DataFrame
    #: rank, provider, region, total_usd, month1_usd, feasible workloads ...
    options: pd.DataFrame
    #: provider, region, workload, kind, accelerator, pricing_model, instance_type,
    #: price_usd_per_accelerator_hour,
    #: price_key, template (cost in month {m}), total_usd, throughput_source, price_source, price_date, ...
    choices: pd.DataFrame
    #: month, <workload>_usd..., storage_usd, egress_usd, tooling_usd, people_usd, total_usd (cheapest option)
    budget: pd.DataFrame
    #: option, month, workload, accelerator, pricing_model, acc_hours, cost_usd (every kept option's choices)
    acc_hours: pd.DataFrame
    #: fixed item -> template for month {m}
    fixed_templates: dict[str, str]
    #: notes for the reader (missing offers, dropped workloads)
    notes: tuple[str, ...]

    @property
    def best(self) -> pd.Series:
        return self.options.iloc[0]


def _key(*parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def _training_rows(
    s: Scenario, options: pd.DataFrame, calibrations: pd.DataFrame, assumptions: TrainingAssumptions
) -> pd.DataFrame:
    """One row per (training workload, option) from the projection model."""
    import numpy as np
    import pandas as pd

    from tco.model.offers import NETWORK_COLUMNS
    from tco.model.purchase import spot_time_factor
    from tco.model.training import NETWORK, network_sizes, training_performance
    from tco.presets import hardware_table, load_mfu_defaults, preset_workload

    parts = []
    for i, t in enumerate(s.training, start=1):
        opts = options[options["accelerator"].isin(t.accelerators)]
        if opts.empty:
            continue
        row: dict[str, Any] = {"kind": "tokens", "params": t.parameters, "workload_source": ""}
        if t.model is not None:  # the preset's shape, published batch and experts, as `tco estimate train`
            row = preset_workload(t.model)
            row["workload_source"] = f"; model {row['workload_source']}"
        row.update(
            workload=t.name,
            tokens=t.tokens,
            dtype=t.dtype,
            recompute=t.recompute or "",
            global_batch_tokens=math.nan if t.global_batch_tokens is None else t.global_batch_tokens,
            workload_source=f"scenario {s.path.name}{row['workload_source']}",
        )
        workload = pd.DataFrame([row])
        params = assumptions.with_overrides(mfu_override=t.mfu)
        perf = training_performance(
            workload,
            network_sizes(opts),
            hardware_table(list(t.accelerators)),
            counts=[t.accelerator_count],
            frameworks=[t.framework],
            mfu_defaults=load_mfu_defaults(),
            calibrations=calibrations,
            assumptions=params,
        )
        perf = perf.assign(prefix=f"t{i}", kind="training", runs=t.runs_per_month)
        # the offer's network is a key of the performance rows (tco.model.training.NETWORK)
        joined = perf.assign(_net=perf[NETWORK].fillna(-1.0)).merge(
            opts.drop(columns=list(NETWORK_COLUMNS), errors="ignore").assign(
                _net=opts[NETWORK].fillna(-1.0) if NETWORK in opts else -1.0
            ),
            on=["accelerator", "accelerators_per_instance", "_net"],
        )
        joined = joined[joined["interruptible"].eq(False) | t.interruptible]
        wall = joined["uninterrupted_wall_hours"].to_numpy(dtype="float64")
        instances = joined["accelerator_count"] / joined["accelerators_per_instance"]
        factor = spot_time_factor(
            wall,
            instances.to_numpy(dtype="float64"),
            params.spot_interruptions_per_instance_hour.value,
            params.checkpoint_interval_hours.value,
            params.restart_hours.value,
        )
        joined["spot_time_factor"] = np.where(joined["interruptible"].astype(bool), factor, 1.0)
        joined["acc_hours_per_run"] = joined["accelerator_count"] * joined["uninterrupted_wall_hours"]
        wall_days = wall * joined["spot_time_factor"] / 24.0
        usable = np.isfinite(joined["peak_tflops"]) & np.isfinite(joined["mfu"]) & joined["reason"].eq("")
        reason = np.where(
            joined["reason"].ne(""),
            joined["reason"],
            np.where(usable, "", "no dense peak for " + joined["accelerator"] + " " + joined["dtype"]),
        )
        if t.max_days is not None:
            late = usable & (wall_days > t.max_days)
            reason = np.where(
                late,
                wall_days.round(1).astype(str)
                + f" days on {t.accelerator_count}x"
                + joined["accelerator"]
                + f" > max_days {t.max_days:g}",
                reason,
            )
        stalled = joined["spot_time_factor"] > params.max_interruption_factor.value
        reason = np.where(stalled & (reason == ""), "spot interruptions stretch the run too much", reason)
        joined["reason"] = reason
        joined["feasible"] = joined["reason"].eq("")
        parts.append(joined)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _serving_rows(
    s: Scenario, options: pd.DataFrame, calibrations: pd.DataFrame, assumptions: ServingAssumptions
) -> pd.DataFrame:
    """One row per (serving endpoint, option, replica size, framework) from the projection model."""
    import pandas as pd

    from tco.model.assumptions import TrainingAssumptions, as_default
    from tco.model.scaling import infer_shape
    from tco.model.serving import project_serving
    from tco.model.throughput import FRAMEWORKS, resolve_serving_efficiency
    from tco.model.units import DTYPE_BYTES, HOURS_PER_DAY, HOURS_PER_MONTH
    from tco.presets import SERVING_SHAPE, hardware_table, serving_preset

    aspect = TrainingAssumptions().aspect_ratio.value
    parts = []
    for j, v in enumerate(s.serving, start=1):
        opts = options[options["accelerator"].isin(v.accelerators)]
        if not v.interruptible:
            opts = opts[~opts["interruptible"].astype(bool)]
        if opts.empty:
            continue
        if v.model is not None:  # the preset's shape, as `tco estimate serve` reads it
            preset = serving_preset(v.model)
            shape = {k: preset[k] for k in SERVING_SHAPE}
            shape_source = f"model {preset['workload_source']}"
        else:  # an assumption: the shape of a dense decoder of this size
            layers, hidden = infer_shape(pd.Series([v.parameters]), aspect)
            shape = {
                "params": v.parameters,
                "active_params": v.parameters,
                "layers": float(layers.iloc[0]),
                "hidden": float(hidden.iloc[0]),
                "heads": max(1.0, float(hidden.iloc[0]) / HEAD_DIM),
                "kv_heads": math.nan,
            }
            shape_source = f"shape inferred from the parameter count (h/L = {aspect:g}, {HEAD_DIM_SOURCE})"
        workload = pd.DataFrame(
            [
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
            ]
        )
        accelerators = list(dict.fromkeys(opts["accelerator"]))
        hardware = hardware_table(accelerators)
        a = assumptions
        efficiencies = resolve_serving_efficiency(
            accelerators,
            list(FRAMEWORKS),
            hardware,
            calibrations,
            dtype=v.dtype,
            mbu_default=as_default(a.mbu),
            flops_default=as_default(a.prefill_flops_efficiency),
            mbu_override=v.bandwidth_efficiency,
            flops_override=v.flops_efficiency,
        )
        frame = project_serving(
            workload, opts, hardware, efficiencies, replica_sizes=REPLICA_SIZES, assumptions=a
        )
        frame = frame.assign(
            prefix=f"s{j}",
            kind="serving",
            min_replicas=float(v.min_replicas),
            hours_per_month=v.hours_per_month,
            replicas_per_instance=F.REPLICAS_PER_INSTANCE.evaluate(
                accelerators_per_instance=frame["accelerators_per_instance"],
                accelerators_per_replica=frame["accelerators_per_replica"],
            ),
            accelerator_count=frame["accelerators_per_replica"],
        )
        frame["reason"] = frame["reason"].fillna("").astype(str)
        # the two prices tco.model.purchase charges (the serving output carries only the list price)
        keys = ["provider", "region", "instance_type", "pricing_model", "accelerator"]
        wanted = ["interruptible", "fixed_usd_per_accelerator_year", "variable_usd_per_accelerator_hour"]
        split = opts[[*keys, *(c for c in wanted if c not in frame.columns)]]
        frame = frame.merge(split.drop_duplicates(keys), on=keys, how="left", validate="many_to_one")
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def build_plan(
    scenario: Scenario,
    options: pd.DataFrame,
    *,
    calibrations: pd.DataFrame | None = None,
    keep_options: int = 10,
    notes: tuple[str, ...] = (),
) -> PlanResult:
    """Budget ``scenario`` over every (provider, region) in ``options``; rank; keep the top ones.

    ``options``: the purchase options the scenario allows (:data:`tco.model.offers.OPTION_COLUMNS`, owned
    servers offered within each (provider, region); :func:`tco.api.planning.plan` resolves them).
    ``calibrations``: calibration results (may be empty or None). ``notes``: said before the plan's own.
    """
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions, TrainingAssumptions
    from tco.model.purchase import run_costs
    from tco.model.throughput import empty_calibrations

    s = scenario
    cal = empty_calibrations() if calibrations is None else calibrations
    training_assumptions = TrainingAssumptions()
    serving_assumptions = ServingAssumptions()
    said = list(notes)
    train = _training_rows(s, options, cal, training_assumptions)
    serve = _serving_rows(s, options, cal, serving_assumptions)
    pairs = pd.concat([f for f in (train, serve) if len(f)], ignore_index=True)
    for column in (
        "runs", "acc_hours_per_run", "spot_time_factor", "min_replicas", "requests_per_s", "output_tokens",
        "requests_per_s_per_replica", "replicas_per_instance", "hours_per_month", "uninterrupted_wall_hours",
    ):  # fmt: skip
        if column not in pairs:
            pairs[column] = np.nan  # a plan with only training (or only serving) workloads
    bad = pairs[~pairs["feasible"].astype(bool)]
    for name in s.workloads:
        ok = pairs["workload"].eq(name) & pairs["feasible"].astype(bool)
        if not ok.any():
            why = sorted(set(bad.loc[bad["workload"] == name, "reason"].astype(str)))[:3]
            raise TcoError(
                f"workload {name!r} fits none of its accelerators: " + "; ".join(why or ["no offer"])
            )
    for (w, a), reasons in bad.groupby(["workload", "accelerator"])["reason"]:
        if not pairs[(pairs["workload"] == w) & (pairs["accelerator"] == a)]["feasible"].astype(bool).any():
            said.append(f"{w} on {a}: {sorted(set(reasons.astype(str)))[0]}")
    # one block per dtype again (the projections' frames are built column by column)
    pairs = pairs[pairs["feasible"].astype(bool)].reset_index(drop=True).copy()
    pairs["pair"] = np.arange(len(pairs))

    # ----------------------------------------------------------------- cost of every candidate, every month
    months = pd.DataFrame({"month": np.arange(1, s.horizon_months + 1, dtype=float)})
    months["factor"] = F.GROWTH.evaluate(growth_per_month=s.growth_per_month, month=months["month"])
    grid = pairs.merge(months, how="cross").copy()
    is_train = grid["kind"].eq("training").to_numpy()
    fixed_year = grid["fixed_usd_per_accelerator_year"].to_numpy(dtype="float64")
    variable_hour = grid["variable_usd_per_accelerator_hour"].to_numpy(dtype="float64")
    # training: tco.model.purchase.run_costs, as `tco estimate train`, with the month's grown run count;
    # commitments and owned hardware pay for the clusters held (max(1, ceil(hours/730))) whether used or not
    trained = run_costs(
        grid["uninterrupted_wall_hours"].to_numpy(dtype="float64"),
        grid["accelerator_count"].to_numpy(dtype="float64"),
        grid["accelerators_per_instance"].to_numpy(dtype="float64"),
        fixed_year,
        variable_hour,
        grid["interruptible"].fillna(False).to_numpy(dtype=bool),
        (grid["runs"] * grid["factor"]).to_numpy(dtype="float64"),
        interruptions_per_instance_hour=training_assumptions.spot_interruptions_per_instance_hour.value,
        checkpoint_interval_hours=training_assumptions.checkpoint_interval_hours.value,
        restart_hours=training_assumptions.restart_hours.value,
    )
    train_hours = trained["accelerator_hours"] * (grid["runs"] * grid["factor"]).to_numpy(dtype="float64")
    # serving: the month's replicas on whole instances, held all month (tco.model.formulas.HELD_MONTH_COST)
    serving = {
        "growth": grid["factor"],
        "headroom": serving_assumptions.headroom.value,
        **{c: grid[c] for c in _SERVING_INPUTS},
        "fixed_usd_per_accelerator_year": fixed_year,
        "variable_usd_per_accelerator_hour": variable_hour,
    }
    held = _FLEET.evaluate(**{k: v for k, v in serving.items() if k in _FLEET.names})
    served = _SERVING_MONTH.evaluate(**serving)
    serve_hours_per_month = grid["hours_per_month"].to_numpy(dtype="float64")
    grid["acc_hours"] = np.where(is_train, train_hours, held * serve_hours_per_month)
    grid["cost_usd"] = np.where(is_train, trained["cost_usd_per_month"], served)
    totals = grid.groupby("pair")["cost_usd"].sum()
    pairs["total_usd"] = pairs["pair"].map(totals)
    pairs = pairs.sort_values(["total_usd", "accelerator", "pricing_model", "instance_type"], kind="stable")
    chosen = pairs.drop_duplicates(["provider", "region", "workload"])
    complete = chosen.groupby(["provider", "region"])["workload"].transform("nunique") == len(s.workloads)
    dropped = chosen.loc[~complete, ["provider", "region"]].drop_duplicates()
    chosen = chosen[complete]
    if chosen.empty:
        raise TcoError(
            "no (provider, region) offers every workload an accelerator",
            hint="widen [options] or the accelerators",
        )
    if len(dropped):
        said.append(
            f"{len(dropped)} (provider, region) options lack an offer for some workload and are left out"
        )

    # ----------------------------------------------------------------- assumptions and fixed costs
    book = AssumptionRows()
    src = f"scenario {s.path.name}"
    book.add("horizon_months", "Scenario", "planning horizon", s.horizon_months, "months", src)
    book.add(
        "growth_per_month",
        "Scenario",
        "growth of runs, traffic, storage and egress per month",
        s.growth_per_month,
        "fraction",
        src,
    )
    c = s.costs
    fixed_specs = (
        ("storage_tb", "stored data (month 1)", "TB"),
        ("storage_usd_per_tb_month", "storage price", "$/TB-month"),
        ("egress_tb_per_month", "egress (month 1)", "TB/month"),
        ("egress_usd_per_gb", "egress price", "$/GB"),
        ("tooling_usd_per_month", "tooling and services", "$/month"),
        ("people_fte", "people", "FTE"),
        ("usd_per_fte_year", "loaded cost per FTE", "$/year"),
    )
    for name, desc, unit in fixed_specs:
        book.add(_key("costs", name), "Fixed costs", desc, float(getattr(c, name)), unit, src)
    fixed_templates = {
        item: formula.excel(growth_per_month="{growth_per_month}", month="{m}", **_cost_keys(formula))
        for item, formula in _FIXED_FORMULAS.items()
    }
    f = months["month"].to_numpy(dtype="float64")
    fixed = pd.DataFrame({"month": months["month"].astype(int)})
    for item, formula in _FIXED_FORMULAS.items():
        values = {name: float(getattr(c, name)) for name in formula.names if hasattr(c, name)}
        fixed[item] = formula.evaluate(growth_per_month=s.growth_per_month, month=f, **values) + 0.0 * f
    fixed_total = float(fixed[list(FIXED_ITEMS)].to_numpy().sum())

    # ----------------------------------------------------------------- rank options
    ranked = (
        chosen.groupby(["provider", "region"], sort=False)["total_usd"]
        .sum()
        .rename("compute_usd")
        .reset_index()
    )
    ranked["total_usd"] = ranked["compute_usd"] + fixed_total
    ranked = ranked.sort_values(["total_usd", "provider", "region"], kind="stable").reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    ranked["option"] = ranked["provider"] + " " + ranked["region"]
    kept = ranked.head(keep_options)
    chosen = kept[["provider", "region", "option", "rank"]].merge(chosen, on=["provider", "region"])
    chosen = chosen.sort_values(["rank", "kind", "workload"], kind="stable").reset_index(drop=True)
    label = chosen["accelerator"] + " " + chosen["pricing_model"]
    for name in s.workloads:
        picks = dict(
            zip(
                chosen.loc[chosen["workload"] == name, "option"],
                label[chosen["workload"] == name],
                strict=True,
            )
        )
        kept = kept.assign(**{f"{name} choice": kept["option"].map(picks)})

    goodput = training_assumptions.goodput
    templates, price_keys = [], []
    for rec in chosen.to_dict("records"):
        r = {str(k): v for k, v in rec.items()}
        prices = _prices(book, s, r)
        price_keys.append(prices[0])
        if r["kind"] == "training":
            templates.append(_training_template(book, s, r, goodput, prices))
        else:
            templates.append(_serving_template(book, s, r, serving_assumptions, prices))
    chosen = chosen.assign(price_key=price_keys, template=templates)

    # month-by-month: every kept option (for charts) and the cheapest one per workload (the budget)
    kept_grid = chosen[["option", "pair"]].merge(
        grid[["pair", "month", "workload", "accelerator", "pricing_model", "acc_hours", "cost_usd"]],
        on="pair",
    )
    best = kept_grid[kept_grid["option"] == kept["option"].iloc[0]]
    wide = best.pivot_table(index="month", columns="workload", values="cost_usd", aggfunc="sum")
    budget = fixed[["month"]].copy()
    for name in s.workloads:
        budget[f"{name}_usd"] = wide[name].to_numpy()
    for item in FIXED_ITEMS:
        budget[f"{item}_usd"] = fixed[item].to_numpy()
    budget["total_usd"] = budget[[f"{n}_usd" for n in (*s.workloads, *FIXED_ITEMS)]].sum(axis=1)
    acc_hours = kept_grid[
        ["option", "month", "workload", "accelerator", "pricing_model", "acc_hours", "cost_usd"]
    ]

    columns = [
        "rank",
        "option",
        "provider",
        "region",
        "workload",
        "kind",
        "accelerator",
        "accelerator_count",
        "accelerators_per_instance",
        "pricing_model",
        "instance_type",
        "price_usd_per_accelerator_hour",
        "price_key",
        "template",
        "total_usd",
        "acc_hours_per_run",
        "tokens_per_s_per_replica",
        "requests_per_s_per_replica",
        "throughput_source",
        "price_source",
        "price_date",
    ]
    for column in columns:
        if column not in chosen:
            chosen[column] = np.nan
    return PlanResult(
        s,
        book.frame(),
        kept.reset_index(drop=True),
        chosen[columns],
        budget,
        acc_hours.reset_index(drop=True),
        fixed_templates,
        tuple(said),
    )


def _prices(book: AssumptionRows, s: Scenario, r: dict[str, Any]) -> tuple[str, str, str]:
    """The option's price key and its fixed ($/acc-year) and variable ($/acc-h) templates: a cloud list price
    split by billing kind (:func:`tco.model.purchase.price_split`), or the ownership model's parts
    (:mod:`tco.model.formulas`) over the server's parameters."""
    from tco.model.purchase import price_split

    if r["pricing_model"] != "owned":
        key = book.add(
            _key("price", r["provider"], r["region"], r["instance_type"], r["pricing_model"]),
            "Prices",
            f"{r['provider']} {r['region']} {r['instance_type']} {r['pricing_model']} per accelerator-hour "
            f"({r['accelerator']})",
            float(r["price_usd_per_accelerator_hour"]),
            "$/acc-h",
            f"{r['price_source']}; as of {r['price_date']}",
        )
        ref = "{" + key + "}"
        fixed_price, variable_price = price_split(str(r["billing"]))
        return (
            key,
            fixed_price.excel(price_usd_per_accelerator_hour=ref),
            variable_price.excel(price_usd_per_accelerator_hour=ref),
        )
    server = s.ownership[str(r["accelerator"])]
    base = _key("own", r["accelerator"])
    fixed, variable = book.owned_prices(
        str(r["accelerator"]),
        server.params,
        fixed=float(r["fixed_usd_per_accelerator_year"]),
        variable=float(r["variable_usd_per_accelerator_hour"]),
    )
    derived = "derived: tco.model.formulas (docs/projection_model.md §5.1)"
    key = book.add(
        _key(base, "price_usd_per_accelerator_hour"),
        "Owned hardware",
        f"owned {r['accelerator']} cost per accelerator-hour at 100% use (shown; the budget charges the "
        "fixed part per held accelerator and the variable part per used hour)",
        float(r["price_usd_per_accelerator_hour"]),
        "$/acc-h",
        derived,
        F.OWNED_LIST_USD_PER_ACCELERATOR_HOUR.excel(
            fixed_usd_per_accelerator_year=fixed, variable_usd_per_accelerator_hour=variable
        ),
    )
    return key, fixed, variable


def _training_template(
    book: AssumptionRows, s: Scenario, r: dict[str, Any], goodput: Assumption, prices: tuple[str, str, str]
) -> str:
    p = str(r["prefix"])
    t = s.training[int(p[1:]) - 1]
    a, per = r["accelerator"], f"x{r['accelerators_per_instance']:g}"
    src = f"scenario {s.path.name}"
    runs = book.add(
        _key(p, "runs_per_month"), t.name, "runs per month (month 1)", t.runs_per_month, "runs", src
    )
    inputs = book.wall_hours_inputs(r, prefix=p, section=t.name)
    gk = book.add(
        "goodput", "Model", "goodput (restarts, evals, stragglers)", goodput.value, "fraction", goodput.source
    )
    count = book.add(
        _key(p, "accelerator_count"),
        t.name,
        "accelerators per run (the scaling efficiency is computed at this count)",
        float(t.accelerator_count),
        "accelerators",
        src,
    )
    wall = book.add(
        _key(p, a, per, "wall_hours") + network_tag(r),
        t.name,
        f"wall hours per run on {t.accelerator_count} x {a} (without interruptions)",
        float(r["uninterrupted_wall_hours"]),
        "h",
        "derived: tco.model.formulas.WALL_HOURS, FLOPs / (accelerators x peak x MFU x scaling x goodput)",
        F.WALL_HOURS.bind(rate_per_accelerator=F.FLOP_RATE).excel(
            **{name: f"{{{key}}}" for name, key in inputs.items()},
            accelerators=f"{{{count}}}",
            goodput=f"{{{gk}}}",
        ),
    )
    apx = _instance_size(book, r)
    paid = f"{{{wall}}}"
    if r["spot_time_factor"] != 1.0:
        spot = book.add(
            _key(p, a, per, r["pricing_model"], "spot_time_factor") + network_tag(r),
            t.name,
            f"{r['pricing_model']} time factor (interruptions and restarts)",
            float(r["spot_time_factor"]),
            "x",
            "tco.model.formulas.SPOT_TIME_FACTOR (Daly 2006) at the named spot assumptions "
            "(tco estimate assumptions)",
        )
        paid += f"*{{{spot}}}"
    _, fixed, variable = prices
    return F.RUN_MONTH_COST.excel(
        paid_wall_hours=paid,
        runs_per_month=var("month_1_runs") * F.GROWTH,
        billed_accelerators=F.BILLED_ACCELERATORS,
        accelerator_count=f"{{{count}}}",
        accelerators_per_instance=f"{{{apx}}}",
        fixed_usd_per_accelerator_year=fixed,
        variable_usd_per_accelerator_hour=variable,
        month_1_runs=f"{{{runs}}}",
        **_growth_refs(),
    )


def _instance_size(book: AssumptionRows, r: dict[str, Any]) -> str:
    """The row's accelerators per instance (the price offer's instance size) as an input."""
    accelerator, per = r["accelerator"], r["accelerators_per_instance"]
    return book.add(
        _key("instance", accelerator, f"x{per:g}"), "Accelerators", f"{accelerator} per instance", float(per),
        "accelerators", "price offer (instance size)",
    )  # fmt: skip


def _growth_refs() -> dict[str, str]:
    return {"growth_per_month": "{growth_per_month}", "month": "{m}"}


def _cost_keys(formula: Expr) -> dict[str, str]:
    """The scenario's [costs] cells a fixed item's formula reads."""
    return {name: f"{{costs.{name}}}" for name in formula.names if name not in ("growth_per_month", "month")}


def _serving_template(
    book: AssumptionRows,
    s: Scenario,
    r: dict[str, Any],
    a: ServingAssumptions,
    prices: tuple[str, str, str],
) -> str:
    p = str(r["prefix"])
    v = s.serving[int(p[1:]) - 1]
    acc, t, per = (
        r["accelerator"],
        f"t{r['accelerators_per_replica']:g}",
        f"x{r['accelerators_per_instance']:g}",
    )
    src = f"scenario {s.path.name}"
    book.add(
        _key(p, "requests_per_s"), v.name, "requests per second (month 1)", v.requests_per_s, "req/s", src
    )
    book.add(_key(p, "hours_per_month"), v.name, "hours served per month", v.hours_per_month, "h", src)
    book.add(_key(p, "min_replicas"), v.name, "minimum replicas", float(v.min_replicas), "replicas", src)
    book.add(
        "headroom",
        "Model",
        "spare replica capacity over the request rate",
        a.headroom.value,
        "fraction",
        a.headroom.source,
    )
    rps = book.add(
        _key(p, acc, t, "requests_per_s_per_replica"),
        v.name,
        f"requests/s per {r['accelerators_per_replica']:g} x {acc} replica within the targets "
        f"({r['tokens_per_s_per_replica']:,.0f} output tokens/s of {v.output_tokens_per_request:g}-token "
        f"answers; {r['engine_label']}, batch {r['batch_size']:.3g}, p99 TTFT {r['ttft_s']:.3g} s, "
        f"p99 TPOT {r['tpot_s'] * 1000:.3g} ms)",
        float(r["requests_per_s_per_replica"]),
        "req/s",
        f"tco.model.serving ({r['throughput_source']}; {r['workload_source']}; MBU {r['mbu']:g}: "
        f"{r['mbu_source']}; "
        "prefill efficiency "
        f"{r['prefill_flops_efficiency']:g}: {r['prefill_flops_efficiency_source']})",
    )
    rpi = book.add(
        _key(p, acc, t, per, "replicas_per_instance"),
        v.name,
        f"replicas per {per} instance",
        float(r["replicas_per_instance"]),
        "replicas",
        "instance accelerators / replica accelerators (whole replicas per instance)",
    )
    apx = _instance_size(book, r)
    _, fixed, variable = prices
    return _SERVING_MONTH.excel(
        growth=F.GROWTH,
        headroom="{headroom}",
        requests_per_s=f"{{{p}.requests_per_s}}",
        min_replicas=f"{{{p}.min_replicas}}",
        requests_per_s_per_replica=f"{{{rps}}}",
        replicas_per_instance=f"{{{rpi}}}",
        accelerators_per_instance=f"{{{apx}}}",
        hours_per_month=f"{{{p}.hours_per_month}}",
        fixed_usd_per_accelerator_year=fixed,
        variable_usd_per_accelerator_hour=variable,
        **_growth_refs(),
    )
