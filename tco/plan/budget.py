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

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.model import formulas as F
from tco.model.assumptions import AssumptionRows, network_tag
from tco.model.formula import Expr, var
from tco.plan.candidates import (
    FLEET,
    SERVING_INPUTS,
    SERVING_MONTH,
    SERVING_OPTION_COLUMNS,
    Candidates,
)
from tco.plan.scenario import Scenario

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import Assumption, ServingAssumptions, TrainingAssumptions
    from tco.model.ownership import OwnershipParams

FIXED_ITEMS: Final = ("storage", "egress", "tooling", "people")

#: The fixed items' month-``m`` cost (tco.model.formulas, grown where the quantity grows).
_FIXED_FORMULAS: Final[dict[str, Expr]] = {
    "storage": F.grown(F.STORAGE_USD_PER_MONTH, "storage_tb"),
    "egress": F.grown(F.EGRESS_USD_PER_MONTH, "egress_tb_per_month"),
    "tooling": var("tooling_usd_per_month"),
    "people": F.PEOPLE_USD_PER_MONTH,
}


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything a renderer needs; frames only, no terminal."""

    scenario: Scenario
    #: key, section, description, value, unit, source, formula (template or None); without templates
    #: (``build_plan(templates=False)``) the scenario's and the fixed costs' rows only
    assumptions: pd.DataFrame
    #: rank, provider, region, total_usd, month1_usd, feasible workloads ...
    options: pd.DataFrame
    #: provider, region, workload, kind, accelerator, pricing_model, instance_type,
    #: price_usd_per_accelerator_hour,
    #: price_key, template (cost in month {m}; both None without templates), total_usd, throughput_source,
    #: price_source, price_date, ...
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
    return ".".join(map(str, parts))


def build_plan(
    scenario: Scenario,
    options: pd.DataFrame,
    *,
    calibrations: pd.DataFrame | None = None,
    keep_options: int = 10,
    notes: tuple[str, ...] = (),
    templates: bool = True,
) -> PlanResult:
    """Budget ``scenario`` over every (provider, region) in ``options``; rank; keep the top ones.

    ``options``: the purchase options the scenario allows (:data:`tco.model.offers.OPTION_COLUMNS`, owned
    servers offered within each (provider, region); :func:`tco.api.planning.plan` resolves them).
    ``calibrations``: calibration results (may be empty or None). ``notes``: said before the plan's own.
    ``templates``: write each choice's workbook template and its inputs' Assumptions rows (what
    :func:`tco.export.xlsx.plan_workbook` needs; a tenth of the time of 10,000 workloads' plan); False:
    ``price_key`` and ``template`` are None and the assumptions hold the scenario's and fixed costs' rows.

    Every candidate (workload, option) is costed over the horizon on narrow arrays
    (:mod:`tco.plan.candidates`); month-by-month rows are built only for the kept options' choices.
    """
    import numpy as np
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions, TrainingAssumptions
    from tco.model.throughput import empty_calibrations
    from tco.plan.candidates import growth_factors, serving_candidates, training_candidates

    s = scenario
    cal = empty_calibrations() if calibrations is None else calibrations
    training_assumptions = TrainingAssumptions()
    serving_assumptions = ServingAssumptions()
    said = list(notes)
    options = options.reset_index(drop=True)
    kinds = (
        training_candidates(s, options, cal, training_assumptions),
        serving_candidates(s, options, cal, serving_assumptions),
    )
    said += _infeasible(s, kinds, options)

    # ----------------------------------------------------------------- the cheapest candidate per option
    n_work = len(s.workloads)
    place = options.groupby(["provider", "region"], sort=False, dropna=False).ngroup().to_numpy(np.int64)
    ties = [pd.factorize(options[c], sort=True, use_na_sentinel=False)[0] for c in _TIES]
    won = [_cheapest(c, options, place, ties, n_work) for c in kinds]
    kind = np.concatenate([np.full(len(w[0]), number) for number, w in enumerate(won)])
    index, total = np.concatenate([w[0] for w in won]), np.concatenate([w[1] for w in won])
    option = np.concatenate([c.option[w[0]] for c, w in zip(kinds, won, strict=True)])
    row = np.concatenate([c.shape_row[c.shape[w[0]]] for c, w in zip(kinds, won, strict=True)])
    workload = np.concatenate([c.workload[w[0]] for c, w in zip(kinds, won, strict=True)])
    # as the projection lists them: by total, then accelerator, pricing model, instance type, then training
    # before serving, by model row and option
    order = np.lexsort((option, row, kind, *[t[option] for t in reversed(ties)], total))
    kind, index, total, option, workload = (x[order] for x in (kind, index, total, option, workload))
    counts = np.bincount(place[option], minlength=int(place.max()) + 1)
    complete = counts[place[option]] == n_work
    dropped = int(np.count_nonzero((counts > 0) & (counts < n_work)))
    if not complete.any():
        raise TcoError(
            "no (provider, region) offers every workload an accelerator",
            hint="widen [options] or the accelerators",
        )
    if dropped:
        said.append(f"{dropped} (provider, region) options lack an offer for some workload and are left out")
    names = np.asarray(s.workloads, dtype=object)
    chosen = pd.DataFrame(
        {
            "provider": options["provider"].to_numpy(dtype=object)[option],
            "region": options["region"].to_numpy(dtype=object)[option],
            "total_usd": total,
            "_kind": kind,
            "_index": index,
            "kind": np.where(kind == 0, "training", "serving").astype(object),
            "workload": names[workload],
            "_workload": workload,
        }
    )[complete]

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
    f = np.arange(1, s.horizon_months + 1, dtype=float)
    fixed = pd.DataFrame({"month": f.astype(int)})
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
    picked = kept[["provider", "region", "option", "rank"]].merge(chosen, on=["provider", "region"])
    picked = picked.sort_values(["rank", "kind", "workload"], kind="stable").reset_index(drop=True)
    chosen = _chosen_rows(kinds, options, picked)
    # each kept option's choice for each workload (every kept option has one for each)
    picks = np.full((len(kept), n_work), None, dtype=object)
    label = chosen["accelerator"].astype(str) + " " + chosen["pricing_model"].astype(str)
    picks[chosen["rank"].to_numpy(dtype=np.int64) - 1, picked["_workload"].to_numpy(dtype=np.int64)] = label
    choices = pd.DataFrame(picks, columns=[f"{name} choice" for name in s.workloads], index=kept.index)
    kept = pd.concat([kept, choices], axis=1)

    if templates:
        price_keys, texts = _templates(book, s, chosen, training_assumptions, serving_assumptions)
        chosen = chosen.assign(price_key=price_keys, template=texts)
    else:
        chosen = chosen.assign(price_key=None, template=None)

    # month-by-month: every kept option (for charts) and the cheapest one per workload (the budget)
    acc_hours = _months(chosen, growth_factors(s), training_assumptions, serving_assumptions)
    best_rows = acc_hours[acc_hours["option"] == kept["option"].iloc[0]]
    wide = best_rows.pivot_table(index="month", columns="workload", values="cost_usd", aggfunc="sum")
    budget = pd.concat(
        [
            fixed[["month"]],
            pd.DataFrame(
                wide.reindex(columns=list(s.workloads)).to_numpy(), columns=[f"{n}_usd" for n in s.workloads]
            ),
            pd.DataFrame({f"{item}_usd": fixed[item].to_numpy() for item in FIXED_ITEMS}),
        ],
        axis=1,
    )
    budget["total_usd"] = budget[[f"{n}_usd" for n in (*s.workloads, *FIXED_ITEMS)]].sum(axis=1)

    columns = list(_CHOICE_COLUMNS)
    for column in columns:
        if column not in chosen:
            chosen[column] = np.nan
    return PlanResult(
        s,
        book.frame(),
        kept.reset_index(drop=True),
        chosen[columns],
        budget,
        acc_hours,
        fixed_templates,
        tuple(said),
    )


#: The workbook's templates, their formulas bound once (tco.model.formulas).
_WALL_HOURS: Final = F.WALL_HOURS.bind(rate_per_accelerator=F.FLOP_RATE)
_RUN_MONTH: Final = F.RUN_MONTH_COST.bind(
    runs_per_month=var("month_1_runs") * F.GROWTH, billed_accelerators=F.BILLED_ACCELERATORS
)
_SERVING_MONTH_GROWN: Final = SERVING_MONTH.bind(growth=F.GROWTH)
#: A placeholder for a reference in a formula's text: atomic ({n}) or compound (n), n its position.
_MARK: Final = re.compile(r"\{\x00(\d+)\x00\}|\x00(\d+)\x00")


class _Excel:
    """:meth:`Expr.excel <tco.model.formula.Expr.excel>` for the many rows of a plan: a formula's text is
    built once for each pattern of atomic and compound references (only that decides its parentheses), and
    each call puts its references in; the text is the one ``Expr.excel`` writes. Price splits and owned
    servers' price rows, the same for every row of a billing kind or an accelerator, are kept too."""

    def __init__(self) -> None:
        self._texts: dict[
            tuple[int, tuple[str, ...], tuple[bool, ...]], tuple[Expr, list[str], list[str]]
        ] = {}
        self._splits: dict[str, tuple[Expr, Expr]] = {}
        self._owned: dict[tuple[str, float, float], tuple[str, str]] = {}

    @staticmethod
    def atomic(ref: str) -> bool:
        """Whether ``Expr.excel`` writes ``ref`` as is (else in parentheses)."""
        from tco.model.formula import _ATOMIC

        inner = ref[1:-1]
        if ref[:1] == "{" and ref[-1:] == "}" and "{" not in inner and "}" not in inner:
            return bool(inner)  # a {key}: the common case, without the regular expression
        return bool(_ATOMIC.match(ref))

    def __call__(self, formula: Expr, **refs: str) -> str:
        names = tuple(sorted(refs))
        texts, slots = self.skeleton(formula, names, tuple(self.atomic(refs[n]) for n in names))
        out = [texts[0]]
        for slot, text in zip(slots, texts[1:], strict=True):
            out += (refs[slot], text)
        return "".join(out)

    def skeleton(
        self, formula: Expr, names: tuple[str, ...], atomic: tuple[bool, ...]
    ) -> tuple[list[str], list[str]]:
        """The formula's text for references ``names`` (sorted), atomic or not, as the pieces between
        the references and the references' names in order: the text is ``texts[0] + ref(slots[0]) +
        texts[1] + ...``."""
        key = (id(formula), names, atomic)
        done = self._texts.get(key)
        if done is None or done[0] is not formula:
            marks = {
                n: (f"{{\x00{i}\x00}}" if a else f"\x00{i}\x00")
                for i, (n, a) in enumerate(zip(names, atomic, strict=True))
            }
            parts = _MARK.split(formula.excel(**marks))
            slots = [names[int(a or b)] for a, b in zip(parts[1::3], parts[2::3], strict=True)]
            done = self._texts[key] = (formula, parts[::3], slots)
        return done[1], done[2]

    def split(self, billing: str, price_split: Callable[[str], tuple[Expr, Expr]]) -> tuple[Expr, Expr]:
        if billing not in self._splits:
            self._splits[billing] = price_split(billing)
        return self._splits[billing]

    def owned(
        self,
        book: AssumptionRows,
        accelerator: str,
        params: OwnershipParams,
        *,
        fixed: float,
        variable: float,
    ) -> tuple[str, str]:
        key = (accelerator, fixed, variable)
        if key not in self._owned:
            self._owned[key] = book.owned_prices(accelerator, params, fixed=fixed, variable=variable)
        return self._owned[key]


#: The columns of :attr:`PlanResult.choices`.
_CHOICE_COLUMNS: Final = (
    "rank", "option", "provider", "region", "workload", "kind", "accelerator", "accelerator_count",
    "accelerators_per_instance", "pricing_model", "instance_type", "price_usd_per_accelerator_hour",
    "price_key", "template", "total_usd", "acc_hours_per_run", "tokens_per_s_per_replica",
    "requests_per_s_per_replica", "throughput_source", "price_source", "price_date",
)  # fmt: skip
#: The option columns the cheapest candidate is chosen by after its total (then the projection's order).
_TIES: Final = ("accelerator", "pricing_model", "instance_type")
#: The columns of a chosen row its workbook templates and prices read.
_TEMPLATE_COLUMNS: Final = (
    "_option", "_price_option", "_shape", "kind", "prefix", "workload", "provider", "region",
    "instance_type", "pricing_model", "billing", "accelerator", "accelerator_count",
    "accelerators_per_instance", "price_usd_per_accelerator_hour", "fixed_usd_per_accelerator_year",
    "variable_usd_per_accelerator_hour", "price_source", "price_date", "network_gb_s_per_instance",
    "uninterrupted_wall_hours", "spot_time_factor", "dtype", "framework", "train_flops", "work_formula",
    "workload_source", "peak_tflops", "peak_source", "mfu", "throughput_source", "throughput_detail",
    "parallelism", "scaling_efficiency", "scaling_source", "accelerators_per_replica",
    "tokens_per_s_per_replica", "engine_label", "batch_size", "ttft_s", "tpot_s",
    "requests_per_s_per_replica", "mbu", "mbu_source", "prefill_flops_efficiency",
    "prefill_flops_efficiency_source", "replicas_per_instance",
)  # fmt: skip


def _templates(
    book: AssumptionRows,
    s: Scenario,
    chosen: pd.DataFrame,
    training: TrainingAssumptions,
    serving: ServingAssumptions,
) -> tuple[list[str], list[str]]:
    """Each chosen row's price key and its month-``{m}`` cost as a workbook template, its inputs added to
    ``book`` in the rows' order. A model row's inputs (the same for every option it is chosen in) and an
    option's prices are written once; the formula's text is built once per pattern of atomic and compound
    references, and each row's references put in."""
    render = _Excel()
    prices: dict[tuple[int, int], tuple[str, str, str, bool, bool]] = {}
    inputs: dict[tuple[str, int, str], tuple[dict[str, str], _Texts]] = {}
    used = [col for col in _TEMPLATE_COLUMNS if col in chosen.columns]
    values = {col: chosen[col].tolist() for col in used}
    columns = (values["_option"], values["_price_option"], values["_shape"], values["kind"])
    templates, price_keys = [], []
    for i, (option, price_option, shape_index, kind) in enumerate(zip(*columns, strict=True)):
        option_key = (int(option), int(price_option))
        if option_key not in prices:
            key, fixed, variable = _prices(book, render, s, {col: values[col][i] for col in used})
            prices[option_key] = (key, fixed, variable, render.atomic(fixed), render.atomic(variable))
        key, fixed, variable, fixed_atomic, variable_atomic = prices[option_key]
        price_keys.append(key)
        shape = (str(kind), int(shape_index), str(values["pricing_model"][i]))
        if shape not in inputs:
            r = {col: values[col][i] for col in used}
            if kind == "training":
                refs = _training_refs(book, render, s, r, training.goodput)
            else:
                refs = _serving_refs(book, s, r, serving)
            formula = _RUN_MONTH if kind == "training" else _SERVING_MONTH_GROWN
            inputs[shape] = (refs, _Texts(render, formula, refs))
        refs, shaped = inputs[shape]
        texts, slots = shaped.get(fixed_atomic, variable_atomic)
        out = [texts[0]]
        for slot, text in zip(slots, texts[1:], strict=True):
            out += (fixed if slot == _PRICES[0] else variable if slot == _PRICES[1] else refs[slot], text)
        templates.append("".join(out))
    return price_keys, templates


#: The two prices of a cost template (the option's; the rest are the model row's).
_PRICES: Final = ("fixed_usd_per_accelerator_year", "variable_usd_per_accelerator_hour")


class _Texts:
    """A model row's cost formula with its references, as text pieces for each pattern of atomic or compound
    prices (:meth:`_Excel.skeleton`)."""

    def __init__(self, render: _Excel, formula: Expr, refs: dict[str, str]) -> None:
        self.render, self.formula = render, formula
        self.names = tuple(sorted([*refs, *_PRICES]))
        self.atomic = [render.atomic(refs[n]) if n in refs else False for n in self.names]
        self.at = tuple(self.names.index(n) for n in _PRICES)
        self.done: dict[tuple[bool, bool], tuple[list[str], list[str]]] = {}

    def get(self, fixed_atomic: bool, variable_atomic: bool) -> tuple[list[str], list[str]]:
        key = (fixed_atomic, variable_atomic)
        if key not in self.done:
            atomic = list(self.atomic)
            atomic[self.at[0]], atomic[self.at[1]] = key
            self.done[key] = self.render.skeleton(self.formula, self.names, tuple(atomic))
        return self.done[key]


def _infeasible(s: Scenario, kinds: tuple[Candidates, ...], options: pd.DataFrame) -> list[str]:
    """Raise for a workload no candidate fits (naming up to three reasons); say which accelerators none of
    a workload's candidates fits on (one line each, by workload and accelerator)."""
    import numpy as np
    import pandas as pd

    names = np.asarray(s.workloads, dtype=object)
    parts = []
    for c in kinds:  # the shapes some candidate has (the model's rows that an option of them joined)
        used = np.zeros(len(c.feasible), dtype=bool)
        used[c.shape] = True
        shape = np.flatnonzero(used)
        row = c.shape_row[shape]
        parts.append(
            (
                c.rows["workload_index"].to_numpy(dtype=np.int64)[row],
                c.rows["accelerator"].to_numpy(dtype=object)[row],
                c.feasible[shape],
                c.reason[shape],
            )
        )
    workload, accelerator, feasible, reason = (np.concatenate([p[k] for p in parts]) for k in range(4))
    fits = np.bincount(workload[feasible], minlength=len(names)) > 0
    for index in np.flatnonzero(~fits):
        why = sorted({str(r) for r in reason[(workload == index) & ~feasible]})[:3]
        raise TcoError(
            f"workload {names[index]!r} fits none of its accelerators: " + "; ".join(why or ["no offer"])
        )
    # (workload, accelerator) pairs without a feasible candidate: their first reason, by name
    pair = pd.MultiIndex.from_arrays([workload, accelerator]).codes
    code = pair[0].astype(np.int64) * (int(pair[1].max()) + 1) + pair[1]
    fitting = np.zeros(int(code.max()) + 1 if code.size else 0, dtype=bool)
    fitting[code[feasible]] = True
    unfit = ~fitting[code]
    if not unfit.any():
        return []
    table = pd.DataFrame(
        {"workload": names[workload[unfit]], "accelerator": accelerator[unfit], "reason": reason[unfit]}
    )
    first = table.astype({"reason": str}).groupby(["workload", "accelerator"])["reason"].min()
    return [f"{w} on {a}: {why}" for w, a, why in first.reset_index().itertuples(index=False)]


def _cheapest(
    c: Candidates, options: pd.DataFrame, place: np.ndarray, ties: list[np.ndarray], n_work: int
) -> tuple[np.ndarray, np.ndarray]:
    """One kind's cheapest feasible candidate per (provider, region, workload) over the horizon, ties going
    to the first accelerator, pricing model and instance type by name, then to the projection's order (model
    row, option): the candidates' indices and totals ($). A candidate without a finite total is never
    chosen (it is not counted as $0)."""
    import numpy as np

    fixed = options["fixed_usd_per_accelerator_year"].to_numpy(dtype="float64")
    variable = options["variable_usd_per_accelerator_hour"].to_numpy(dtype="float64")
    ok = np.flatnonzero(c.feasible[c.shape])
    shape, price = c.shape[ok], c.price_option[ok]
    with np.errstate(invalid="ignore", over="ignore"):
        total = c.fixed_coef[shape] * fixed[price] + c.variable_coef[shape] * variable[price]
    finite = np.isfinite(total)
    ok, shape, total = ok[finite], shape[finite], total[finite]
    option = c.option[ok]
    workloads = c.rows["workload_index"].to_numpy(dtype=np.int64)
    group = place[option] * n_work + workloads[c.shape_row[shape]]
    cheapest = np.full((int(place.max()) + 1) * n_work, np.inf)
    np.minimum.at(cheapest, group, total)
    best = np.flatnonzero(total == cheapest[group])
    option, row = option[best], c.shape_row[shape[best]]
    order = np.lexsort((option, row, *[t[option] for t in reversed(ties)], group[best]))
    first = order[np.flatnonzero(np.diff(group[best][order], prepend=-1))]
    return ok[best[first]], total[best[first]]


#: The columns of a chosen row that the plan keeps, writes templates from, or costs month by month.
_CHOSEN_COLUMNS: Final = (
    "uninterrupted_wall_hours", "runs", "interruptible", "requests_per_s", "min_replicas",
    "hours_per_month", "acc_hours_per_run", "reason", "feasible",
)  # fmt: skip


def _chosen_rows(kinds: tuple[Candidates, ...], options: pd.DataFrame, picked: pd.DataFrame) -> pd.DataFrame:
    """The kept options' chosen candidates (``picked``: provider, region, option, rank, total_usd, _kind,
    _index) as rows of the columns the plan uses: the model row's, the option's (serving pays the prices of
    the first option with the same offer keys), the candidate's own (feasibility, spot time factor)."""
    import numpy as np
    import pandas as pd

    wanted = set(_TEMPLATE_COLUMNS) | set(_CHOSEN_COLUMNS) | set(_CHOICE_COLUMNS)
    label = picked[["provider", "region", "option", "rank", "total_usd"]]
    kind = picked["_kind"].to_numpy(dtype=np.int64)
    index = picked["_index"].to_numpy(dtype=np.int64)
    frames = []
    for number, c in enumerate(kinds):
        mine = np.flatnonzero(kind == number)
        candidate = index[mine]
        shape = c.shape[candidate]
        columns = [col for col in c.rows.columns if col in wanted and col not in label.columns]
        rows = c.rows[columns].iloc[c.shape_row[shape]].reset_index(drop=True)
        own = options.iloc[c.option[candidate]].reset_index(drop=True)
        prices = options.iloc[c.price_option[candidate]].reset_index(drop=True)
        taken = [
            col
            for col in own.columns
            if col in wanted and col not in rows.columns and col not in label.columns
        ]
        if c.kind == "serving":
            own = own[[col for col in taken if col in SERVING_OPTION_COLUMNS]]
            prices = prices[["fixed_usd_per_accelerator_year", "variable_usd_per_accelerator_hour"]]
            rows = pd.concat([rows, own, prices], axis=1)
        else:
            rows = pd.concat([rows, own[taken]], axis=1)
            rows["spot_time_factor"] = c.spot_time_factor[shape]
            rows["reason"] = c.reason[shape]
            rows["feasible"] = c.feasible[shape]
        rows["_shape"] = shape
        rows["_option"] = c.option[candidate]
        rows["_price_option"] = c.price_option[candidate]
        rows["_at"] = mine
        frames.append(rows)
    rows = pd.concat(frames, ignore_index=True).sort_values("_at").reset_index(drop=True)
    label = label.astype({"provider": object, "region": object})
    out: pd.DataFrame = pd.concat([label, rows.drop(columns=["_at"])], axis=1)
    return out


def _months(
    chosen: pd.DataFrame,
    growth: np.ndarray,
    training: TrainingAssumptions,
    serving: ServingAssumptions,
) -> pd.DataFrame:
    """Per chosen row and month: accelerator-hours and cost (training: :func:`tco.model.purchase.run_costs`
    with the month's grown run count; serving: the grown fleet held all month)."""
    import numpy as np
    import pandas as pd

    from tco.model.purchase import run_costs

    months = len(growth)
    at = np.repeat(np.arange(len(chosen)), months)
    factor = np.tile(growth, len(chosen))

    def column(name: str) -> np.ndarray:
        if name not in chosen:
            return np.full(len(at), np.nan)
        return np.asarray(chosen[name].to_numpy(dtype="float64")[at])

    is_train = chosen["kind"].eq("training").to_numpy()[at]
    fixed_year = column("fixed_usd_per_accelerator_year")
    variable_hour = column("variable_usd_per_accelerator_hour")
    runs = column("runs") * factor
    trained = run_costs(
        column("uninterrupted_wall_hours"),
        column("accelerator_count"),
        column("accelerators_per_instance"),
        fixed_year,
        variable_hour,
        chosen["interruptible"].fillna(False).astype(bool).to_numpy()[at],
        runs,
        interruptions_per_instance_hour=training.spot_interruptions_per_instance_hour.value,
        checkpoint_interval_hours=training.checkpoint_interval_hours.value,
        restart_hours=training.restart_hours.value,
    )
    fleet = {
        "growth": factor,
        "headroom": serving.headroom.value,
        **{c: column(c) for c in SERVING_INPUTS},
        "fixed_usd_per_accelerator_year": fixed_year,
        "variable_usd_per_accelerator_hour": variable_hour,
    }
    held = FLEET.evaluate(**{k: v for k, v in fleet.items() if k in FLEET.names})
    served = SERVING_MONTH.evaluate(**fleet)
    frame = pd.DataFrame(
        {
            "option": chosen["option"].to_numpy(dtype=object)[at],
            "month": np.tile(np.arange(1, months + 1, dtype=float), len(chosen)),
            "workload": chosen["workload"].to_numpy(dtype=object)[at],
            "accelerator": chosen["accelerator"].to_numpy(dtype=object)[at],
            "pricing_model": chosen["pricing_model"].to_numpy(dtype=object)[at],
            "acc_hours": np.where(
                is_train, trained["accelerator_hours"] * runs, held * column("hours_per_month")
            ),
            "cost_usd": np.where(is_train, trained["cost_usd_per_month"], served),
        }
    )
    return frame.astype(dict.fromkeys(["workload", "accelerator", "pricing_model"], object))


def _prices(book: AssumptionRows, render: _Excel, s: Scenario, r: dict[str, Any]) -> tuple[str, str, str]:
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
        fixed_price, variable_price = render.split(str(r["billing"]), price_split)
        return (
            key,
            render(fixed_price, price_usd_per_accelerator_hour=ref),
            render(variable_price, price_usd_per_accelerator_hour=ref),
        )
    server = s.ownership[str(r["accelerator"])]
    base = _key("own", r["accelerator"])
    fixed, variable = render.owned(
        book,
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
        render(
            F.OWNED_LIST_USD_PER_ACCELERATOR_HOUR,
            fixed_usd_per_accelerator_year=fixed,
            variable_usd_per_accelerator_hour=variable,
        ),
    )
    return key, fixed, variable


def _training_refs(
    book: AssumptionRows, render: _Excel, s: Scenario, r: dict[str, Any], goodput: Assumption
) -> dict[str, str]:
    """A training choice's inputs (runs, wall time and its inputs, spot factor, count, instance size) as
    Assumptions rows; the references :data:`_RUN_MONTH` takes but the prices."""
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
        render(
            _WALL_HOURS,
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
    return {
        "paid_wall_hours": paid,
        "accelerator_count": f"{{{count}}}",
        "accelerators_per_instance": f"{{{apx}}}",
        "month_1_runs": f"{{{runs}}}",
        **_growth_refs(),
    }


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


def _serving_refs(
    book: AssumptionRows, s: Scenario, r: dict[str, Any], a: ServingAssumptions
) -> dict[str, str]:
    """A serving choice's inputs (request rate, hours, minimum replicas, headroom, requests/s per replica,
    replicas per instance, instance size) as Assumptions rows; the references of
    :data:`_SERVING_MONTH_GROWN` but the prices."""
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
    return {
        "headroom": "{headroom}",
        "requests_per_s": f"{{{p}.requests_per_s}}",
        "min_replicas": f"{{{p}.min_replicas}}",
        "requests_per_s_per_replica": f"{{{rps}}}",
        "replicas_per_instance": f"{{{rpi}}}",
        "accelerators_per_instance": f"{{{apx}}}",
        "hours_per_month": f"{{{p}.hours_per_month}}",
        **_growth_refs(),
    }
