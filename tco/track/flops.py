"""Model FLOPs of a training step: from the parameter count (the MFU convention), or counted by the framework.

- ``6N + 12 L h s`` per token (PaLM arXiv:2204.02311 App. B; the convention of tco's projection, see
  :mod:`tco.model.work`): ``N`` the parameters that do a matmul per token (embedding lookups excluded
  unless the embedding is tied to the output layer), the attention term when the layers ``L``, hidden size
  ``h`` and sequence length ``s`` are known. Per token only: a CNN reuses its weights across positions, so
  count its FLOPs (below) or give them.
- PyTorch: :func:`torch_counter` wraps one training step in ``torch.utils.flop_counter.FlopCounterMode``
  (matmuls, convolutions and attention, forward and backward; the optimizer's element-wise work is not a
  model FLOP).
- JAX: :func:`jax_step_flops` asks XLA: ``jitted.lower(*args).compile().cost_analysis()["flops"]`` for the
  compiled step (everything in it, optimizer included).

Frameworks are imported only inside the function that needs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def flops_per_token_from_params(
    params: float, layers: float | None = None, hidden: float | None = None, seq_len: float | None = None
) -> float:
    """``6 * params`` plus ``12 * layers * hidden * seq_len`` when the shape is known."""
    flops = 6.0 * float(params)
    if layers and hidden and seq_len:
        flops += 12.0 * float(layers) * float(hidden) * float(seq_len)
    return flops


def torch_matmul_params(module: Any) -> tuple[float, str]:
    """Parameters of a ``torch.nn.Module`` that do a matmul per token, and how they were counted.

    Every parameter counts once (shared ones once), except the weights of ``nn.Embedding`` layers that no
    other layer shares (a lookup is not a matmul; a tied output layer is)."""
    import torch

    embedding_weights = {
        id(m.weight) for m in module.modules() if isinstance(m, torch.nn.Embedding) and m.weight is not None
    }
    users: dict[int, int] = {}
    for sub in module.modules():
        for parameter in sub.parameters(recurse=False):
            users[id(parameter)] = users.get(id(parameter), 0) + 1
    total = 0
    skipped = 0
    seen: set[int] = set()
    for parameter in module.parameters():
        key = id(parameter)
        if key in seen:
            continue
        seen.add(key)
        if key in embedding_weights and users.get(key, 0) <= 1:
            skipped += int(parameter.numel())
            continue
        total += int(parameter.numel())
    how = "parameters counted from the model"
    if skipped:
        how += f" ({skipped:,} untied embedding parameters left out)"
    return float(total), how


class torch_counter:
    """``with torch_counter() as counted: step()`` then ``counted.flops``: the model FLOPs the step ran."""

    def __init__(self) -> None:
        from torch.utils.flop_counter import FlopCounterMode

        self._mode = FlopCounterMode(display=False)
        self.flops = math.nan

    def __enter__(self) -> torch_counter:
        self._mode.__enter__()  # type: ignore[no-untyped-call]
        return self

    def __exit__(self, *exc: object) -> None:
        self._mode.__exit__(*exc)  # type: ignore[no-untyped-call]
        self.flops = float(self._mode.get_total_flops())


def jax_step_flops(jitted: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """FLOPs XLA counts in one call of ``jitted`` (a ``jax.jit`` function) on these arguments; NaN when the
    backend gives no cost analysis."""
    lowered = jitted.lower(*args, **kwargs)  # type: ignore[attr-defined]
    analysis = lowered.compile().cost_analysis()
    if isinstance(analysis, list | tuple):  # older JAX: one dict per device program
        analysis = analysis[0] if analysis else None
    if not isinstance(analysis, dict):
        return math.nan
    flops = analysis.get("flops")
    return float(flops) if flops is not None and float(flops) > 0 else math.nan
