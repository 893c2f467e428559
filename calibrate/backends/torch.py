"""PyTorch: eager mode and ``torch.compile`` (Inductor), on CPU, CUDA or ROCm.

Variants: ``eager`` everywhere; ``compile`` (``torch.compile(model)``, default mode) for the model kernels
the profile names. The compiled variant's first step is its build time, and ``compile_cache`` says
whether Inductor's FX-graph cache was cold (misses), warm (hits only) or partial. On accelerators the
models train and infer under ``torch.autocast(bfloat16)`` where the device has bf16, else in fp32; fp32
matmuls run with TF32 off (``tf32`` is its own row). All-reduce runs under ``torchrun`` (see
:mod:`calibrate.backends.torch_allreduce`): gloo across CPU processes, NCCL across GPUs.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from calibrate.backends.base import BackendInfo, Plan, import_framework, seed, variant_plan
from calibrate.backends.common import (
    Memory,
    SizePoint,
    best_allreduce,
    infer_measurement,
    matmul_sweep,
    membw_measurement,
    rss_memory,
    train_measurement,
)
from calibrate.devices import DeviceInfo, cpu_name
from calibrate.errors import CalibrationError
from calibrate.kernels import (
    INFER_CNN,
    MEMBW_OPS,
    TRAIN_CNN,
    CnnConfig,
    TransformerConfig,
    check_close,
    check_matmul,
    check_membw,
    sample_rows,
)
from calibrate.profiles import Profile
from calibrate.results import Measurement, Task
from calibrate.system import PeakRss
from calibrate.timing import Budget, measure

INFO = BackendInfo(
    name="torch", display_name="PyTorch", module="torch", extra="torch", distributions=("torch",)
)

_DTYPES = {"fp32": "float32", "tf32": "float32", "bf16": "bfloat16", "fp16": "float16"}
_INFER_RTOL = {"fp32": 5e-3, "bf16": 6e-2}


def _torch() -> Any:
    return import_framework(INFO)


def build_cnn(torch: Any, cfg: CnnConfig) -> Any:
    """The CNN of :class:`~calibrate.kernels.CnnConfig` as an ``nn.Sequential`` (NCHW)."""
    nn = torch.nn
    k = cfg.kernel
    return nn.Sequential(
        nn.Conv2d(cfg.channels, cfg.conv1, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(cfg.conv1, cfg.conv2, k, padding=k // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(cfg.flat, cfg.hidden),
        nn.ReLU(),
        nn.Linear(cfg.hidden, cfg.classes),
    )


def build_transformer(torch: Any, cfg: TransformerConfig) -> Any:
    """The decoder of :class:`~calibrate.kernels.TransformerConfig`: pre-LN blocks, causal SDPA."""
    nn = torch.nn
    functional = torch.nn.functional
    module: Any = nn.Module

    class Block(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            d = cfg.d_model
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, cfg.mlp_ratio * d)
            self.fc2 = nn.Linear(cfg.mlp_ratio * d, d)

        def forward(self, x: Any) -> Any:
            b, t, d = x.shape
            qkv = self.qkv(self.ln1(x)).view(b, t, 3, cfg.heads, d // cfg.heads).permute(2, 0, 3, 1, 4)
            y = functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(functional.gelu(self.fc1(self.ln2(x))))

    class Decoder(module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(cfg.vocab, cfg.d_model)
            self.pos = nn.Embedding(cfg.seq, cfg.d_model)
            self.blocks = nn.ModuleList(Block() for _ in range(cfg.layers))
            self.ln = nn.LayerNorm(cfg.d_model)
            self.head = nn.Linear(cfg.d_model, cfg.vocab, bias=False)

        def forward(self, tokens: Any) -> Any:
            positions = torch.arange(tokens.shape[1], device=tokens.device)
            x = self.tok(tokens) + self.pos(positions)
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return Decoder()


class TorchBackend:
    """PyTorch behind :class:`calibrate.backends.base.Backend`."""

    def __init__(self) -> None:
        self._device: Any = None
        self._kind = "cpu"
        self._rss = PeakRss()

    @property
    def info(self) -> BackendInfo:
        return INFO

    def version(self) -> str:
        return str(_torch().__version__)

    # --- device ---------------------------------------------------------------------------------------

    def setup(self, requested: str, threads: int) -> DeviceInfo:
        torch = _torch()
        torch.set_num_threads(threads)
        if requested == "tpu":
            raise CalibrationError(
                "PyTorch on TPU needs torch_xla, which tco calibrate does not drive",
                hint="use --framework jax on TPUs",
            )
        if requested in ("auto", "cuda") and torch.cuda.is_available():
            self._kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
            self._device = torch.device("cuda", 0)
            props = torch.cuda.get_device_properties(0)
            detail = f"sm_{props.major}{props.minor}, {props.total_memory / 2**30:.0f} GiB"
            return DeviceInfo.make(
                self._kind,
                torch.cuda.get_device_name(0),
                torch.cuda.device_count(),
                detail,
            )
        if requested == "cuda":
            raise CalibrationError(
                "no CUDA or ROCm device is visible to PyTorch",
                hint="check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu",
            )
        self._kind = "cpu"
        self._device = torch.device("cpu")
        return DeviceInfo.make("cpu", cpu_name(), 1, f"{threads} threads")

    def _accelerated(self) -> bool:
        return self._kind != "cpu"

    def _bf16(self) -> bool:
        torch = _torch()
        return bool(self._kind == "cpu" or torch.cuda.is_bf16_supported())

    def plan(self, kernels: Sequence[str], profile: Profile, device: DeviceInfo) -> Plan:
        torch = _torch()
        dtypes = ["fp32"]
        if self._kind == "cuda" and torch.cuda.get_device_capability(0) >= (8, 0):
            dtypes.append("tf32")
        if self._bf16():
            dtypes.append("bf16")
        dtypes.append("fp16")
        train = "bf16" if self._accelerated() and self._bf16() else "fp32"
        if self._kind == "cpu":
            allreduce = None if profile.cpu_ranks >= 2 else "needs at least 2 gloo processes"
        else:
            allreduce = None if device.count >= 2 else f"needs at least 2 GPUs ({device.count} visible)"
        return variant_plan(
            kernels,
            profile,
            primary="eager",
            alternate="compile",
            matmul_dtypes=dtypes,
            train_dtype=train,
            allreduce=allreduce,
        )

    # --- helpers --------------------------------------------------------------------------------------

    def _sync(self, _outputs: Sequence[Any]) -> None:
        if self._kind != "cpu":
            _torch().cuda.synchronize()

    def _reset_memory(self) -> None:
        if self._kind != "cpu":
            _torch().cuda.reset_peak_memory_stats()
        else:
            self._rss.reset()

    def _memory(self) -> Memory:
        if self._kind != "cpu":
            return Memory(float(_torch().cuda.max_memory_allocated()), "torch.cuda.max_memory_allocated")
        return rss_memory(self._rss)

    def _generator(self) -> Any:
        return _torch().Generator(device=self._device).manual_seed(seed())

    def _autocast(self, dtype: str) -> AbstractContextManager[Any]:
        torch = _torch()
        if dtype == "bf16" and self._kind != "cpu":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)  # type: ignore[no-any-return]
        return nullcontext()

    # --- kernels --------------------------------------------------------------------------------------

    def run(self, task: Task, profile: Profile, device: DeviceInfo) -> list[Measurement]:
        self._reset_memory()
        if task.kernel == "matmul":
            return [self._matmul(task, profile)]
        if task.kernel == "membw":
            return self._membw(task, profile)
        if task.kernel.startswith("train_"):
            return [self._train(task, profile)]
        if task.kernel.startswith("infer_"):
            return self._infer(task, profile)
        if task.kernel == "allreduce":
            return [self._allreduce(task, profile, device)]
        raise CalibrationError(f"PyTorch has no kernel {task.kernel!r}")

    def _matmul(self, task: Task, profile: Profile) -> Measurement:
        torch = _torch()
        dtype = getattr(torch, _DTYPES[task.dtype])
        if self._kind != "cpu":
            matmul_flags = torch.backends.cuda.matmul
            if hasattr(matmul_flags, "fp32_precision"):  # torch >= 2.9; mixing it with allow_tf32 is refused
                matmul_flags.fp32_precision = "tf32" if task.dtype == "tf32" else "ieee"
            else:
                matmul_flags.allow_tf32 = task.dtype == "tf32"

        def run_size(n: int) -> SizePoint:
            gen = self._generator()
            a = torch.randn(n, n, generator=gen, device=self._device, dtype=dtype)
            b = torch.randn(n, n, generator=gen, device=self._device, dtype=dtype)
            out = torch.empty(n, n, device=self._device, dtype=dtype)
            timing = measure(lambda: torch.matmul(a, b, out=out), self._sync, profile.matmul_budget)
            rows = torch.from_numpy(sample_rows(n, 32, seed())).to(self._device)
            cols = torch.from_numpy(sample_rows(n, 32, seed())).to(self._device)
            error = check_matmul(
                a[rows].float().cpu().numpy(),
                b[:, cols].float().cpu().numpy(),
                out[rows][:, cols].float().cpu().numpy(),
                task.dtype,
            )
            return SizePoint(timing, error)

        return matmul_sweep(task, profile, run_size, self._memory)

    def _membw(self, task: Task, profile: Profile) -> list[Measurement]:
        torch = _torch()
        n = profile.membw_bytes // 4
        gen = self._generator()
        a, b, c = (torch.randn(n, generator=gen, device=self._device) for _ in range(3))
        scalar = 0.5 + float(torch.rand(1, generator=torch.Generator().manual_seed(seed())))
        idx = torch.from_numpy(sample_rows(n, 4096, seed())).to(self._device)
        rows = []
        for op in MEMBW_OPS:
            self._reset_memory()
            if op == "scale":
                timing = measure(
                    lambda: torch.mul(a, scalar, out=b), self._sync, profile.membw_budget, inner=1
                )
                error = check_membw(op, scalar, [a[idx].cpu().numpy()], b[idx].cpu().numpy())
            else:
                timing = measure(
                    lambda: torch.add(b, c, alpha=scalar, out=a), self._sync, profile.membw_budget, inner=1
                )
                error = check_membw(
                    op, scalar, [b[idx].cpu().numpy(), c[idx].cpu().numpy()], a[idx].cpu().numpy()
                )
            rows.append(membw_measurement(task, op, n, timing, error, self._memory()))
        return rows

    def _model_and_inputs(self, task: Task, profile: Profile, batch: int) -> tuple[Any, Any, Any]:
        """A fresh model on the device, an input batch and integer targets (fresh random values)."""
        torch = _torch()
        torch.manual_seed(seed())
        gen = self._generator()
        if task.kernel in (TRAIN_CNN, INFER_CNN):
            cfg = profile.cnn
            model = build_cnn(torch, cfg).to(self._device)
            x = torch.randn(batch, cfg.channels, cfg.image, cfg.image, generator=gen, device=self._device)
            y = torch.randint(0, cfg.classes, (batch,), generator=gen, device=self._device)
            return model, x, y
        tcfg = profile.transformer
        model = build_transformer(torch, tcfg).to(self._device)
        tokens = torch.randint(0, tcfg.vocab, (batch, tcfg.seq + 1), generator=gen, device=self._device)
        return model, tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    def _cache_state(self, before: dict[str, int]) -> str | None:
        hits, misses = self._cache_counters()
        hits -= before.get("hits", 0)
        misses -= before.get("misses", 0)
        if misses and not hits:
            return "cold"
        if hits and not misses:
            return "warm"
        if hits and misses:
            return "partial"
        return None

    @staticmethod
    def _cache_counters() -> tuple[int, int]:
        try:
            from torch._dynamo.utils import counters
        except ImportError:
            return 0, 0
        inductor = counters["inductor"]
        return int(inductor["fxgraph_cache_hit"]), int(inductor["fxgraph_cache_miss"])

    def _counters_now(self) -> dict[str, int]:
        hits, misses = self._cache_counters()
        return {"hits": hits, "misses": misses}

    def _train(self, task: Task, profile: Profile) -> Measurement:
        torch = _torch()
        functional = torch.nn.functional
        cnn = task.kernel == TRAIN_CNN
        batch = profile.cnn_batch if cnn else profile.transformer_batch
        model, x, y = self._model_and_inputs(task, profile, batch)
        model.train()
        if cnn:
            optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        else:
            optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
        forward = torch.compile(model) if task.variant == "compile" else model
        autocast = self._autocast(task.dtype)

        def step() -> Any:
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                logits = forward(x)
                loss = functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1))
            loss.backward()
            optimizer.step()
            return loss.detach()

        losses: list[float] = []
        before = self._counters_now()
        timing = measure(
            step, self._sync, profile.train_budget, inner=1, on_output=lambda loss: losses.append(float(loss))
        )
        cache = self._cache_state(before) if task.variant == "compile" else None
        return train_measurement(task, profile, timing, losses, self._memory(), cache)

    def _infer(self, task: Task, profile: Profile) -> list[Measurement]:
        torch = _torch()
        cnn = task.kernel == INFER_CNN
        big = profile.cnn_infer_batch if cnn else profile.transformer_infer_batch
        model, x_big, _ = self._model_and_inputs(task, profile, big)
        model.eval()
        forward = torch.compile(model, dynamic=False) if task.variant == "compile" else model
        autocast = self._autocast(task.dtype)
        reference_model = copy.deepcopy(model).to("cpu").double()
        out: list[Measurement] = []
        for metric, x in (("latency", x_big[:1].contiguous()), ("throughput", x_big)):
            self._reset_memory()

            def call(inp: Any = x) -> Any:
                with torch.inference_mode(), autocast:
                    return forward(inp)

            before = self._counters_now()
            budget: Budget = profile.latency_budget if metric == "latency" else profile.throughput_budget
            timing = measure(call, self._sync, budget, inner=1)
            cache = self._cache_state(before) if task.variant == "compile" else None
            got = call().float().cpu().numpy()
            with torch.inference_mode():
                ref_in = x.cpu().double() if cnn else x.cpu()
                want = reference_model(ref_in[:2]).numpy()
            error = check_close(
                got[:2], want, what=f"{task.kernel} {task.variant}", rtol=_INFER_RTOL[task.dtype]
            )
            out.append(
                infer_measurement(
                    task, profile, metric, int(x.shape[0]), timing, error, self._memory(), cache
                )
            )
        return out

    def _allreduce(self, task: Task, profile: Profile, device: DeviceInfo) -> Measurement:
        on_gpu = self._kind != "cpu"
        ranks = device.count if on_gpu else profile.cpu_ranks
        result = run_torchrun_allreduce(
            ranks=ranks,
            device="cuda" if on_gpu else "cpu",
            sizes=profile.allreduce_bytes,
            budget=profile.allreduce_budget,
        )
        backend = "nccl" if on_gpu else "gloo"
        return best_allreduce(task, result, f"backend={backend}")


def run_torchrun_allreduce(
    *, ranks: int, device: str, sizes: Sequence[int], budget: Budget, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Launch ``torchrun --standalone --nproc-per-node RANKS -m calibrate.backends.torch_allreduce`` and
    return rank 0's JSON result. Raises :class:`CalibrationError` with the tail of its output on failure."""
    with tempfile.TemporaryDirectory(prefix="tco-allreduce-") as tmp:
        out_path = os.path.join(tmp, "result.json")
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nnodes=1",
            f"--nproc-per-node={ranks}",
            "-m",
            "calibrate.backends.torch_allreduce",
            "--out",
            out_path,
            "--device",
            device,
            "--sizes",
            ",".join(str(s) for s in sizes),
            "--budget",
            json.dumps(
                {
                    "warmup": budget.warmup,
                    "min_repeats": budget.min_repeats,
                    "max_repeats": budget.max_repeats,
                    "budget_s": budget.budget_s,
                    "sample_s": budget.sample_s,
                }
            ),
            "--seed",
            str(seed()),
        ]
        env = dict(os.environ)
        if device == "cpu":
            env.setdefault("OMP_NUM_THREADS", "1")
        runner: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
        try:
            done = runner(
                command,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise CalibrationError(f"torchrun all-reduce did not finish in {timeout_s:.0f} s") from exc
        if done.returncode != 0 or not os.path.exists(out_path):
            tail = " | ".join((done.stderr or done.stdout or "").strip().splitlines()[-6:])
            raise CalibrationError(f"torchrun all-reduce failed (exit {done.returncode}): {tail}")
        with open(out_path, encoding="utf-8") as f:
            result: dict[str, Any] = json.load(f)
    if not result.get("sizes"):
        raise CalibrationError("torchrun all-reduce returned no measurements")
    if not math.isfinite(float(result["sizes"][0]["busbw_gb_per_s"])):
        raise CalibrationError("torchrun all-reduce returned a non-finite bandwidth")
    return result


BACKEND = TorchBackend()
