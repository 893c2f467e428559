"""The embedded reference data the projections read: model presets and sourced defaults.

All tables live in ``tco/data/`` as CSV with a ``source`` for every row:

* ``models.csv`` - well-known model shapes (GPT-2, BERT, ResNet-50, LLaMA/Llama 2/Llama 3, MPT, TinyLlama,
  GPT-3, Chinchilla, Mixtral): parameters, layers, hidden size, heads, KV heads, vocabulary, context,
  training tokens and batch where published.
* ``mfu_defaults.csv`` - assumed steady MFU by accelerator and dtype, with a range
(docs/projection_model.md §8).
* ``network_defaults.csv`` - inter-node bandwidth per accelerator (docs/projection_model.md §1.1, §4.2).
* ``ownership_defaults.csv`` - owned-hardware capex and node power where a source exists
(docs/projection_model.md §5.2).

Accelerator peaks come from ``calibrate.peaks`` (sourced per number); :func:`hardware_table` joins them with
the network defaults into the frame :mod:`tco.model` expects. Reading package data is the only I/O here.
"""

from __future__ import annotations

import csv
import difflib
import math
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from tco.errors import TcoError

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.ownership import OwnedServer, OwnershipParams


def _read(name: str) -> pd.DataFrame:
    import pandas as pd

    with resources.files("tco").joinpath(f"data/{name}").open("rb") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values=[""])


def _cell(text: str) -> float | str:
    """A CSV cell: empty is NaN (missing stays missing), numbers are floats, anything else is text."""
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return text


@cache
def _model_records() -> tuple[dict[str, Any], ...]:
    """The presets as plain records (read with the csv module: a lookup needs no pandas)."""
    with resources.files("tco").joinpath("data/models.csv").open("r", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    text = {"name", "aliases", "family", "calibration_variant", "source"}
    return tuple({k: (v if k in text else _cell(v)) for k, v in row.items()} for row in rows)


def load_models() -> pd.DataFrame:
    """The model presets, one row per model (``tco/data/models.csv``)."""
    import pandas as pd

    return pd.DataFrame(list(_model_records()))


def _number(value: object) -> float:
    """A preset cell as a float; empty, text or NaN is NaN."""
    return float(value) if isinstance(value, int | float) and not math.isnan(value) else math.nan


def _key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == ".")


def model_names() -> list[str]:
    return [str(r["name"]) for r in _model_records()]


def find_model(name: str) -> dict[str, Any]:
    """The preset named ``name`` (or one of its aliases), as a dict; unknown names raise with suggestions."""
    wanted = _key(name)
    for record in _model_records():
        keys = [_key(str(record["name"]))] + [_key(a) for a in str(record["aliases"]).split(";") if a]
        if wanted in keys:
            return dict(record)
    close = difflib.get_close_matches(name.lower(), model_names(), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(model_names())}"
    raise TcoError(f"unknown model preset {name!r}", hint=hint)


def preset_workload(name: str) -> dict[str, Any]:
    """A workload row (see :data:`tco.model.work.WORKLOAD_COLUMNS`) from a preset."""

    record = find_model(name)
    kind = "samples" if record["family"] == "cnn" else "tokens"
    row: dict[str, Any] = {
        "workload": record["name"],
        "kind": kind,
        "workload_source": f"preset {record['name']}: {record['source']}",
        "calibration_variant": record["calibration_variant"]
        if isinstance(record["calibration_variant"], str)
        else "",
    }
    for column in (
        "params",
        "active_params",
        "tokens",
        "layers",
        "hidden",
        "heads",
        "kv_heads",
        "seq_len",
        "flops_per_sample",
        "samples",
        "epochs",
        "batch_per_accelerator",
        "grad_bytes_per_param",
        "vocab",
        "experts",
        "experts_per_token",
    ):
        value = record.get(column)
        row[column] = float(value) if isinstance(value, int | float) and not math.isnan(value) else math.nan
    # Mixture of experts: each routed expert's feed-forward width (the presets' ffn_hidden).
    ffn = _number(record.get("ffn_hidden"))
    row["expert_ffn_hidden"] = ffn if record["family"] == "moe" else math.nan
    # The authors' batch is what the model was trained with; the user's --global-batch-tokens (the
    # workload's global_batch_tokens) replaces it, and the scale rule applies only where neither exists.
    row["published_global_batch_tokens"] = _number(record.get("global_batch_tokens"))
    return row


@cache
def load_mfu_defaults() -> pd.DataFrame:
    """Assumed steady MFU by accelerator and dtype (``*`` = any), with range and source."""
    return _read("mfu_defaults.csv")


@cache
def load_network_defaults() -> pd.DataFrame:
    return _read("network_defaults.csv")


@cache
def load_instance_networks() -> pd.DataFrame:
    """Scale-out networks of the instance types sellers sell with a cluster fabric (EFA, InfiniBand,
    GPUDirect, RDMA) or a stated Ethernet figure: provider, instance_pattern (a regular expression the whole
    instance type matches), fabric, gbps_per_instance, cluster_fabric, source
    (``tco/data/instance_networks.csv``)."""
    return _read("instance_networks.csv")


@cache
def load_tpu_topology() -> pd.DataFrame:
    """TPU hosts, slices and ICI bandwidth per chip (``tco/data/tpu_topology.csv``, Google's TPU docs)."""
    return _read("tpu_topology.csv")


@cache
def load_ownership_defaults() -> pd.DataFrame:
    return _read("ownership_defaults.csv")


def hardware_table(accelerators: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """The model's hardware frame (:data:`tco.model.training.HARDWARE_COLUMNS`): one row per accelerator and
    dtype with a dense peak, memory, bandwidths, TDP and the sources. Accelerators without a peak row are
    present with NaN figures (missing stays missing)."""

    import pandas as pd

    from calibrate.peaks import DTYPE_COLUMNS, load_peaks
    from pricing.accelerators import CANONICAL_NAMES

    peaks = load_peaks()
    names = list(accelerators) if accelerators is not None else [n for n in CANONICAL_NAMES if n != "CPU"]
    rows: list[dict[str, Any]] = []
    for name in names:
        peak = peaks.get(name)
        for dtype in DTYPE_COLUMNS:
            tflops = peak.tflops_for(dtype) if peak is not None else None
            rows.append(
                {
                    "accelerator": name,
                    "dtype": dtype,
                    "peak_tflops": tflops if tflops is not None else math.nan,
                    "memory_bytes": _num(peak.memory_bytes if peak else None),
                    "memory_bandwidth_tb_s": _num(peak.memory_bandwidth_tb_s if peak else None),
                    "interconnect_gb_s": _num(peak.interconnect_gb_s if peak else None),
                    "tdp_w": _num(peak.tdp_w if peak else None),
                    "peak_source": f"calibrate/data/accelerator_peaks.csv ({peak.variant}): {peak.source}"
                    if peak
                    else "no peak row in calibrate/data/accelerator_peaks.csv",
                }
            )
    frame = pd.DataFrame(rows)
    network = load_network_defaults()
    exact = network[network["accelerator"] != "*"]
    generic = network[network["accelerator"] == "*"].iloc[0]
    frame = frame.merge(exact.rename(columns={"source": "network_source"}), on="accelerator", how="left")
    missing = frame["network_source"].isna()
    frame.loc[missing, "inter_node_gb_s_per_instance"] = generic["inter_node_gb_s_per_instance"]
    frame.loc[missing, "network_source"] = generic["source"]
    frame["inter_node_gb_s_per_accelerator"] = frame["inter_node_gb_s_per_accelerator"].astype("float64")
    frame["inter_node_gb_s_per_instance"] = frame["inter_node_gb_s_per_instance"].astype("float64")
    # TPUs: the slice is the fast domain (ICI torus), not an 8-accelerator node.
    topology = load_tpu_topology()[
        [
            "accelerator",
            "accelerators_per_host",
            "max_fast_domain",
            "intra_node_gb_s_per_accelerator",
            "source",
        ]
    ].rename(columns={"source": "topology_source"})
    frame = frame.merge(topology, on="accelerator", how="left")
    tpu = frame["topology_source"].notna()
    frame.loc[tpu, "network_source"] = (
        frame.loc[tpu, "network_source"].astype(str)
        + "; slice: "
        + frame.loc[tpu, "topology_source"].astype(str)
    )
    frame = frame.drop(columns=["topology_source"])
    return frame


@cache
def load_serving_models() -> pd.DataFrame:
    """Serving shapes per model (head dim, vocabulary, MoE experts; ``tco/data/serving_models.csv``)."""
    return _read("serving_models.csv")


#: A serving workload's shape columns (tco.model.serving.SERVING_COLUMNS) a preset gives.
SERVING_SHAPE: Final = (
    "params", "active_params", "layers", "hidden", "heads", "kv_heads", "head_dim", "vocab", "experts",
    "experts_per_token",
)  # fmt: skip


def serving_preset(name: str) -> dict[str, Any]:
    """A generative preset as a serving workload's shape (:data:`SERVING_SHAPE`, NaN where unknown) with its
    name and source: ``tco/data/models.csv`` and the serving table's head dim, vocabulary and experts
    (:func:`serving_shape`). The one place ``tco estimate serve`` and ``tco plan`` read a served preset."""
    record = find_model(name)
    if record["family"] == "cnn":
        raise TcoError(f"{record['name']} is not a transformer: serving projects LLM prefill and decode")
    row: dict[str, Any] = {column: _number(record.get(column)) for column in SERVING_SHAPE}
    row.update(serving_shape(str(record["name"])))
    row.update(workload=record["name"], workload_source=f"preset {record['name']}: {record['source']}")
    return row


def serving_shape(name: str) -> dict[str, float]:
    """The optional serving workload columns (:data:`tco.model.serving.OPTIONAL_COLUMNS`) of a preset, by its
    canonical name: head dim, vocabulary, experts and experts per token; empty when the preset has no row."""
    table = load_serving_models()
    row = table[table["name"] == name]
    if row.empty:
        return {}
    record = row.iloc[0]
    return {
        column: float(record[column])
        for column in ("head_dim", "vocab", "experts", "experts_per_token")
        if not math.isnan(float(record[column]))
    }


def _num(value: float | None) -> float:

    return float(value) if value is not None else math.nan


def ownership_params(
    accelerator: str, *, capex_usd_per_accelerator: float | None = None, **overrides: float | None
) -> tuple[OwnershipParams, int] | None:
    """Default owned-hardware parameters for ``accelerator`` and its node size, or None when no capex is
    sourced and none is given. Any keyword of :class:`OwnershipParams` overrides its default."""
    from calibrate.peaks import load_peaks
    from tco.model.assumptions import Assumption
    from tco.model.ownership import OwnershipParams

    table = load_ownership_defaults()
    row = table[table["accelerator"] == accelerator]
    record = row.iloc[0] if not row.empty else None
    if capex_usd_per_accelerator is not None:
        capex = Assumption.given(capex_usd_per_accelerator, "USD", "override (capex_usd_per_accelerator)")
    elif record is not None:
        capex = Assumption(
            float(record["capex_usd_per_accelerator"]),
            float(record["capex_usd_per_accelerator_low"]),
            float(record["capex_usd_per_accelerator_high"]),
            "USD",
            str(record["source"]),
        )
    else:
        return None
    peak = load_peaks().get(accelerator)
    if peak is None or peak.tdp_w is None:
        raise TcoError(
            f"no TDP for {accelerator}: owned-hardware power cannot be estimated",
            hint="pass --it-kw-per-accelerator",
        )
    node_kw = float(record["node_max_kw_per_accelerator"]) if record is not None else None
    params = OwnershipParams.for_accelerator(
        capex,
        peak.tdp_w,
        tdp_source=f"calibrate peaks: {peak.source}",
        node_max_kw_per_accelerator=node_kw,
        node_source=str(record["source"]) if record is not None else "",
    )
    node = int(record["accelerators_per_node"]) if record is not None else 8
    return params.with_overrides(**overrides), node


def capex_sourced(accelerator: str) -> bool:
    """Whether ``tco/data/ownership_defaults.csv`` sources a capex for ``accelerator``."""
    return bool(load_ownership_defaults()["accelerator"].eq(accelerator).any())


#: Names ``--set`` and scenario ``[ownership]`` tables accept besides :class:`OwnershipParams`' fields.
SERVER_KEYS = ("accelerators_per_server",)


def owned_server(accelerator: str, overrides: dict[str, float] | None = None) -> OwnedServer:
    """The owned-node defaults for ``accelerator`` (:func:`ownership_params`) with ``overrides`` (any
    :class:`OwnershipParams` field, or ``accelerators_per_server``) applied and validated.

    Raises :class:`TcoError` when no capex is sourced and none is given, or a name is unknown."""
    from dataclasses import fields

    from tco.model.ownership import OwnedServer, OwnershipParams

    values = dict(overrides or {})
    known = [f.name for f in fields(OwnershipParams)] + list(SERVER_KEYS)
    for key in values:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=2)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(known)}"
            raise TcoError(f"unknown ownership assumption {key!r}", hint=hint)
    per_server = values.pop("accelerators_per_server", None)
    capex = values.pop("capex_usd_per_accelerator", None)
    found = ownership_params(accelerator, capex_usd_per_accelerator=capex, **values)
    if found is None:
        raise TcoError(
            f"no owned-hardware capex is sourced for {accelerator}",
            hint="give one: --set capex_usd_per_accelerator=USD (and accelerators_per_server=N)",
        )
    params, node = found
    table = load_ownership_defaults()
    sourced = table["accelerator"].eq(accelerator).any()
    if per_server is not None:
        return OwnedServer(accelerator, params, float(per_server), "override (accelerators_per_server)")
    source = (
        "tco/data/ownership_defaults.csv (accelerators_per_node)"
        if sourced
        else "assumption: 8-accelerator node (llm-analysis NUM_GPUS_PER_NODE)"
    )
    return OwnedServer(accelerator, params, float(node), source)
