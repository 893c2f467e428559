"""One rank of the ``torch.distributed`` all-reduce benchmark; ``torchrun`` starts one per device/process.

``python -m torch.distributed.run --standalone --nproc-per-node N -m calibrate.backends.torch_allreduce
--out FILE --device cpu|cuda --sizes BYTES,... --budget JSON --seed S``

Every rank first checks the collective: it all-reduces ``(rank + 1) * base`` (``base`` random, the same on
every rank) and verifies ``base * n (n + 1) / 2``. Then, per size, all ranks agree on the same number of
timed samples (so that no rank waits on a collective the others skip), time ``inner`` back-to-back
in-place all-reduces per sample (synchronised on CUDA), and take the slowest rank's time for each sample.
Bus bandwidth follows nccl-tests: ``busbw = bytes / time * 2 (n - 1) / n``. Rank 0 writes the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from calibrate.backends.base import import_framework
from calibrate.backends.torch import INFO
from calibrate.kernels import allreduce_bus_gb_per_s, check_allreduce
from calibrate.system import PeakRss
from calibrate.timing import Budget, measure


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="calibrate.backends.torch_allreduce")
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--sizes", required=True, help="comma-separated buffer sizes in bytes")
    parser.add_argument("--budget", default="{}", help="calibrate.timing.Budget fields as JSON")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    torch = import_framework(INFO)
    dist = import_framework(INFO, "torch.distributed")
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    rss = PeakRss()
    rss.reset()
    if args.device == "cuda":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        dist.init_process_group("nccl", device_id=device)

        def sync(_outputs: Sequence[Any]) -> None:
            torch.cuda.synchronize()
    else:
        torch.set_num_threads(1)
        device = torch.device("cpu")
        dist.init_process_group("gloo")

        def sync(_outputs: Sequence[Any]) -> None:
            return None

    budget = Budget(**json.loads(args.budget))
    base = torch.randn(4096, generator=torch.Generator().manual_seed(args.seed))
    probe = (base * (rank + 1)).to(device)
    dist.all_reduce(probe)
    check_error = check_allreduce(probe.cpu().numpy(), base.numpy(), world)

    sizes_out: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        elements = max(1, size // 4)
        buffer = torch.randn(elements, device=device)

        def step(buf: Any = buffer) -> Any:
            dist.all_reduce(buf)
            return buf

        # Agree on inner and repeats from the slowest rank's estimate of one call.
        for _ in range(2):
            step()
        sync([])
        t0 = torch.tensor([0.0], dtype=torch.float64)
        start = time.perf_counter()
        step()
        sync([])
        t0[0] = time.perf_counter() - start
        t0 = t0.to(device)
        dist.all_reduce(t0, op=dist.ReduceOp.MAX)
        single_s = max(float(t0.cpu()[0]), 1e-7)
        inner = max(1, min(1000, math.ceil(budget.sample_s / single_s)))
        repeats = int(min(budget.max_repeats, max(budget.min_repeats, budget.budget_s // (inner * single_s))))
        fixed = Budget(warmup=budget.warmup, min_repeats=repeats, max_repeats=repeats, budget_s=0.0)
        timing = measure(step, sync, fixed, inner=inner)
        samples = torch.tensor(list(timing.samples_s), dtype=torch.float64).to(device)
        dist.all_reduce(samples, op=dist.ReduceOp.MAX)
        slowest = sorted(float(v) for v in samples.cpu())
        median = (
            slowest[len(slowest) // 2]
            if len(slowest) % 2
            else (slowest[len(slowest) // 2 - 1] + slowest[len(slowest) // 2]) / 2
        )
        sizes_out.append(
            {
                "bytes": elements * 4,
                "inner": inner,
                "repeats": repeats,
                "first_call_s": timing.first_call_s,
                "samples_s": [float(v) for v in samples.cpu()],
                "median_s": median,
                "busbw_gb_per_s": allreduce_bus_gb_per_s(elements * 4, median, world),
                "algbw_gb_per_s": elements * 4 / median / 1e9,
            }
        )
        del buffer

    if args.device == "cuda":
        peak, source = float(torch.cuda.max_memory_allocated()), "torch.cuda.max_memory_allocated (rank 0)"
    else:
        peak, source = rss.peak_bytes(), "peak RSS of rank 0"
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        result = {
            "ranks": world,
            "backend": "nccl" if args.device == "cuda" else "gloo",
            "check_error": check_error,
            "sizes": sizes_out,
            "peak_memory_bytes": peak,
            "peak_memory_source": source,
        }
        tmp = args.out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(result, f)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
