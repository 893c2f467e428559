"""`tco estimate train --from-run ID` end to end: a real tiny PyTorch training loop is tracked, then the CLI
re-projects the whole job from the run's measured rate ("measured on your job") on catalog offers.

The loop runs on this CPU. In the first test the job is described as running on 8 A100s (a
:class:`DeviceSpec` is data: the tracker reads its name and peak), so the measurement has a fraction of peak
that carries over to other accelerators; the second tracks the same loop with ``track_torch`` as it is (a
CPU: no sourced peak, so the run re-projects only onto a CPU and says so).
"""

from __future__ import annotations

from typing import Any

import pytest

from tco.track import DeviceSpec, Tracker, track_torch
from tco.track.calibration import MEASURED_ON_YOUR_JOB

torch: Any = None

VOCAB, HIDDEN, BATCH, SEQ = 256, 128, 8, 64
A100 = DeviceSpec("torch", "2.13.0", "cuda", "NVIDIA A100-SXM4-80GB", 8, "bf16", "described for the test")


@pytest.fixture(autouse=True)
def _torch() -> None:
    global torch
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


def _loop(tracker: Tracker, steps: int) -> None:
    """A real training loop: an embedding, one hidden layer and a head, SGD on random tokens."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Embedding(VOCAB, HIDDEN), torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.Linear(HIDDEN, VOCAB)
    )
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    data = torch.randint(0, VOCAB, (BATCH, SEQ))
    for _ in range(steps):
        with tracker.step():
            logits = model(data)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), data.reshape(-1))
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()


def test_a_tracked_job_is_reprojected_on_other_accelerators_and_offers(cli: Any) -> None:
    tracker = Tracker(
        run_id="tiny-lm-0001", name="tiny lm", tokens_per_step=BATCH * SEQ, params=7e9, layers=32,
        hidden=4096, heads=32, seq_len=SEQ, device=A100, target_tokens=2e11,
    )  # fmt: skip
    _loop(tracker, 8)
    report = tracker.close()
    result = cli(
        "estimate", "train", "--from-run", "tiny-lm", "-a", "a100-80,h100", "-n", "8,64", "--provider", "aws",
        "--pricing-model", "on_demand", "--top", "0", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert {r["accelerator"] for r in rows} == {"A100-80GB", "H100-80GB"}
    assert {r["framework"] for r in rows} == {"torch"} and {r["dtype"] for r in rows} == {"bf16"}
    assert all(r["workload"] == "tiny lm" and r["train_flops"] > 0 for r in rows)
    sources = {r["accelerator"]: r["throughput_source"] for r in rows}
    assert sources == {
        "A100-80GB": MEASURED_ON_YOUR_JOB,
        "H100-80GB": f"{MEASURED_ON_YOUR_JOB} (transferred)",
    }
    a100 = next(r for r in rows if r["accelerator"] == "A100-80GB")
    assert a100["mfu"] == pytest.approx(report.mfu, rel=1e-6), "the measured fraction of peak is the rate"
    assert "re-projecting measured on your job: run tiny-lm-0001" in result.stderr
    # the job's own numbers can be changed: a longer target costs more
    longer = cli(
        "estimate", "train", "--from-run", "tiny-lm-0001", "--tokens", "4e11", "-a", "a100-80", "-n", "8",
        "--provider", "aws", "--pricing-model", "on_demand", "-f", "json",
    )  # fmt: skip
    assert longer.exit_code == 0, longer.stderr
    (row,) = [r for r in longer.json() if r["accelerator"] == "A100-80GB"]
    (base,) = [r for r in rows if r["accelerator"] == "A100-80GB" and r["accelerator_count"] == 8]
    assert row["cost_usd_per_run"] == pytest.approx(2 * base["cost_usd_per_run"], rel=1e-9)
    assert "overridden: tokens" in row["workload_source"]


def test_a_cpu_run_keeps_other_accelerators_on_their_assumed_rate(cli: Any) -> None:
    tracker = track_torch(
        torch.nn.Linear(HIDDEN, HIDDEN), run_id="cpu-loop", tokens_per_step=BATCH * SEQ, seq_len=SEQ,
        target_steps=1000,
    )  # fmt: skip
    _loop(tracker, 6)
    tracker.close()
    result = cli("estimate", "train", "--from-run", "cpu-loop", "-a", "h100", "-n", "8", "-f", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert rows and {r["dtype"] for r in rows} == {"fp32"}, "the run's precision, not bf16"
    assert MEASURED_ON_YOUR_JOB not in {r["throughput_source"] for r in rows}
    assert "has no sourced fp32 peak" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from-run", "no-such-run"), "error: no tracked run 'no-such-run'"),
        (("--from-run", "cpu", "--model", "llama-2-7b"), "error: give a tracked run or a model preset"),
    ],
)
def test_from_run_errors_are_one_line(cli: Any, args: tuple[str, ...], message: str) -> None:
    tracker = Tracker(run_id="cpu-run", tokens_per_step=10, params=1e6)
    _loop(tracker, 3)
    tracker.close()
    result = cli("estimate", "train", *args, "-a", "h100")
    assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
