"""The run record: what :mod:`tco.track` stores about a tracked job (one row per run, one per segment).

A *run* is one training job, named by ``run_id``; a *segment* is one process's stretch of it (a job that is
restarted or resumed re-attaches to its run id and adds a segment). Units are in the names; a value that
was not measured or not given is NULL (NaN in frames), never 0.

``runs`` (what the job is; written when a tracker attaches, updated when it learns more):

- identity: ``run_id``, ``name``, ``adapter`` (plain | torch | lightning | keras | jax), ``status``
  (running | finished | stopped | failed | detached), ``created_at``, ``updated_at`` (ISO UTC), ``host``,
  ``tool_version``
- device: ``framework`` (the compute framework: torch | jax | tensorflow | none), ``framework_version``,
  ``device_kind`` (cpu | cuda | rocm | tpu | mps), ``device_name``, ``accelerator`` (canonical name, ``CPU``
  for the host), ``peak_key`` (row of calibrate's peak table), ``device_count`` (devices the job uses),
  ``dtype`` (compute precision), ``peak_tflops`` (dense peak per device in that dtype; NULL: none sourced)
- model: ``params`` (parameters that do a matmul per token), ``layers``, ``hidden``, ``heads``,
  ``seq_len``, ``flops_per_token`` and ``flops_per_sample`` (model FLOPs, forward and backward),
  ``flops_source`` (where the FLOP count comes from)
- work: ``tokens_per_step``, ``samples_per_step`` (whole job, all devices), ``steps_per_epoch``,
  ``target_kind`` (tokens | samples | steps | epochs), ``target_value``
- price: ``usd_per_hour`` (the whole job: instance price x instances), ``price_source`` (snapshot label or
  "given"), ``provider``, ``instance_type``, ``region``, ``pricing_model``, ``instances``
- budget: ``budget_usd``, ``on_budget`` (warn | stop | raise)
- ``details``: JSON (adapter settings, how the device was found, ...)

``segments`` (what one process measured; rewritten at every flush):

- ``segment_id``, ``run_id``, ``seq`` (0 for the first process), ``host``, ``pid``, ``started_at``,
  ``started_unix``, ``last_seen_at``, ``last_seen_unix`` (the last flush: a crashed process stops here),
  ``ended_at`` (NULL while running or after a crash), ``end_reason``
- progress: ``start_step`` (global step the segment began at), ``steps``, ``tokens``, ``samples``,
  ``epochs`` (completed in this segment); ``warmup_steps``, ``steady_steps``, ``steady_s``, ``steady_tokens``,
  ``steady_samples`` (the steps after the warm-up ones: compile and allocator warm-up excluded);
  ``first_step_s``; ``step_times_s`` (JSON: the last step times, for quantiles)
- time, in seconds of wall clock: ``elapsed_s`` (attach to last flush: billed), ``productive_s`` (inside
  steps), ``data_wait_s`` (between steps outside any marked phase), ``eval_s``, ``checkpoint_s``,
  ``startup_s`` (attach to first step), ``tracker_s`` (the tracker's own writes), ``restart_gap_s`` (from
  the previous segment's last flush to this one's start: billed, lost), ``paused_s`` (a gap longer than
  ``max_restart_gap_s``: neither billed nor lost)
- lost progress: ``lost_steps``, ``lost_tokens``, ``lost_samples`` (work the previous segments did after the
  checkpoint this one resumed from; negative: steps the checkpoint has that no flush recorded),
  ``lost_progress_s`` (the step time spent on the lost steps)
"""

from __future__ import annotations

from typing import Final

#: The store's file name under tco's home directory.
RUNS_FILENAME: Final = "runs.sqlite"

RUN_FLOAT_COLUMNS: Final = (
    "device_count",
    "peak_tflops",
    "params",
    "layers",
    "hidden",
    "heads",
    "seq_len",
    "flops_per_token",
    "flops_per_sample",
    "tokens_per_step",
    "samples_per_step",
    "steps_per_epoch",
    "target_value",
    "usd_per_hour",
    "instances",
    "budget_usd",
)
RUN_COLUMNS: Final = (
    "run_id",
    "name",
    "adapter",
    "status",
    "created_at",
    "updated_at",
    "host",
    "tool_version",
    "framework",
    "framework_version",
    "device_kind",
    "device_name",
    "accelerator",
    "peak_key",
    "device_count",
    "dtype",
    "peak_tflops",
    "params",
    "layers",
    "hidden",
    "heads",
    "seq_len",
    "flops_per_token",
    "flops_per_sample",
    "flops_source",
    "tokens_per_step",
    "samples_per_step",
    "steps_per_epoch",
    "target_kind",
    "target_value",
    "usd_per_hour",
    "price_source",
    "provider",
    "instance_type",
    "region",
    "pricing_model",
    "instances",
    "budget_usd",
    "on_budget",
    "details",
)

SEGMENT_FLOAT_COLUMNS: Final = (
    "seq",
    "pid",
    "started_unix",
    "last_seen_unix",
    "start_step",
    "steps",
    "tokens",
    "samples",
    "epochs",
    "warmup_steps",
    "steady_steps",
    "steady_s",
    "steady_tokens",
    "steady_samples",
    "first_step_s",
    "elapsed_s",
    "productive_s",
    "data_wait_s",
    "eval_s",
    "checkpoint_s",
    "startup_s",
    "tracker_s",
    "restart_gap_s",
    "paused_s",
    "lost_steps",
    "lost_tokens",
    "lost_samples",
    "lost_progress_s",
)
SEGMENT_COLUMNS: Final = (
    "segment_id",
    "run_id",
    "seq",
    "host",
    "pid",
    "started_at",
    "started_unix",
    "last_seen_at",
    "last_seen_unix",
    "ended_at",
    "end_reason",
    "start_step",
    "steps",
    "tokens",
    "samples",
    "epochs",
    "warmup_steps",
    "steady_steps",
    "steady_s",
    "steady_tokens",
    "steady_samples",
    "first_step_s",
    "step_times_s",
    "elapsed_s",
    "productive_s",
    "data_wait_s",
    "eval_s",
    "checkpoint_s",
    "startup_s",
    "tracker_s",
    "restart_gap_s",
    "paused_s",
    "lost_steps",
    "lost_tokens",
    "lost_samples",
    "lost_progress_s",
)

STATUSES: Final = ("running", "finished", "stopped", "failed", "detached")
TARGET_KINDS: Final = ("tokens", "samples", "steps", "epochs")
ON_BUDGET: Final = ("warn", "stop", "raise")
