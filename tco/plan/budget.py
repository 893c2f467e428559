"""The month-by-month budget of a scenario, per option, and the cheapest plan meeting its constraints.

An *option* is a (provider, region) relationship; within it each workload takes the cheapest feasible
(accelerator, purchase model) its scenario allows (owned servers included when ``options.owned``). Serving
never lands on spot unless the endpoint says ``interruptible = true``.

Formulas (units in the names; every input is a row of the assumptions frame, with its source):
    training   acc_hours_per_run   = 6 · parameters · tokens / (peak_tflops · 1e12 · mfu · 3600)
               cost(m)             = runs_per_month · (1+growth)^(m-1) · acc_hours_per_run · usd_per_acc_hour
               wall_days           = acc_hours_per_run / accelerator_count / 24          (<= max_days)
    serving    replica_accs        = ROUNDUP(parameters · bytes_per_param · 1.2 / (memory_gb · 1e9))
               latency_ms          = parameters · bytes_per_param · 1e3
                                     / (replica_accs · hbm_tb_s · 1e12 · bw_eff)
               tokens_per_s_per_acc= peak_tflops · 1e12 · flops_eff / (2 · parameters)
               replicas(m)         = MAX(min_replicas, ROUNDUP(requests_per_s · output_tokens
                                          · (1+growth)^(m-1) / (tokens_per_s_per_acc · replica_accs)))
               cost(m)             = replicas(m) · replica_accs · hours_per_month · usd_per_acc_hour
    fixed      storage(m) = storage_tb · (1+growth)^(m-1) · usd_per_tb_month
               egress(m)  = egress_tb · 1000 · (1+growth)^(m-1) · usd_per_gb
               tooling(m) = tooling_usd_per_month;   people(m) = fte · usd_per_fte_year / 12

The same formulas are emitted as templates (``{key}`` = an assumption, ``{m}`` = the month number) so that
the XLSX export holds live formulas; tests recalculate them in LibreOffice and compare with these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError
from tco.ownership_defaults import SOURCES as OWN_SOURCES
from tco.ownership_defaults import owned_usd_per_accelerator_hour
from tco.plan.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from calibrate.peaks import Peak

MEMORY_HEADROOM: Final = 1.2
MEMORY_HEADROOM_SOURCE: Final = "assumption: weights x1.2 for KV cache and activations"
#: Recommended steady MFU when neither the scenario nor a calibration gives one (projection_model.md §8).
DEFAULT_MFU: Final = {"A100-40GB": 0.50, "A100-80GB": 0.50, "A100-80GB-PCIe": 0.50}
DEFAULT_MFU_OTHER: Final = 0.40
MFU_SOURCE: Final = (
    "assumption: recommended steady MFU (A100 0.50, H100 and others 0.40; projection_model.md §8)"
)
BYTES_PER_PARAM: Final = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}
FIXED_ITEMS: Final = ("storage", "egress", "tooling", "people")
FRAMEWORK_ALIASES: Final = {
    "pytorch": ("pytorch", "torch"),
    "jax": ("jax",),
    "tensorflow": ("tensorflow", "tf"),
}
GROWTH = "(1+{growth_per_month})^({m}-1)"


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Everything a renderer needs; frames only, no terminal."""

    scenario: Scenario
    #: key, section, description, value, unit, source, formula (template or None)
    assumptions: pd.DataFrame
    #: rank, provider, region, total_usd, month1_usd, feasible workloads ...
    options: pd.DataFrame
    #: provider, region, workload, kind, accelerator, pricing_model, instance_type, usd_per_acc_hour,
    #: price_key, template (cost in month {m}), total_usd, throughput_source, price_source, price_date
    choices: pd.DataFrame
    #: month, <workload>_usd..., storage_usd, egress_usd, tooling_usd, people_usd, total_usd (cheapest option)
    budget: pd.DataFrame
    #: option label, month, total_usd (every kept option; for charts)
    option_months: pd.DataFrame
    #: fixed item -> template for month {m}
    fixed_templates: dict[str, str]
    #: notes for the reader (missing offers, dropped workloads)
    notes: tuple[str, ...]

    @property
    def best(self) -> pd.Series:
        return self.options.iloc[0]


def _key(*parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def _mfu(
    scenario_mfu: float | None, framework: str, accelerator: str, calibration: pd.DataFrame | None
) -> tuple[float, str]:
    if scenario_mfu is not None:
        return scenario_mfu, "scenario file (mfu)"
    if calibration is not None and len(calibration):
        rows = calibration[
            calibration["framework"].str.lower().isin(FRAMEWORK_ALIASES.get(framework, (framework,)))
            & (calibration["accelerator"] == accelerator)
            & (calibration["kernel"] == "train_transformer")
            & calibration["utilisation"].notna()
        ]
        if len(rows):
            value = float(rows["utilisation"].median())
            versions = ", ".join(sorted({str(v) for v in rows["framework_version"].dropna()}))
            return (
                value,
                f"calibration: {framework} {versions} train_transformer on {accelerator} "
                f"(median of {len(rows)})",
            )
    return DEFAULT_MFU.get(accelerator, DEFAULT_MFU_OTHER), MFU_SOURCE


def build_plan(
    scenario: Scenario,
    offers: pd.DataFrame,
    peaks: dict[str, Peak],
    *,
    price_labels: dict[str, str] | None = None,
    calibration: pd.DataFrame | None = None,
    keep_options: int = 10,
) -> PlanResult:
    """Budget ``scenario`` over every (provider, region) option in ``offers``; rank; keep the top ones.

    ``offers``: the catalog's offer table. ``peaks``: canonical accelerator -> peak figures.
    ``calibration``: optional calibration results (framework, accelerator, kernel, utilisation, ...).
    """
    import numpy as np
    import pandas as pd

    s = scenario
    assumptions: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(
        key: str,
        section: str,
        description: str,
        value: Any,
        unit: str,
        source: str,
        formula: str | None = None,
    ) -> str:
        if key not in seen:
            seen.add(key)
            assumptions.append(
                {
                    "key": key,
                    "section": section,
                    "description": description,
                    "value": value,
                    "unit": unit,
                    "source": source,
                    "formula": formula,
                }
            )
        return key

    src = f"scenario {s.path.name}"
    add("horizon_months", "Scenario", "planning horizon", s.horizon_months, "months", src)
    add(
        "growth_per_month",
        "Scenario",
        "growth of runs, traffic, storage and egress per month",
        s.growth_per_month,
        "fraction",
        src,
    )

    # ----------------------------------------------------------------- per workload x accelerator
    rows: list[dict[str, Any]] = []
    for i, t in enumerate(s.training, start=1):
        p = f"t{i}"
        add(_key(p, "parameters"), t.name, "model parameters", t.parameters, "parameters", src)
        add(_key(p, "tokens"), t.name, "training tokens per run", t.tokens, "tokens", src)
        add(_key(p, "runs_per_month"), t.name, "runs per month (month 1)", t.runs_per_month, "runs", src)
        for a in t.accelerators:
            peak = peaks[a].tflops_for(t.dtype)
            if peak is None:
                rows.append(
                    {
                        "workload": t.name,
                        "kind": "training",
                        "accelerator": a,
                        "feasible": False,
                        "reason": f"no {t.dtype} peak for {a}",
                    }
                )
                continue
            mfu, mfu_src = _mfu(t.mfu, t.framework, a, calibration)
            pk = add(
                _key("peak", a, t.dtype),
                "Accelerators",
                f"{a} dense {t.dtype} peak",
                peak,
                "TFLOP/s",
                peaks[a].source,
            )
            mk = add(
                _key(p, a, "mfu"),
                t.name,
                f"model FLOPs utilisation on {a} ({t.framework})",
                mfu,
                "fraction",
                mfu_src,
            )
            hours = 6.0 * t.parameters * t.tokens / (peak * 1e12 * mfu * 3600.0)
            hk = add(
                _key(p, a, "acc_hours_per_run"),
                t.name,
                f"accelerator-hours per run on {a} (6·N·D / (peak·MFU))",
                hours,
                "acc-h",
                "derived",
                f"6*{{{p}.parameters}}*{{{p}.tokens}}/({{{pk}}}*1e12*{{{mk}}}*3600)",
            )
            wall_days = hours / t.accelerator_count / 24.0
            ok = t.max_days is None or wall_days <= t.max_days
            rows.append(
                {
                    "workload": t.name,
                    "kind": "training",
                    "accelerator": a,
                    "feasible": ok,
                    "reason": ""
                    if ok
                    else f"{wall_days:.1f} days on {t.accelerator_count}x{a} > max_days {t.max_days:g}",
                    "acc_hours_per_run": hours,
                    "runs": t.runs_per_month,
                    "interruptible": t.interruptible,
                    "min_instance_accs": float(min(t.accelerator_count, 8)),
                    "throughput_source": mfu_src,
                    "template": f"{{{p}.runs_per_month}}*{GROWTH}*{{{hk}}}*{{PRICE}}",
                }
            )
    for j, v in enumerate(s.serving, start=1):
        p = f"s{j}"
        add(_key(p, "parameters"), v.name, "model parameters", v.parameters, "parameters", src)
        add(
            _key(p, "requests_per_s"), v.name, "requests per second (month 1)", v.requests_per_s, "req/s", src
        )
        add(
            _key(p, "output_tokens_per_request"),
            v.name,
            "generated tokens per request",
            v.output_tokens_per_request,
            "tokens",
            src,
        )
        add(_key(p, "hours_per_month"), v.name, "hours served per month", v.hours_per_month, "h", src)
        add(_key(p, "min_replicas"), v.name, "minimum replicas", v.min_replicas, "replicas", src)
        add(
            _key(p, "flops_efficiency"),
            v.name,
            "decode FLOPs efficiency",
            v.flops_efficiency,
            "fraction",
            src if v.flops_efficiency != 0.7 else "assumption: 0.7 (projection_model.md §8)",
        )
        bpp = BYTES_PER_PARAM[v.dtype]
        for a in v.accelerators:
            pe = peaks[a]
            peak = pe.tflops_for(v.dtype)
            if peak is None or pe.memory_gb is None or pe.memory_bandwidth_tb_s is None:
                rows.append(
                    {
                        "workload": v.name,
                        "kind": "serving",
                        "accelerator": a,
                        "feasible": False,
                        "reason": f"no {v.dtype} peak, memory or bandwidth figure for {a}",
                    }
                )
                continue
            pk = add(
                _key("peak", a, v.dtype),
                "Accelerators",
                f"{a} dense {v.dtype} peak",
                peak,
                "TFLOP/s",
                pe.source,
            )
            memk = add(
                _key("peak", a, "memory_gb"), "Accelerators", f"{a} memory", pe.memory_gb, "GB", pe.source
            )
            replica = math.ceil(v.parameters * bpp * MEMORY_HEADROOM / (pe.memory_gb * 1e9))
            rk = add(
                _key(p, a, "replica_accelerators"),
                v.name,
                f"accelerators per replica on {a} (weights x1.2 / memory)",
                replica,
                "acc",
                MEMORY_HEADROOM_SOURCE,
                f"ROUNDUP({{{p}.parameters}}*{bpp}*{MEMORY_HEADROOM}/({{{memk}}}*1e9),0)",
            )
            tps = peak * 1e12 * v.flops_efficiency / (2.0 * v.parameters)
            tk = add(
                _key(p, a, "tokens_per_s_per_acc"),
                v.name,
                f"decode tokens/s per {a} (peak·eff / 2N)",
                tps,
                "tokens/s",
                "derived",
                f"{{{pk}}}*1e12*{{{p}.flops_efficiency}}/(2*{{{p}.parameters}})",
            )
            latency = (
                v.parameters
                * bpp
                / (replica * pe.memory_bandwidth_tb_s * 1e12 * v.bandwidth_efficiency)
                * 1e3
            )
            ok = v.latency_ms_per_token is None or latency <= v.latency_ms_per_token
            rows.append(
                {
                    "workload": v.name,
                    "kind": "serving",
                    "accelerator": a,
                    "feasible": ok,
                    "reason": ""
                    if ok
                    else f"{latency:.1f} ms/token on {a} > target {v.latency_ms_per_token:g}",
                    "replica": float(replica),
                    "min_instance_accs": float(replica),
                    "min_replicas": float(v.min_replicas),
                    "tps": tps,
                    "demand_tokens_s": v.requests_per_s * v.output_tokens_per_request,
                    "hours_per_month": v.hours_per_month,
                    "interruptible": v.interruptible,
                    "throughput_source": (
                        f"peak x {v.flops_efficiency:g} flops efficiency (latency {latency:.1f} ms/token)"
                    ),
                    "template": (
                        f"MAX({{{p}.min_replicas}},ROUNDUP({{{p}.requests_per_s}}"
                        f"*{{{p}.output_tokens_per_request}}*{GROWTH}"
                        f"/({{{tk}}}*{{{rk}}}),0))*{{{rk}}}*{{{p}.hours_per_month}}*{{PRICE}}"
                    ),
                }
            )
    work = pd.DataFrame(rows)
    notes: list[str] = [
        f"{r.workload} on {r.accelerator}: {r.reason}" for r in work.itertuples() if not r.feasible
    ]
    work = work[work["feasible"]]
    for name in s.workloads:
        if name not in set(work["workload"]):
            raise TcoError(
                f"workload {name!r} fits none of its accelerators: "
                + "; ".join(n for n in notes if n.startswith(name))
            )

    # ----------------------------------------------------------------- candidate prices
    wanted = sorted(set(work["accelerator"]))
    o = offers
    mask = o["provider"].isin(s.options.providers) & o["accelerator"].isin(wanted)
    mask &= o["pricing_model"].isin(s.options.pricing_models) & o["price_usd_per_accelerator_hour"].notna()
    if "flags" in o:
        from pricing.schema import EXCLUDING_FLAGS

        bad = o["flags"].fillna("").str.split(";").map(lambda fs: bool(EXCLUDING_FLAGS.intersection(fs)))
        mask &= ~bad.astype(bool)
    if s.options.regions:
        mask &= o["region"].isin(s.options.regions)
    cloud = o[mask]
    missing_models = sorted(set(s.options.pricing_models) - set(cloud["pricing_model"]))
    if missing_models:
        notes.append(
            f"no {', '.join(missing_models)} prices in the price snapshot for these accelerators "
            "(the embedded snapshot has on_demand and spot only; `tco prices pull` adds committed prices)"
        )
    cloud = cloud.sort_values(["price_usd_per_accelerator_hour", "instance_type"], kind="stable")
    cloud = cloud.drop_duplicates(["provider", "region", "accelerator", "accelerator_count", "pricing_model"])
    date = (
        cloud["effective_date"].fillna(cloud["fetched_at"])
        if "effective_date" in cloud
        else cloud["fetched_at"]
    )
    labels = price_labels or {}
    cand = pd.DataFrame(
        {
            "provider": cloud["provider"],
            "region": cloud["region"],
            "accelerator": cloud["accelerator"],
            "pricing_model": cloud["pricing_model"],
            "instance_type": cloud["instance_type"],
            "instance_accs": cloud["accelerator_count"].astype(float),
            "usd_per_acc_hour": cloud["price_usd_per_accelerator_hour"].astype(float),
            "price_source": cloud["source"].astype(str)
            + cloud["provider"].map(lambda p: f" [{labels[p]}]" if p in labels else ""),
            "price_date": date.astype(str),
        }
    )
    if s.options.owned and len(cand):
        regions = cand[["provider", "region"]].drop_duplicates()
        owned = [
            {
                "accelerator": a,
                "pricing_model": "owned",
                "instance_type": f"owned {own.accelerators_per_server:g}x{a} server",
                "instance_accs": own.accelerators_per_server,
                "usd_per_acc_hour": owned_usd_per_accelerator_hour(own),
                "price_source": "derived from the ownership assumptions",
                "price_date": "",
            }
            for a, own in s.ownership.items()
            if a in wanted
        ]
        if owned:
            cand = pd.concat([cand, regions.merge(pd.DataFrame(owned), how="cross")], ignore_index=True)
    if cand.empty:
        raise TcoError(
            "no prices for the scenario's accelerators with these options",
            hint=f"providers {', '.join(s.options.providers)}, models {', '.join(s.options.pricing_models)}, "
            f"accelerators {', '.join(wanted)}",
        )

    # ----------------------------------------------------------------- cost of every candidate, every month
    pairs = work.merge(cand, on="accelerator")
    pairs = pairs[pairs["interruptible"].astype(bool) | (pairs["pricing_model"] != "spot")]
    # a job runs on whole instances big enough for it: a replica on one instance, training on full nodes
    pairs = pairs[pairs["instance_accs"] >= pairs["min_instance_accs"]]
    pairs = pairs.sort_values("usd_per_acc_hour", kind="stable").drop_duplicates(
        ["provider", "region", "workload", "accelerator", "pricing_model"]
    )
    months = pd.DataFrame({"month": np.arange(1, s.horizon_months + 1, dtype=float)})
    months["factor"] = (1.0 + s.growth_per_month) ** (months["month"] - 1.0)
    grid = pairs.merge(months, how="cross")
    train = grid["kind"] == "training"
    train_cost = grid["runs"] * grid["factor"] * grid["acc_hours_per_run"] * grid["usd_per_acc_hour"]
    replicas = np.maximum(
        grid["min_replicas"],
        np.ceil(grid["demand_tokens_s"] * grid["factor"] / (grid["tps"] * grid["replica"])),
    )
    serve_cost = replicas * grid["replica"] * grid["hours_per_month"] * grid["usd_per_acc_hour"]
    grid["cost_usd"] = np.where(train, train_cost, serve_cost)
    cand_keys = ["provider", "region", "workload", "accelerator", "pricing_model"]
    totals = grid.groupby(cand_keys, sort=False)["cost_usd"].sum().rename("total_usd").reset_index()
    pairs = pairs.merge(totals, on=cand_keys)
    pairs = pairs.sort_values(["total_usd", "accelerator", "pricing_model"], kind="stable")
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
        notes.append(
            f"{len(dropped)} (provider, region) options lack an offer for some workload and are left out"
        )

    # ----------------------------------------------------------------- fixed costs
    c = s.costs
    fixed_specs = {
        "storage": (
            ("storage_tb", "stored data (month 1)", "TB"),
            ("storage_usd_per_tb_month", "storage price", "$/TB-month"),
        ),
        "egress": (
            ("egress_tb_per_month", "egress (month 1)", "TB/month"),
            ("egress_usd_per_gb", "egress price", "$/GB"),
        ),
        "tooling": (("tooling_usd_per_month", "tooling and services", "$/month"),),
        "people": (("people_fte", "people", "FTE"), ("usd_per_fte_year", "loaded cost per FTE", "$/year")),
    }
    for specs in fixed_specs.values():
        for name, desc, unit in specs:
            add(_key("costs", name), "Fixed costs", desc, float(getattr(c, name)), unit, src)
    fixed_templates = {
        "storage": f"{{costs.storage_tb}}*{GROWTH}*{{costs.storage_usd_per_tb_month}}",
        "egress": f"{{costs.egress_tb_per_month}}*1000*{GROWTH}*{{costs.egress_usd_per_gb}}",
        "tooling": "{costs.tooling_usd_per_month}",
        "people": "{costs.people_fte}*{costs.usd_per_fte_year}/12",
    }
    f = months["factor"]
    fixed = pd.DataFrame(
        {
            "month": months["month"].astype(int),
            "storage": c.storage_tb * f * c.storage_usd_per_tb_month,
            "egress": c.egress_tb_per_month * 1000.0 * f * c.egress_usd_per_gb,
            "tooling": c.tooling_usd_per_month + 0.0 * f,
            "people": c.people_fte * c.usd_per_fte_year / 12.0 + 0.0 * f,
        }
    )
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
    picks = chosen.pivot_table(index="option", columns="workload", values="accelerator", aggfunc="first")
    models = chosen.pivot_table(index="option", columns="workload", values="pricing_model", aggfunc="first")
    for name in s.workloads:
        kept = kept.assign(**{f"{name} choice": kept["option"].map(picks[name] + " " + models[name])})

    # prices of the kept choices become assumptions; templates get their price key
    price_keys: list[str] = []
    for r in chosen.itertuples():
        if r.pricing_model == "owned":
            key = _owned_assumptions(add, s, str(r.accelerator))
        else:
            key = add(
                _key("price", r.provider, r.region, r.instance_type, r.pricing_model),
                "Prices",
                f"{r.provider} {r.region} {r.instance_type} {r.pricing_model} "
                f"per accelerator-hour ({r.accelerator})",
                float(r.usd_per_acc_hour),  # type: ignore[arg-type]
                "$/acc-h",
                f"{r.price_source}; as of {r.price_date}",
            )
        price_keys.append(key)
    chosen["price_key"] = price_keys
    chosen["template"] = [
        t.replace("{PRICE}", "{" + k + "}") for t, k in zip(chosen["template"], price_keys, strict=True)
    ]

    # month-by-month: every kept option (for charts) and the cheapest one per workload (the budget)
    kept_grid = chosen[["option", *cand_keys]].merge(grid[[*cand_keys, "month", "cost_usd"]], on=cand_keys)
    option_months = kept_grid.groupby(["option", "month"], sort=False)["cost_usd"].sum().reset_index()
    option_months = option_months.merge(
        fixed.assign(fixed_usd=fixed[list(FIXED_ITEMS)].sum(axis=1))[["month", "fixed_usd"]], on="month"
    )
    option_months["total_usd"] = option_months["cost_usd"] + option_months["fixed_usd"]
    option_months = option_months[["option", "month", "total_usd"]]
    best = kept_grid[kept_grid["option"] == kept["option"].iloc[0]]
    wide = best.pivot_table(index="month", columns="workload", values="cost_usd", aggfunc="sum")
    budget = fixed[["month"]].copy()
    for name in s.workloads:
        budget[f"{name}_usd"] = wide[name].to_numpy()
    for item in FIXED_ITEMS:
        budget[f"{item}_usd"] = fixed[item].to_numpy()
    budget["total_usd"] = budget[[f"{n}_usd" for n in (*s.workloads, *FIXED_ITEMS)]].sum(axis=1)

    frame = pd.DataFrame(
        assumptions, columns=["key", "section", "description", "value", "unit", "source", "formula"]
    )
    choices = chosen[
        [
            "rank",
            "option",
            "provider",
            "region",
            "workload",
            "kind",
            "accelerator",
            "pricing_model",
            "instance_type",
            "usd_per_acc_hour",
            "price_key",
            "template",
            "total_usd",
            "throughput_source",
            "price_source",
            "price_date",
        ]
    ]
    return PlanResult(
        s, frame, kept.reset_index(drop=True), choices, budget, option_months, fixed_templates, tuple(notes)
    )


def _owned_assumptions(add: Any, s: Scenario, accelerator: str) -> str:
    """The owned $/acc-h as a formula over the ownership inputs (so the workbook reacts to PUE, $/kWh ...)."""
    own = s.ownership[accelerator]
    base = _key("own", accelerator)
    for name, source in OWN_SOURCES.items():
        value = getattr(own, name)
        add(
            _key(base, name),
            "Owned hardware",
            f"{accelerator} server: {name.replace('_', ' ')}",
            value,
            "",
            source,
        )
    k = {name: "{" + _key(base, name) + "}" for name in OWN_SOURCES}
    formula = (
        f"({k['capex_usd_per_server']}/{k['life_years']}"
        f"+{k['server_kw']}*{k['load_factor']}*{k['pue']}*8760*{k['usd_per_kwh']}"
        f"+{k['server_kw']}*{k['colo_usd_per_kw_month']}*12"
        f"+{k['maintenance_fraction_per_year']}*{k['capex_usd_per_server']}"
        f"+{k['staff_usd_per_server_year']})"
        f"/({k['accelerators_per_server']}*8760*{k['utilisation']})"
    )
    return str(
        add(
            _key(base, "usd_per_acc_hour"),
            "Owned hardware",
            f"owned {accelerator} effective cost per accelerator-hour",
            owned_usd_per_accelerator_hour(own),
            "$/acc-h",
            "derived (projection_model.md §5.1)",
            formula,
        )
    )
