"""JAX (and optax) loops: a jitted training step, wrapped so that every call is a timed, synchronised step.

::

    step = track_jax(jax.jit(train_step), tokens_per_step=batch * seq_len, usd_per_hour=12.0)
    for batch in data:
        params, opt_state, loss = step(params, opt_state, batch)

JAX dispatches asynchronously: each call is closed with ``jax.block_until_ready`` on its outputs before the
clock is read. The first call also asks XLA for the step's FLOPs (``jitted.lower(*args).compile()
.cost_analysis()``; ``count_flops=False`` or ``flops_per_token=`` skips it; that compile is the tracker's
time, not the step's) and finds the devices from the outputs' shardings (``devices=`` overrides). The
precision is ``dtype=`` (default: the dtype of the first argument's floating-point leaves). ``params=``
may be a parameter pytree (its size is counted) or a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from time import perf_counter
from typing import Any

from tco.track.device import DeviceSpec
from tco.track.flops import jax_step_flops
from tco.track.tracker import Tracker


def jax_device(outputs: Any = None, *, dtype: str | None = None, devices: int | None = None) -> DeviceSpec:
    """The device the step ran on (the first device of its outputs, else JAX's default) and how many."""
    import jax

    leaves = [x for x in jax.tree_util.tree_leaves(outputs) if hasattr(x, "sharding")]
    used = set()
    for leaf in leaves:
        used |= set(leaf.sharding.device_set)
    first = min(used, key=lambda d: d.id) if used else jax.devices()[0]
    count = devices if devices is not None else max(len(used), 1)
    platform = str(first.platform).lower()
    kind = {"gpu": "cuda", "cuda": "cuda", "rocm": "rocm", "tpu": "tpu"}.get(platform, "cpu")
    version = str(jax.__version__)
    source = f"jax: outputs on {first.device_kind} ({platform})"
    if kind == "cpu":
        return DeviceSpec.host("jax", version).with_(count=count, dtype=dtype or "fp32", source=source)
    return DeviceSpec("jax", version, kind, str(first.device_kind), count, dtype or "fp32", source)


def _floating_dtype(tree: Any) -> str | None:
    import jax
    import jax.numpy as jnp

    for leaf in jax.tree_util.tree_leaves(tree):
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.floating):
            return str(dtype)
    return None


def _count_params(params: Any) -> float:
    import jax

    return float(sum(int(getattr(leaf, "size", 0)) for leaf in jax.tree_util.tree_leaves(params)))


class TrackedStep:
    """A jitted step that times itself: call it like the step; ``.tracker`` is its :class:`Tracker`."""

    def __init__(
        self,
        fn: Callable[..., Any],
        tracker: Tracker,
        *,
        count_flops: bool,
        dtype: str | None,
        devices: int | None,
    ) -> None:
        import jax

        self.fn = fn
        self.tracker = tracker
        self._block: Callable[[Any], Any] = jax.block_until_ready
        self._first = True
        self._count_flops = count_flops
        self._dtype = dtype
        self._devices = devices

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._first:
            return self._first_call(args, kwargs)
        tracker = self.tracker
        tracker.begin()
        out = self.fn(*args, **kwargs)
        self._block(out)
        tracker.end()
        return out

    def step(
        self, *args: Any, tokens: float | None = None, samples: float | None = None, **kwargs: Any
    ) -> Any:
        """Like calling the step, with this step's tokens/samples (when they vary from step to step)."""
        tracker = self.tracker
        if self._first:
            tracker._pending_tokens, tracker._pending_samples = tokens, samples
            return self._first_call(args, kwargs, tokens, samples)
        tracker.begin()
        out = self.fn(*args, **kwargs)
        self._block(out)
        tracker.end(tokens, samples)
        return out

    def _first_call(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        tokens: float | None = None,
        samples: float | None = None,
    ) -> Any:
        tracker = self.tracker
        self._first = False
        flops = math.nan
        if self._count_flops and hasattr(self.fn, "lower"):
            started = perf_counter()
            flops = jax_step_flops(self.fn, *args, **kwargs)
            tracker.details(flops_count_s=perf_counter() - started)
        tracker.begin()
        out = self.fn(*args, **kwargs)
        self._block(out)
        tracker.end(tokens, samples)
        dtype = self._dtype or _floating_dtype(args[0] if args else None) or "float32"
        tracker.update(device=jax_device(out, dtype=dtype, devices=self._devices), only_missing=True)
        if self._count_flops and math.isfinite(flops):
            tracker.record_counted_flops(flops, tokens, samples, "XLA cost analysis")
        return out


def track_jax(
    fn: Callable[..., Any],
    *,
    params: Any = None,
    dtype: str | None = None,
    devices: int | None = None,
    count_flops: bool = True,
    **tracker_args: Any,
) -> TrackedStep:
    """Wrap a jitted training step (see the module docstring); every other argument is the
    :class:`Tracker`'s (``tokens_per_step``, ``usd_per_hour``/``offer``, ``target_*``, ...)."""
    details = dict(tracker_args.pop("details", None) or {})
    if params is not None and not isinstance(params, int | float):
        details["params_source"] = "parameter pytree size"
        params = _count_params(params)
    elif params is not None:
        details["params_source"] = "parameters given"
    given_flops = tracker_args.get("flops_per_token") is not None or tracker_args.get("flops_per_sample")
    tracker_args.setdefault("adapter", "jax")
    tracker = Tracker(params=params, details=details, **tracker_args)
    return TrackedStep(fn, tracker, count_flops=count_flops and not given_flops, dtype=dtype, devices=devices)
