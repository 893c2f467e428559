"""Plain PyTorch loops: a real tiny language model trained on CPU under ``track_torch``."""

from __future__ import annotations

import math
from time import perf_counter
from typing import Any

import pytest

from tco.track import track_torch
from tco.track.flops import torch_matmul_params

# The framework is imported when a test runs, not when pytest collects this file: collection on every
# xdist worker would otherwise pay for PyTorch.
torch: Any = None

VOCAB, HIDDEN, BATCH, SEQ = 256, 128, 8, 64


@pytest.fixture(autouse=True)
def _torch() -> None:
    global torch
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


def tiny_lm(tied: bool = False) -> Any:
    """Embedding, a bias-free hidden layer and a bias-free head (optionally tied to the embedding)."""

    class Model(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(VOCAB, HIDDEN)
            self.mix = torch.nn.Linear(HIDDEN, HIDDEN, bias=False)
            self.head = torch.nn.Linear(HIDDEN, VOCAB, bias=False)
            if tied:
                self.head.weight = self.embed.weight

        def forward(self, tokens: Any) -> Any:
            return self.head(torch.relu(self.mix(self.embed(tokens))))

    return Model()


def _train(steps: int, **track: Any) -> tuple[Any, float, int]:
    """A real loop; returns the tracker, the independently timed seconds of the steady steps, their count."""
    torch.manual_seed(0)
    model = tiny_lm()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    data = torch.randint(0, VOCAB, (BATCH, SEQ))
    tracker = track_torch(model, tokens_per_step=BATCH * SEQ, **track)
    timed = 0.0
    for index in range(steps):
        started = perf_counter()
        with tracker.step():
            logits = model(data)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), data.reshape(-1))
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
        if index >= 1:  # the first step is the tracker's warm-up step
            timed += perf_counter() - started
    return tracker, timed, steps - 1


@pytest.mark.usefixtures("no_gc")
def test_tokens_per_second_agree_with_an_independent_timer() -> None:
    tracker, timed, steady = _train(25, usd_per_hour=2.0, target_steps=50)
    report = tracker.close()
    independent = steady * BATCH * SEQ / timed
    # The tracker times the inside of the same steps, so it can only be faster; 50% covers a preempted
    # moment between the two clocks on a loaded host.
    assert independent <= report.tokens_per_s <= 1.5 * independent
    assert report.step == 25 and report.progress == 0.5
    assert report.cost_usd == report.elapsed_s / 3600.0 * 2.0
    assert math.isnan(report.mfu)  # a CPU has no sourced peak


def test_the_flop_counter_counts_the_training_step() -> None:
    tracker, _, _ = _train(3, count_flops=True)
    record = tracker._run_record()
    tracker.close()
    # Two bias-free matmul layers: forward 2 FLOPs per weight and token, backward 4 (embeddings: lookups).
    matmul_weights = HIDDEN * HIDDEN + HIDDEN * VOCAB
    assert record["flops_per_token"] == 6 * matmul_weights
    assert record["flops_source"].startswith("torch.utils.flop_counter")
    assert record["params"] == matmul_weights


def test_untied_embeddings_are_left_out_and_tied_ones_kept() -> None:
    untied, how = torch_matmul_params(tiny_lm())
    tied, _ = torch_matmul_params(tiny_lm(tied=True))
    assert untied == HIDDEN * HIDDEN + HIDDEN * VOCAB and "embedding" in how
    assert tied == HIDDEN * HIDDEN + HIDDEN * VOCAB  # the head's weight is the embedding's, counted once


def test_the_device_and_precision_come_from_the_model() -> None:
    tracker = track_torch(tiny_lm().to(torch.bfloat16), tokens_per_step=1, persist=False)
    assert tracker.device.kind == "cpu" and tracker.device.framework == "torch"
    assert tracker.device.dtype == "bf16"
    assert tracker._sync is None  # nothing to wait for on a CPU


@pytest.mark.gpu
def test_a_cuda_step_is_synchronised_and_has_an_mfu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU")
    model = torch.nn.Linear(4096, 4096, bias=False).cuda()
    data = torch.randn(64, 4096, device="cuda")
    tracker = track_torch(model, tokens_per_step=64, dtype="fp32")
    timed = 0.0
    for index in range(20):
        started = perf_counter()
        with tracker.step():
            model(data).square().mean().backward()
        torch.cuda.synchronize()
        if index:
            timed += perf_counter() - started
    report = tracker.close()
    assert tracker.device.accelerator is not None and math.isfinite(report.mfu) and report.mfu > 0
    assert report.tokens_per_s <= 1.25 * 19 * 64 / timed  # without the sync it would be far faster
