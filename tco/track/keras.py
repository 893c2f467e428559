"""Keras 3 (any backend): a callback that tracks ``model.fit`` and adds the cost to Keras's own logs.

::

    cost = CostCallback(samples_per_step=batch_size, tokens_per_sample=seq_len, usd_per_hour=12.0)
    model.fit(x, y, batch_size=batch_size, epochs=3, callbacks=[cost])

Every ``report_every_steps`` batches and at the end of each epoch the report's metrics (``tco/cost_usd``,
``tco/projected_cost_usd``, ``tco/eta_s``, ``tco/mfu``, ...) go into the ``logs`` dict, so the progress bar,
``History`` and any logger callback after this one see them. Validation inside ``fit`` counts as evaluation.
The default target is the ``fit`` call's epochs x steps; with ``on_budget="stop"`` a spent budget sets
``model.stop_training``. A resumed process (same ``run_id``) resumes from the optimizer's ``iterations``.
FLOPs: ``6N`` from ``model.count_params()`` when the work is in tokens; give ``flops_per_sample`` for a
model without tokens (a CNN). The device step is synchronised on a GPU (TensorFlow ``sync_devices``,
``torch.cuda.synchronize``; JAX's outputs are already waited for when Keras converts the logs).
"""

from __future__ import annotations

import time
from time import perf_counter
from typing import Any

import keras

from tco.track.device import DeviceSpec
from tco.track.tracker import Tracker


def keras_device(dtype: str | None = None) -> tuple[DeviceSpec, Any]:
    """The device the Keras backend computes on, and the function that synchronises it (None: no need)."""
    backend = keras.backend.backend()
    precision = dtype or keras.config.dtype_policy().compute_dtype
    if backend == "tensorflow":
        import tensorflow as tf

        version = str(tf.__version__)
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            name = str(tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU"))
            spec = DeviceSpec("tensorflow", version, "cuda", name, 1, precision, "keras/tensorflow: GPU 0")
            return spec, tf.test.experimental.sync_devices
        return DeviceSpec.host("tensorflow", version).with_(
            dtype=precision, source="keras/tensorflow: CPU"
        ), None
    if backend == "jax":
        from tco.track.jax import jax_device

        return jax_device(dtype=precision).with_(source="keras/jax: default device"), None
    if backend == "torch":
        import torch

        version = str(torch.__version__)
        if torch.cuda.is_available():
            name = torch.cuda.get_device_name(torch.cuda.current_device())
            kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
            spec = DeviceSpec("torch", version, kind, name, 1, precision, "keras/torch: current CUDA device")
            return spec, torch.cuda.synchronize
        return DeviceSpec.host("torch", version).with_(dtype=precision, source="keras/torch: CPU"), None
    return DeviceSpec.host(backend).with_(dtype=precision, source=f"keras/{backend}"), None


class CostCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Tracks ``model.fit`` (see the module docstring). ``tokens_per_sample`` turns samples into tokens;
    every other argument is the :class:`Tracker`'s (``samples_per_step``, ``tokens_per_step``,
    ``usd_per_hour``/``offer``, ``target_*``, ``budget_usd``, ``on_budget``, ``run_id``, ...)."""

    def __init__(
        self,
        *,
        tokens_per_sample: float | None = None,
        dtype: str | None = None,
        report_every_steps: int = 10,
        **tracker_args: Any,
    ) -> None:
        super().__init__()
        self._clock = (time.time(), perf_counter())
        self._args = dict(tracker_args)
        self._tokens_per_sample = tokens_per_sample
        self._dtype = dtype
        self._every = max(int(report_every_steps), 1)
        self.tracker: Tracker | None = None
        self.report: Any = None

    def _start(self) -> Tracker:
        args = dict(self._args)
        samples = args.get("samples_per_step")
        if self._tokens_per_sample and samples and args.get("tokens_per_step") is None:
            args["tokens_per_step"] = float(samples) * float(self._tokens_per_sample)
        spec, sync = keras_device(self._dtype)
        args.setdefault("adapter", "keras")
        args.setdefault("report_every_s", None)
        details = dict(args.pop("details", None) or {})
        params = None
        if args.get("params") is None and self.model is not None and self.model.built:
            params = float(self.model.count_params())
            details["params_source"] = "keras model.count_params()"
        if params is not None:
            args["params"] = params
        details["keras_backend"] = keras.backend.backend()
        return Tracker(device=spec, sync=sync, details=details, clock=self._clock, **args)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.tracker is None or self.tracker._closed:
            clock = self._clock if self.tracker is None else (time.time(), perf_counter())
            self._clock = clock
            self.tracker = self._start()
            self._args["run_id"] = self.tracker.run_id  # a later fit() continues the same run
        tracker = self.tracker
        steps = self.params.get("steps") if self.params else None
        epochs = self.params.get("epochs") if self.params else None
        if steps:
            tracker.update(steps_per_epoch=steps, only_missing=True)
            if epochs:
                tracker.update(target_kind="epochs", target_value=epochs, only_missing=True)
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if tracker._previous_segments and iterations is not None:
            tracker.resume_from(int(keras.ops.convert_to_numpy(iterations)))

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.tracker is not None:
            self.tracker.begin()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        tracker.end()
        if tracker.steps == 1 and tracker.config.params is None and self.model is not None:
            tracker.details(params_source="keras model.count_params()")
            tracker.update(params=float(self.model.count_params()))
        if logs is not None and tracker.steps % self._every == 0:
            self.report = tracker.report()
            logs.update(self.report.metrics())
        if tracker.should_stop:
            self.model.stop_training = True

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.tracker is not None:
            self.tracker.phase_begin("eval")

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.tracker is not None:
            self.tracker.phase_end()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        tracker.epoch_end()
        self.report = tracker.report()
        if logs is not None:
            logs.update(self.report.metrics())

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.tracker is not None:
            self.report = self.tracker.close()
