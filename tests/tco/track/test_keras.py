"""Keras 3: a real tiny ``model.fit`` on CPU with ``CostCallback``; the cost lands in Keras's own logs."""

from __future__ import annotations

import warnings
from time import perf_counter
from typing import Any

import pytest

from tco.home import resolve_home
from tco.track import BudgetWarning, RunStore

FEATURES, BATCH, SAMPLES = 16, 32, 512

# Keras (and TensorFlow) are imported when a test runs, not when pytest collects this file.
keras: Any = None
np: Any = None
CostCallback: Any = None
BatchTimer: Any = None


@pytest.fixture(autouse=True)
def _keras() -> None:
    global keras, np, CostCallback, BatchTimer
    keras = pytest.importorskip("keras")
    np = pytest.importorskip("numpy")
    if BatchTimer is not None:
        return
    from tco.track.keras import CostCallback as callback

    class Timer(keras.callbacks.Callback):  # type: ignore[misc,name-defined]
        """An independent timer of the training batches (the first one, the warm-up, left out)."""

        def __init__(self) -> None:
            super().__init__()
            self.seconds = 0.0
            self.batches = 0
            self._seen = 0
            self._started = 0.0

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self._started = perf_counter()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._seen += 1
            if self._seen > 1:
                self.seconds += perf_counter() - self._started
                self.batches += 1

    CostCallback, BatchTimer = callback, Timer


def _model() -> Any:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    return rng.random((SAMPLES, FEATURES), dtype="float32"), rng.random((SAMPLES, 1), dtype="float32")


@pytest.mark.usefixtures("no_gc")
def test_fit_puts_the_cost_in_the_keras_logs() -> None:
    x, y = _data()
    timer = BatchTimer()
    cost = CostCallback(samples_per_step=BATCH, tokens_per_sample=1, usd_per_hour=6.0, report_every_steps=4)
    history = _model().fit(
        x, y, batch_size=BATCH, epochs=3, validation_split=0.25, callbacks=[timer, cost], verbose=0
    )
    report = cost.report
    steps = 3 * (SAMPLES * 3 // 4) // BATCH
    assert report.step == steps and report.tokens == steps * BATCH
    assert report.target_kind == "epochs" and report.progress == 1.0
    assert report.cost_usd == report.elapsed_s / 3600.0 * 6.0
    assert report.eval_s > 0  # the validation split
    independent = timer.batches * BATCH / timer.seconds
    # the two callbacks' windows overlap but are not nested: a generous band both ways
    assert independent / 1.5 <= report.samples_per_s <= 1.5 * independent

    costs = history.history["tco/cost_usd"]
    assert len(costs) == 3 and costs == sorted(costs) and costs[-1] > 0  # one per epoch, growing
    assert history.history["tco/progress"][-1] == 1.0
    run = RunStore.in_home(resolve_home()).run(cost.tracker.run_id)
    assert run is not None and run["status"] == "finished" and run["adapter"] == "keras"
    assert run["params"] == FEATURES * 32 + 32 + 32 + 1 and run["flops_source"].startswith("6N")


def test_a_spent_budget_stops_training() -> None:
    x, y = _data()
    cost = CostCallback(samples_per_step=BATCH, usd_per_hour=3.6e6, budget_usd=30.0, on_budget="stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BudgetWarning)
        history = _model().fit(x, y, batch_size=BATCH, epochs=100, callbacks=[cost], verbose=0)
    assert len(history.history["loss"]) < 100
    assert cost.report.budget_state == "spent"
    run = RunStore.in_home(resolve_home()).run(cost.tracker.run_id)
    assert run is not None and run["status"] == "stopped"
