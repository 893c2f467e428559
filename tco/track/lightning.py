"""PyTorch Lightning: a callback that tracks ``trainer.fit`` and logs the cost through Lightning's loggers.

::

    cost = CostCallback(tokens_per_sample=1024, offer="aws:p5.48xlarge")
    trainer = L.Trainer(max_epochs=3, callbacks=[cost])

A step is a training batch (``on_train_batch_start`` to ``on_train_batch_end``, the device synchronised);
samples per batch are Lightning's ``extract_batch_size`` times the world size, tokens are
``tokens_per_sample`` x samples (or ``count_tokens(batch)`` x world size). Validation counts as evaluation,
``trainer.save_checkpoint`` as checkpointing; everything before the first batch (set-up, sanity check,
checkpoint restore) as start-up. The run id is saved in Lightning checkpoints, so ``fit(ckpt_path=...)``
re-attaches to the run and resumes at ``global_step`` x ``accumulate_grad_batches`` batches. The default
target is ``max_steps`` (else ``max_epochs``). The report's metrics go to the trainer's loggers (cost and
ETA also to the progress bar through ``pl_module.log_dict``) when Lightning writes its logs
(``log_every_n_steps``); with
``on_budget="stop"`` a spent budget sets ``trainer.should_stop``. FLOPs: ``6N`` from the module's
parameters, or ``count_flops=True`` to count the first batch with ``torch.utils.flop_counter``. Only rank
0 writes the run record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from time import perf_counter
from typing import Any

import lightning.pytorch as pl

from tco.track.device import DTYPE_ALIASES
from tco.track.flops import torch_counter, torch_matmul_params
from tco.track.torch import torch_device
from tco.track.tracker import Tracker

_PROGRESS_BAR = ("tco/cost_usd", "tco/projected_cost_usd", "tco/eta_s")


class CostCallback(pl.Callback):
    """Tracks ``trainer.fit`` (see the module docstring). ``tokens_per_sample`` or ``count_tokens``: the
    tokens of a batch; ``dtype``: the compute precision (default: from ``trainer.precision``); every other
    argument is the :class:`Tracker`'s (``usd_per_hour``/``offer``, ``target_*``, ``budget_usd``,
    ``on_budget``, ``run_id``, ...)."""

    def __init__(
        self,
        *,
        tokens_per_sample: float | None = None,
        count_tokens: Callable[[Any], float] | None = None,
        dtype: str | None = None,
        count_flops: bool = False,
        **tracker_args: Any,
    ) -> None:
        super().__init__()
        self._clock: tuple[float, float] | None = (time.time(), perf_counter())
        self._args = dict(tracker_args)
        self._tokens_per_sample = tokens_per_sample
        self._count_tokens = count_tokens
        self._dtype = dtype
        self._count_flops = count_flops and tracker_args.get("flops_per_token") is None
        self._restored_run_id: str | None = None
        self._counter: torch_counter | None = None
        self._saving: Any = None
        self._pending: tuple[float | None, float | None] = (None, None)
        self.tracker: Tracker | None = None
        self.report: Any = None

    # --- run identity in checkpoints ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.tracker.run_id} if self.tracker is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        run_id = state_dict.get("run_id")
        self._restored_run_id = str(run_id) if run_id else None

    # --- set-up ------------------------------------------------------------------------------------------

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or self._saving is not None:
            return
        if self._clock is None:  # a later fit() with the same callback starts its clock here
            self._clock = (time.time(), perf_counter())
        original = trainer.save_checkpoint

        def save_checkpoint(*args: Any, **kwargs: Any) -> Any:
            tracker = self.tracker
            if tracker is None:
                return original(*args, **kwargs)
            tracker.phase_begin("checkpoint")
            try:
                return original(*args, **kwargs)
            finally:
                tracker.phase_end()

        trainer.save_checkpoint = save_checkpoint  # type: ignore[method-assign]
        self._saving = original

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._saving is not None:
            trainer.save_checkpoint = self._saving  # type: ignore[method-assign]
            self._saving = None
        if self.tracker is not None and not self.tracker._closed:
            self.report = self.tracker.close("failed" if trainer.interrupted else None)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        args = dict(self._args)
        if args.get("run_id") is None and self._restored_run_id:
            args["run_id"] = self._restored_run_id
        precision: str | None = self._dtype or str(trainer.precision)
        if precision is not None and precision.lower() not in DTYPE_ALIASES:
            precision = None  # e.g. "transformer-engine": the parameters' dtype
        spec, sync = torch_device(pl_module, dtype=precision, devices=trainer.world_size)
        spec = spec.with_(source=f"lightning: {spec.source}, world size {trainer.world_size}")
        details = dict(args.pop("details", None) or {})
        details.update(lightning_precision=str(trainer.precision), world_size=trainer.world_size)
        if args.get("params") is None:
            args["params"], details["params_source"] = torch_matmul_params(pl_module)
        args.setdefault("adapter", "lightning")
        args.setdefault("report_every_s", None)
        args.setdefault("persist", bool(trainer.is_global_zero))
        if self._count_flops:
            args["warmup_steps"] = max(int(args.get("warmup_steps", 1)), 1)
        tracker = Tracker(device=spec, sync=sync, details=details, clock=self._clock, **args)
        self._clock = None
        self.tracker = tracker
        self._args["run_id"] = tracker.run_id
        accumulate = int(getattr(trainer, "accumulate_grad_batches", 1) or 1)
        batches = trainer.num_training_batches
        if isinstance(batches, int) and batches > 0:
            tracker.update(steps_per_epoch=batches, only_missing=True)
        if trainer.max_steps and trainer.max_steps > 0:
            tracker.update(
                target_kind="steps", target_value=trainer.max_steps * accumulate, only_missing=True
            )
        elif trainer.max_epochs and trainer.max_epochs > 0 and isinstance(batches, int) and batches > 0:
            tracker.update(target_kind="epochs", target_value=trainer.max_epochs, only_missing=True)
        if trainer.global_step or tracker._previous_segments:
            tracker.resume_from(trainer.global_step * accumulate)

    # --- steps -------------------------------------------------------------------------------------------

    def _work(self, trainer: pl.Trainer, batch: Any) -> tuple[float | None, float | None]:
        from lightning.pytorch.utilities.data import extract_batch_size

        world = max(int(trainer.world_size), 1)
        try:
            samples: float | None = float(extract_batch_size(batch)) * world
        except Exception:  # a batch Lightning cannot size: samples stay unknown
            samples = None
        if self._count_tokens is not None:
            tokens: float | None = float(self._count_tokens(batch)) * world
        elif self._tokens_per_sample is not None and samples is not None:
            tokens = samples * float(self._tokens_per_sample)
        else:
            tokens = None
        return tokens, samples

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        self._pending = self._work(trainer, batch)
        if self._count_flops and tracker.steps == 0:
            self._counter = torch_counter()
            self._counter.__enter__()
        tracker.begin()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        tracker = self.tracker
        if tracker is None:
            return
        counter, self._counter = self._counter, None
        if counter is not None:
            counter.__exit__(None, None, None)
        tokens, samples = self._pending
        tracker.end(tokens, samples)
        if counter is not None:
            tracker.record_counted_flops(counter.flops, tokens, samples, "torch.utils.flop_counter")
        if tracker.should_stop:
            trainer.should_stop = True
        if self._should_log(trainer):
            self.report = tracker.report()
            self._log(trainer, pl_module, self.report.metrics())

    @staticmethod
    def _log(trainer: pl.Trainer, pl_module: pl.LightningModule, metrics: dict[str, float]) -> None:
        """Every metric to the trainer's loggers (straight to ``log_metrics``: ``self.log`` per metric costs
        a tensor and a results update each); cost and ETA also on the progress bar."""
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=trainer.global_step)
        on_bar = {k: v for k, v in metrics.items() if k in _PROGRESS_BAR}
        if on_bar:
            pl_module.log_dict(on_bar, on_step=True, on_epoch=False, prog_bar=True, logger=False)

    @staticmethod
    def _should_log(trainer: pl.Trainer) -> bool:
        """When Lightning itself writes step metrics to its loggers (``log_every_n_steps``)."""
        connector = getattr(trainer, "_logger_connector", None)
        decision = getattr(connector, "should_update_logs", None)
        if isinstance(decision, bool):
            return decision or bool(trainer.should_stop)
        every = int(getattr(trainer, "log_every_n_steps", 50) or 50)
        return trainer.global_step % every == 0

    # --- phases ------------------------------------------------------------------------------------------

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.tracker is not None:
            self.tracker.phase_begin("eval")

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.tracker is not None:
            self.tracker.phase_end()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.tracker is not None:
            self.tracker.epoch_end()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if self.tracker is not None and not self.tracker._closed:
            self.report = self.tracker.close("failed")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.tracker is not None and not self.tracker._closed:
            self.report = self.tracker.close()
