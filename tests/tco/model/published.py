"""The published training runs (``data/published_runs.csv``) projected as a user would, shared by
``test_published_runs.py`` and ``benchmarks/training_validation.py``.

Each run is projected from what its user would know and the paper states, passed the way a user passes it:
the workload (a preset, or the published shape), its dtype (``fp8`` where the run used FP8 GEMMs), global
batch and sequence length, activation recomputation where the paper or its launch script states it, the
accelerator, count and instance (or TPU slice) size, and ``--set NAME=VALUE`` settings (``settings``: e.g.
the 6.25 GB/s per GPU of AWS p4d's network, DualPipe's overlapped all-to-all). Everything else is tco's own
default (layout, MFU, goodput; goodput 1 where the published figure is throughput-derived or steady-state).
No row is special-cased: the code below reads only the CSV's columns.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from tco.api.inputs import settings as parse_settings
from tco.model.assumptions import TrainingAssumptions
from tco.model.offers import override_options
from tco.model.settings import Settings
from tco.model.training import project_training
from tco.presets import hardware_table, load_mfu_defaults, preset_workload

DATA = Path(__file__).parent / "data" / "published_runs.csv"
SHAPE = {
    "params_n": "params",
    "active_params": "active_params",
    "experts": "experts",
    "experts_per_token": "experts_per_token",
    "layers": "layers",
    "hidden": "hidden",
    "heads": "heads",
    "kv_heads": "kv_heads",
    "head_dim": "head_dim",
    "expert_ffn_hidden": "expert_ffn_hidden",
    "vocab": "vocab",
    "seq_len": "seq_len",
    "tokens_d": "tokens",
}
METRICS = ("gpu_hours", "tflops_per_accelerator", "tokens_per_s_per_accelerator")


def runs() -> pd.DataFrame:
    frame = pd.read_csv(DATA, dtype=str, keep_default_na=False)
    return frame[frame["metric"].isin(METRICS)].reset_index(drop=True)


def workload(run: dict[str, str]) -> dict[str, Any]:
    """The workload row a user would pass for this run."""
    row: dict[str, Any] = preset_workload(run["preset"]) if run["preset"] else {}
    row.setdefault("workload", run["name"])
    row.setdefault("kind", "tokens")
    row.setdefault("workload_source", run["source"])
    row["dtype"] = run["dtype"] or "bf16"
    for column, name in SHAPE.items():
        if run[column]:
            row[name] = float(run[column])
    if run["global_batch_tokens"]:  # --set global_batch_tokens=...
        row["global_batch_tokens"] = float(run["global_batch_tokens"])
    row["recompute"] = run["recompute"]
    return row


def settings(run: dict[str, str]) -> Settings:
    """The run's ``--set`` values (``NAME=VALUE;NAME=VALUE``)."""
    return parse_settings([part for part in run["settings"].split(";") if part])


def hardware(run: dict[str, str], given: Settings) -> pd.DataFrame:
    """The hardware frame with the ``--set`` hardware overrides applied (as ``tco estimate train`` does)."""
    frame = hardware_table([run["accelerator"]])
    inter = given.get("inter_node_gb_s")
    if inter is not None:
        frame["inter_node_gb_s_per_accelerator"] = inter
        frame["network_source"] = "override (--set inter_node_gb_s)"
    return frame


def project(run: dict[str, str], assumptions: TrainingAssumptions | None = None) -> pd.Series:
    """tco's projection of one run (the single row for its accelerator, count and instance size)."""
    goodput = float(run["goodput"]) if run["goodput"] else None
    given = settings(run)
    params = (assumptions or TrainingAssumptions()).with_overrides(goodput=goodput, **given.group("training"))
    out = project_training(
        pd.DataFrame([workload(run)]),
        override_options([run["accelerator"]], 1.0, float(run["per_instance"])),
        hardware(run, given),
        counts=[int(run["count"])],
        frameworks=["torch"],
        mfu_defaults=load_mfu_defaults(),
        assumptions=params,
    )
    return out.iloc[0]


def projected_value(run: dict[str, str], row: pd.Series) -> float:
    """The figure of the projection that the run publishes."""
    n = float(row["accelerator_count"])
    if run["metric"] == "gpu_hours":
        return float(row["accelerator_hours"])
    tokens_per_s = float(row["tokens_per_s"])
    if run["metric"] == "tokens_per_s_per_accelerator":
        return tokens_per_s / n
    return tokens_per_s * float(row["flops_per_token"]) / n / 1e12


def table(assumptions: TrainingAssumptions | None = None) -> pd.DataFrame:
    records = []
    for run in runs().to_dict("records"):
        row = project(run, assumptions)
        published = float(run["published"])
        value = projected_value(run, row) if bool(row["feasible"]) else math.nan
        records.append(
            {
                "run": run["name"],
                "split": run["split"],
                "metric": run["metric"],
                "published": published,
                "tco": value,
                "error": value / published - 1.0,
                "layout": row["parallelism"],
                "dtype": row["dtype"],
                "recompute": row["recompute"],
                "settings": run["settings"],
                "batch_tokens": row.get("global_batch_tokens_used", math.nan),
                "batch_source": row.get("batch_source", ""),
                "mfu": row["mfu"],
                "scaling": row["scaling_efficiency"],
                "reason": row["reason"],
            }
        )
    return pd.DataFrame(records)


def summary(frame: pd.DataFrame) -> dict[str, tuple[float, float, int]]:
    """Per split: (median |error|, share within +-25%, runs). An infeasible run counts as outside."""
    out = {}
    for split, rows in frame.groupby("split"):
        errors = rows["error"].abs().fillna(math.inf)
        out[str(split)] = (statistics.median(errors), float((errors <= 0.25).mean()), len(rows))
    return out
