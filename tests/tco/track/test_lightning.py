"""PyTorch Lightning: a real tiny ``trainer.fit`` on CPU with ``CostCallback``."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from time import perf_counter
from typing import Any

import pytest

from tco.home import resolve_home
from tco.track import BudgetWarning, RunStore

FEATURES, BATCH, SAMPLES = 32, 16, 256

# Lightning is imported when a test runs, not when pytest collects this file (collection on every xdist
# worker would otherwise pay for it).
pl: Any = None
torch: Any = None
CostCallback: Any = None
Regression: Any = None
BatchTimer: Any = None


@pytest.fixture(autouse=True)
def _lightning() -> None:
    global pl, torch, CostCallback, Regression, BatchTimer
    pl = pytest.importorskip("lightning.pytorch")
    torch = pytest.importorskip("torch")
    if Regression is not None:
        return
    from tco.track.lightning import CostCallback as callback

    class Model(pl.LightningModule):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(FEATURES, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
            )

        def training_step(self, batch: Any, index: int) -> Any:
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def validation_step(self, batch: Any, index: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    class Timer(pl.Callback):  # type: ignore[misc,name-defined]
        """An independent timer of the training batches (the first one, the warm-up, left out)."""

        def __init__(self) -> None:
            self.seconds = 0.0
            self.batches = 0
            self._started = 0.0

        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, index: int) -> None:
            self._started = perf_counter()

        def on_train_batch_end(self, trainer: Any, module: Any, outputs: Any, batch: Any, index: int) -> None:
            if trainer.global_step > 1:
                self.seconds += perf_counter() - self._started
                self.batches += 1

    CostCallback, Regression, BatchTimer = callback, Model, Timer


def _loader() -> Any:
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(SAMPLES, FEATURES), torch.randn(SAMPLES, 1))
    return torch.utils.data.DataLoader(data, batch_size=BATCH)


def _fit(root: Path, callbacks: list[Any], ckpt_path: str | None = None, **trainer: Any) -> Any:
    torch.set_num_threads(1)
    options = {
        "max_epochs": 2,
        "accelerator": "cpu",
        "default_root_dir": str(root),
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "logger": pl.loggers.CSVLogger(str(root), name="logs"),
        "log_every_n_steps": 4,
        **trainer,
    }
    fitted = pl.Trainer(callbacks=callbacks, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's own advice on workers and logging intervals
        fitted.fit(Regression(), _loader(), _loader(), ckpt_path=ckpt_path)
    return fitted


@pytest.mark.usefixtures("no_gc")
def test_fit_logs_the_cost_through_lightnings_logger(tmp_path: Path) -> None:
    timer = BatchTimer()
    cost = CostCallback(tokens_per_sample=1, usd_per_hour=4.0)
    trainer = _fit(tmp_path, [timer, cost])  # the timer's hooks run first: it starts before the tracker
    report = cost.report
    assert report.step == 2 * SAMPLES / BATCH and report.samples == 2 * SAMPLES
    assert report.target_kind == "epochs" and report.progress == 1.0
    assert report.cost_usd == report.elapsed_s / 3600.0 * 4.0
    assert report.eval_s > 0 and report.checkpoint_s > 0  # validation and ModelCheckpoint's saves
    independent = timer.batches * BATCH / timer.seconds
    # the two callbacks' windows overlap but are not nested: a generous band both ways
    assert independent / 1.5 <= report.samples_per_s <= 1.5 * independent

    assert "tco/cost_usd" in trainer.progress_bar_metrics and "tco/eta_s" in trainer.progress_bar_metrics
    (metrics,) = Path(trainer.logger.log_dir).glob("metrics.csv")
    with metrics.open() as handle:
        rows = list(csv.DictReader(handle))
    costs = [float(r["tco/cost_usd"]) for r in rows if r.get("tco/cost_usd")]
    assert costs and costs == sorted(costs) and costs[-1] > 0  # logged as the run went, growing
    run = RunStore.in_home(resolve_home()).run(cost.tracker.run_id)
    assert run is not None and run["status"] == "finished" and run["adapter"] == "lightning"


def test_a_spent_budget_stops_the_trainer(tmp_path: Path) -> None:
    cost = CostCallback(usd_per_hour=3.6e6, budget_usd=30.0, on_budget="stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetWarning)
        trainer = _fit(tmp_path, [cost], max_epochs=50)
    assert trainer.global_step < 50 * SAMPLES / BATCH
    assert cost.report.budget_state == "spent"
    run = RunStore.in_home(resolve_home()).run(cost.tracker.run_id)
    assert run is not None and run["status"] == "stopped"


def test_fit_from_a_checkpoint_reattaches_to_the_run(tmp_path: Path) -> None:
    first = CostCallback(usd_per_hour=1.0)
    saver = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), save_last=True)
    _fit(tmp_path, [first, saver], max_epochs=1)
    run_id = first.tracker.run_id
    second = CostCallback(usd_per_hour=1.0)  # no run id given: it comes from the checkpoint
    _fit(tmp_path, [second], ckpt_path=saver.last_model_path, max_epochs=2)
    assert second.tracker.run_id == run_id
    segments = RunStore.in_home(resolve_home()).segments(run_id)
    assert len(segments) == 2
    per_epoch = SAMPLES / BATCH
    assert segments[1]["start_step"] == per_epoch and segments[1]["lost_steps"] == 0
    assert second.report.step == 2 * per_epoch and second.report.restart_s > 0
