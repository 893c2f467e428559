"""JAX loops: a real jitted MLP training step (plain SGD, as an optax update would be) under ``track_jax``."""

from __future__ import annotations

import math
from time import perf_counter
from typing import Any

import pytest

from tco.track import track_jax

# The framework is imported when a test runs, not when pytest collects this file.
jax: Any = None
_train_step: Any = None

BATCH, IN, HIDDEN, OUT = 128, 256, 512, 32


@pytest.fixture(autouse=True)
def _jax() -> None:
    global jax, _train_step
    jax = pytest.importorskip("jax")
    if _train_step is None:
        jnp = jax.numpy

        def loss_of(weights: dict[str, Any], x: Any, y: Any) -> Any:
            hidden = jnp.tanh(x @ weights["a"])
            return jnp.mean((hidden @ weights["b"] - y) ** 2)

        def train_step(weights: dict[str, Any], x: Any, y: Any) -> tuple[dict[str, Any], Any]:
            loss, grads = jax.value_and_grad(loss_of)(weights, x, y)
            return jax.tree_util.tree_map(lambda w, g: w - 0.01 * g, weights, grads), loss

        _train_step = jax.jit(train_step)


def _data() -> tuple[dict[str, Any], Any, Any]:
    key_a, key_b, key_x, key_y = jax.random.split(jax.random.PRNGKey(0), 4)
    weights = {
        "a": jax.random.normal(key_a, (IN, HIDDEN)) * 0.05,
        "b": jax.random.normal(key_b, (HIDDEN, OUT)) * 0.05,
    }
    return weights, jax.random.normal(key_x, (BATCH, IN)), jax.random.normal(key_y, (BATCH, OUT))


@pytest.mark.usefixtures("no_gc")
def test_every_step_is_synchronised_and_agrees_with_an_independent_timer() -> None:
    weights, x, y = _data()
    step = track_jax(
        _train_step,
        params=weights,
        samples_per_step=BATCH,
        usd_per_hour=3.0,
        target_steps=40,
        count_flops=False,
    )
    timed = 0.0
    losses = []
    for index in range(20):
        started = perf_counter()
        weights, loss = step(weights, x, y)
        jax.block_until_ready((weights, loss))
        if index >= 1:
            timed += perf_counter() - started
        losses.append(float(loss))
    report = step.tracker.close()
    independent = 19 * BATCH / timed
    # Inside the same synchronised calls the tracker can only be faster; without its block_until_ready it
    # would time the asynchronous dispatch alone, many times faster than the device.
    assert independent <= report.samples_per_s <= 1.5 * independent
    assert losses[-1] < losses[0]  # it trains
    assert report.cost_usd == report.elapsed_s / 3600.0 * 3.0
    assert report.progress == 0.5 and math.isnan(report.mfu)


def test_xla_counts_the_step_flops() -> None:
    weights, x, y = _data()
    step = track_jax(_train_step, samples_per_step=BATCH, persist=False)
    step(weights, x, y)
    record = step.tracker._run_record()
    # forward 2BIH + 2BHO, weight gradients the same again, the hidden layer's input gradient 2BHO (no
    # gradient for x): 4B(IH + HO) + 2BHO, plus XLA's element-wise work (a few percent here).
    matmuls = 4 * BATCH * (IN * HIDDEN + HIDDEN * OUT) + 2 * BATCH * HIDDEN * OUT
    assert record["flops_source"].startswith("XLA cost analysis")
    assert matmuls <= record["flops_per_sample"] * BATCH <= 1.05 * matmuls
    assert step.tracker.device.framework == "jax" and step.tracker.device.count == 1


def test_params_as_a_pytree_are_counted_and_give_the_6n_count_without_cost_analysis() -> None:
    weights, x, y = _data()
    step = track_jax(_train_step, params=weights, tokens_per_step=BATCH, count_flops=False, persist=False)
    step(weights, x, y)
    record = step.tracker._run_record()
    assert record["params"] == IN * HIDDEN + HIDDEN * OUT
    assert record["flops_per_token"] == 6 * (IN * HIDDEN + HIDDEN * OUT)
    assert record["flops_source"].startswith("6N (parameter pytree size)")
