"""PyTorch loops: a :class:`~tco.track.tracker.Tracker` set up from the model.

::

    tracker = track_torch(model, tokens_per_step=batch * seq_len, offer="aws:p5.48xlarge:spot")
    for batch in loader:
        with tracker.step():
            loss = model(batch).loss; loss.backward(); opt.step(); opt.zero_grad()

From the model: the device (CUDA/ROCm, MPS or CPU) and its name (the peak for MFU), the synchronisation
at the end of each step (``torch.cuda.synchronize``), the precision (the parameters' dtype; fp32 matmuls
count as TF32 on CUDA when ``torch.get_float32_matmul_precision()`` allows it; pass ``dtype="bf16"`` under
autocast), and the FLOPs: ``6N`` from the parameters, or with ``count_flops=True`` the model FLOPs
``torch.utils.flop_counter`` counts in the first step (that step is a warm-up step, outside the steady
rate).
"""

from __future__ import annotations

from typing import Any

from tco.track.device import DeviceSpec
from tco.track.flops import torch_counter, torch_matmul_params
from tco.track.tracker import Tracker


def torch_device(
    module: Any, *, dtype: str | None = None, devices: int | None = None
) -> tuple[DeviceSpec, Any]:
    """The device ``module``'s parameters live on, and the function that synchronises it (None on CPU)."""
    import torch

    first = next(iter(module.parameters()), None)
    where = first.device if first is not None else torch.device("cpu")
    if devices is None:
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        devices = torch.distributed.get_world_size() if distributed else 1
    precision = dtype
    if precision is None:
        precision = str(first.dtype).replace("torch.", "") if first is not None else "float32"
        if (
            precision == "float32"
            and where.type == "cuda"
            and torch.get_float32_matmul_precision() != "highest"
        ):
            precision = "tf32"
    version = str(torch.__version__)
    if where.type == "cuda":
        index = where.index if where.index is not None else torch.cuda.current_device()
        kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
        name = torch.cuda.get_device_name(index)
        device = torch.device("cuda", index)

        def sync() -> None:
            torch.cuda.synchronize(device)

        spec = DeviceSpec("torch", version, kind, name, devices, precision, f"torch: parameters on {where}")
        return spec, sync
    if where.type == "mps":
        spec = DeviceSpec(
            "torch", version, "mps", "Apple MPS", devices, precision, "torch: parameters on mps"
        )
        return spec, torch.mps.synchronize
    spec = DeviceSpec.host("torch", version).with_(
        count=devices, dtype=precision, source=f"torch: parameters on {where}"
    )
    return spec, None


class _CountingStep:
    """The step context for the one step whose FLOPs ``torch.utils.flop_counter`` counts."""

    __slots__ = ("_counter", "_plain", "_tracker")

    def __init__(self, tracker: Tracker, plain: Any) -> None:
        self._tracker = tracker
        self._plain = plain
        self._counter: torch_counter | None = None

    def __enter__(self) -> Tracker:
        self._counter = torch_counter()
        self._counter.__enter__()
        self._tracker.begin()
        return self._tracker

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        tracker = self._tracker
        counter = self._counter
        if counter is None:  # never entered
            return
        counter.__exit__(exc_type, exc, tb)
        if exc_type is not None:
            tracker.abandon()
            return
        tokens, samples = tracker._pending_tokens, tracker._pending_samples
        tracker.end(tokens, samples)
        tracker._context = self._plain
        tracker.record_counted_flops(counter.flops, tokens, samples, "torch.utils.flop_counter")


def track_torch(
    model: Any,
    *,
    dtype: str | None = None,
    devices: int | None = None,
    count_flops: bool = False,
    **tracker_args: Any,
) -> Tracker:
    """A :class:`Tracker` for a plain PyTorch loop over ``model`` (see the module docstring); every other
    argument is the tracker's (``tokens_per_step``, ``usd_per_hour``/``offer``, ``target_*``, ...)."""
    spec, sync = torch_device(model, dtype=dtype, devices=devices)
    params, how = torch_matmul_params(model)
    given_flops = tracker_args.get("flops_per_token") is not None or tracker_args.get("flops_per_sample")
    if count_flops and tracker_args.get("warmup_steps", 1) < 1:
        tracker_args["warmup_steps"] = 1  # the counted step runs slower: keep it out of the steady rate
    details = dict(tracker_args.pop("details", None) or {})
    if tracker_args.get("params") is None:
        tracker_args["params"] = params
        details["params_source"] = how
    tracker_args.setdefault("adapter", "torch")
    tracker = Tracker(device=spec, sync=sync, details=details, **tracker_args)
    if count_flops and not given_flops:
        tracker._context = _CountingStep(tracker, tracker._context)
    return tracker
