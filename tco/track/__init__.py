"""Track a training job while it runs: step time, throughput, MFU, goodput and dollars, in any of four loops.

- plain loops: :class:`Tracker` (``with tracker.step(): ...``), or :func:`track_torch` for a PyTorch model
  (device synchronisation, parameter or counted FLOPs, the GPU's peak for MFU)
- PyTorch Lightning: ``tco.track.lightning.CostCallback``
- Keras 3: ``tco.track.keras.CostCallback``
- JAX/optax: :func:`track_jax` wraps a jitted step (``jax.block_until_ready``, XLA's FLOP count)

A tracked run is stored in ``<home>/runs.sqlite`` (``tco runs list|show|export|import``) and is a
calibration: :func:`from_run` turns it into the workload and calibration rows that ``tco estimate train``
projects from ("measured on your job").

Importing this package imports no framework; each adapter imports its own when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tco.track.device import DeviceSpec
from tco.track.offers import Offer, Price, resolve_offer
from tco.track.report import BudgetExceeded, BudgetWarning, Report, TrackError
from tco.track.store import RunStore
from tco.track.tracker import Tracker

if TYPE_CHECKING:
    from tco.track.calibration import MeasuredRun, from_run, label_measured, run_calibrations
    from tco.track.jax import track_jax
    from tco.track.torch import track_torch

_LAZY = {
    "track_torch": "tco.track.torch",
    "track_jax": "tco.track.jax",
    "from_run": "tco.track.calibration",
    "run_calibrations": "tco.track.calibration",
    "label_measured": "tco.track.calibration",
    "MeasuredRun": "tco.track.calibration",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tco.track' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "BudgetExceeded",
    "BudgetWarning",
    "DeviceSpec",
    "MeasuredRun",
    "Offer",
    "Price",
    "Report",
    "RunStore",
    "TrackError",
    "Tracker",
    "from_run",
    "label_measured",
    "resolve_offer",
    "run_calibrations",
    "track_jax",
    "track_torch",
]
