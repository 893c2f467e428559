"""``estimate_serving``: what serving an LLM costs on every offer, replica size and purchase option, as
``tco estimate serve`` prints it (replicas, batch, latency, $ per 1M tokens, per 1k requests, per month)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from tco.api.estimate import (
    Selection,
    calibrations_with,
    estimate_provenance,
    hardware,
    line_items,
    owned_parameters,
    select,
    with_budget_line,
)
from tco.api.offers import OfferQuery, PurchaseOptions, purchase_options_for
from tco.api.sources import Provenance, Sources
from tco.errors import TcoError
from tco.model.settings import Settings
from tco.vocabulary import FRAMEWORKS

if TYPE_CHECKING:
    import pandas as pd

    from tco.model.assumptions import ServingAssumptions
    from tco.model.overheads import LineItems
    from tco.model.ownership import OwnershipParams

SERVE_BEST_OF: Final = ("provider", "pricing_model", "accelerator", "accelerators_per_replica", "framework")


@dataclass(frozen=True, slots=True)
class ServingWorkload:
    """An LLM endpoint: the model (a preset and/or its shape) and its traffic and latency targets. A preset
    gives the shape (head dim, vocabulary and experts included: :func:`tco.presets.serving_preset`); numbers
    given here replace the preset's."""

    model: str | None = None
    params: float | None = None
    active_params: float | None = None
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    vocab: int | None = None
    experts: int | None = None
    experts_per_token: int | None = None
    prompt_tokens: float = 512.0
    output_tokens: float = 256.0
    requests_per_s: float = 1.0
    ttft_s: float = 1.0
    tpot_s: float = 0.05
    weight_dtype: str = "bf16"
    kv_dtype: str = "bf16"
    dtype: str = "bf16"
    hours_per_day: float = 24.0

    def row(self) -> dict[str, Any]:
        """The model's serving workload row (:data:`tco.model.serving.SERVING_COLUMNS`)."""
        from tco.model.units import DTYPE_BYTES
        from tco.presets import SERVING_SHAPE, serving_preset

        if self.model is not None:
            row = serving_preset(self.model)
        elif self.params is not None:
            row = {"workload": "custom", "workload_source": "given on the command line"}
        else:
            raise TcoError(
                "nothing to serve", hint="give --model PRESET or --params N --layers --hidden --heads"
            )
        for name in ("weight_dtype", "kv_dtype"):
            if getattr(self, name) not in DTYPE_BYTES:
                raise TcoError(
                    f"--{name.replace('_', '-')}: unknown dtype {getattr(self, name)!r}",
                    hint=f"one of {', '.join(DTYPE_BYTES)}",
                )
        given = {
            **{column: getattr(self, column) for column in SERVING_SHAPE},
            "prompt_tokens": self.prompt_tokens, "output_tokens": self.output_tokens,
            "requests_per_s": self.requests_per_s, "ttft_s": self.ttft_s, "tpot_s": self.tpot_s,
            "hours_per_day": self.hours_per_day, "dtype": self.dtype,
        }  # fmt: skip
        row.update({k: v for k, v in given.items() if v is not None})
        row.update(
            weight_bytes_per_param=DTYPE_BYTES[self.weight_dtype],
            kv_bytes_per_element=DTYPE_BYTES[self.kv_dtype],
        )
        for column in SERVING_SHAPE:
            number = row.get(column)
            row[column] = (
                float(number) if isinstance(number, int | float) and not math.isnan(number) else math.nan
            )
        return row


@dataclass(frozen=True)
class ServingRequest:
    """What ``tco estimate serve`` takes (``calibrations`` as :class:`TrainingRequest`'s)."""

    workload: ServingWorkload
    offers: OfferQuery = field(default_factory=OfferQuery)
    replica_sizes: tuple[int, ...] = (1, 2, 4, 8)
    frameworks: tuple[str, ...] = FRAMEWORKS
    mbu: float | None = None
    prefill_efficiency: float | None = None
    settings: Settings = field(default_factory=Settings)
    selection: Selection = field(default_factory=lambda: Selection(top=20))
    explain: bool = False
    calibrations: pd.DataFrame | None = field(default=None, compare=False)
    #: serving engines to compare (``auto``, ``trtllm``, ``vllm``, ``sglang``; aliases accepted); () = the
    #: ``engine`` assumption (``auto``: TensorRT-LLM on NVIDIA, vLLM elsewhere)
    engines: tuple[str, ...] = ()
    #: ``aggregated`` (one engine does prefill and decode) and/or ``disaggregated`` (separate pools)
    layouts: tuple[str, ...] = ("aggregated",)
    #: a monthly budget: options costing more per month are marked ``over_budget`` (:mod:`tco.model.budget`)
    budget_usd: float | None = None

    def __post_init__(self) -> None:
        from tco.model.assumptions import check_fraction
        from tco.model.budget import check_budget

        check_budget(self.budget_usd, "month", ("month",))
        from tco.model.inference.engines import canonical_engine
        from tco.model.serving import LAYOUTS

        check_fraction("MBU", self.mbu)
        check_fraction("prefill efficiency", self.prefill_efficiency)
        if not self.replica_sizes or min(self.replica_sizes) < 1:
            raise TcoError("accelerators per replica must be whole numbers >= 1")
        engines = tuple(dict.fromkeys(canonical_engine(e) for e in self.engines))
        object.__setattr__(self, "engines", engines)
        layouts = tuple(dict.fromkeys(str(name).strip().lower() for name in self.layouts))
        unknown = [name for name in layouts if name not in LAYOUTS]
        if unknown or not layouts:
            raise TcoError(
                f"unknown serving layout {unknown[0] if unknown else '(none)'!r}",
                hint=f"one of {', '.join(LAYOUTS)} or all",
            )
        object.__setattr__(self, "layouts", layouts)


@dataclass(frozen=True)
class ServingEstimate:
    """The chosen rows (:data:`tco.model.serving.SERVING_OUTPUT`, plus line items and ``explain``), the
    grid, the workload as projected, the assumptions in force, owned hardware's parameters, provenance."""

    rows: pd.DataFrame = field(compare=False)
    grid: pd.DataFrame = field(compare=False)
    workload: Mapping[str, Any]
    assumptions: ServingAssumptions
    line_items: LineItems
    ownership: Mapping[str, OwnershipParams]
    provenance: Provenance


def _serving_grid(
    request: ServingRequest, workload: pd.DataFrame, options: PurchaseOptions, sources: Sources
) -> pd.DataFrame:
    from tco.model.assumptions import ServingAssumptions, as_default
    from tco.model.serving import project_serving
    from tco.model.throughput import resolve_serving_efficiency

    a = ServingAssumptions().with_overrides(**request.settings.group("serving"))
    names = list(dict.fromkeys(options.options["accelerator"]))
    frame = hardware(names, request.workload.dtype, request.settings)
    efficiencies = resolve_serving_efficiency(
        names,
        request.frameworks,
        frame,
        calibrations_with(sources, request.calibrations),
        dtype=request.workload.dtype,
        mbu_default=as_default(a.mbu),
        flops_default=as_default(a.prefill_flops_efficiency),
        mbu_override=request.mbu,
        flops_override=request.prefill_efficiency,
    )
    return project_serving(
        workload, options.options, frame, efficiencies, replica_sizes=request.replica_sizes, assumptions=a,
        layouts=request.layouts, engines=request.engines or None,
    )  # fmt: skip


def estimate_serving(request: ServingRequest, sources: Sources | None = None) -> ServingEstimate:
    """What serving an LLM costs: replicas, batch, latency, $ per 1M tokens, per 1k requests, per month."""
    import pandas as pd

    from tco.model.assumptions import STATE_BYTES_PER_PARAM, ServingAssumptions
    from tco.model.overheads import line_items as compute_line_items
    from tco.model.serving import validate_serving_workloads

    sources = sources or Sources()
    workload = pd.DataFrame([request.workload.row()])
    validate_serving_workloads(workload)
    assumptions = ServingAssumptions().with_overrides(**request.settings.group("serving"))
    options = purchase_options_for(request.offers, sources, request.settings, interruptible_by_default=False)
    grid = _serving_grid(request, workload, options, sources)
    items = line_items(request.settings)
    if items.any:
        params = pd.Series(workload["params"].iloc[0], index=grid.index).to_numpy(dtype="float64")
        grid = grid.assign(
            **compute_line_items(params, items, state_bytes_per_param=STATE_BYTES_PER_PARAM.value)
        )
        grid["total_usd_per_month"] = grid["cost_usd_per_month"] + grid["other_usd_per_month"].fillna(0.0)
    compared = tuple(
        c for c, many in (("engine", request.engines), ("layout", request.layouts)) if len(many) > 1
    )
    shown, notes = select(
        grid, request.selection, sort=("cost_usd_per_1m_output_tokens",), what="serving option",
        best_of=SERVE_BEST_OF + compared,
    )  # fmt: skip
    if request.budget_usd is not None:
        from tco.model.budget import serving_budget

        shown = serving_budget(shown, request.budget_usd)
    if request.explain:
        from tco.model.explain import serve_explain

        shown = shown.assign(explain=with_budget_line(serve_explain(shown), shown))
    provenance = estimate_provenance(
        options, shown, notes, Provenance(assumptions=tuple(assumptions.items()))
    )
    return ServingEstimate(
        shown, grid, {str(k): v for k, v in workload.iloc[0].items()}, assumptions, items,
        owned_parameters(options, shown), provenance,
    )  # fmt: skip
