"""JAX: ``jax.jit`` (XLA) on CPU, GPU (CUDA or ROCm) or TPU.

One variant, ``jit``. Every timed call is synchronised with ``jax.block_until_ready`` (JAX dispatches
asynchronously: without it a matmul "reaches" 10^6 GFLOP/s). The models are pure functions over parameter
pytrees with a hand-written Adam/AdamW (the optax update rule; tco does not depend on optax or flax), the
transformer's blocks run under ``lax.scan`` and its attention is ``jax.nn.dot_product_attention(is_causal=
True)``. On accelerators the models compute in bfloat16 with float32 master weights. All-reduce is
``lax.psum`` under ``jax.shard_map`` across the local devices (skipped with one device; on a CPU,
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` makes N host devices, which the worker's
``--host-devices`` sets). Device memory comes from ``Device.memory_stats()`` (its peak is the process's
lifetime peak); on CPU, which reports none, the worker's peak RSS.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
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
    TRAIN_CNN,
    CnnConfig,
    TransformerConfig,
    allreduce_bus_gb_per_s,
    check_allreduce,
    check_close,
    check_matmul,
    check_membw,
    sample_rows,
)
from calibrate.profiles import Profile
from calibrate.results import Measurement, Task
from calibrate.system import PeakRss
from calibrate.timing import Budget, measure

INFO = BackendInfo(name="jax", display_name="JAX", module="jax", extra="jax", distributions=("jax", "jaxlib"))

_INFER_RTOL = {"fp32": 5e-3, "bf16": 6e-2}


def _jax() -> Any:
    return import_framework(INFO)


def _jnp() -> Any:
    return import_framework(INFO, "jax.numpy")


# --- models: pure functions -----------------------------------------------------------------------------


def init_cnn(jax: Any, key: Any, cfg: CnnConfig) -> dict[str, Any]:
    """He-normal conv/dense weights (HWIO, NHWC), zero biases."""
    jnp = _jnp()
    keys = jax.random.split(key, 4)
    k = cfg.kernel

    def he(key: Any, shape: tuple[int, ...], fan_in: int) -> Any:
        return jax.random.normal(key, shape, jnp.float32) * math.sqrt(2.0 / fan_in)

    return {
        "c1": he(keys[0], (k, k, cfg.channels, cfg.conv1), k * k * cfg.channels),
        "c1b": jnp.zeros((cfg.conv1,), jnp.float32),
        "c2": he(keys[1], (k, k, cfg.conv1, cfg.conv2), k * k * cfg.conv1),
        "c2b": jnp.zeros((cfg.conv2,), jnp.float32),
        "d1": he(keys[2], (cfg.flat, cfg.hidden), cfg.flat),
        "d1b": jnp.zeros((cfg.hidden,), jnp.float32),
        "d2": he(keys[3], (cfg.hidden, cfg.classes), cfg.hidden),
        "d2b": jnp.zeros((cfg.classes,), jnp.float32),
    }


def cnn_apply(jax: Any, params: dict[str, Any], x: Any) -> Any:
    lax = jax.lax
    jnp = _jnp()

    def conv(x: Any, w: Any, b: Any) -> Any:
        y = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jax.nn.relu(y + b)

    def pool(x: Any) -> Any:
        return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    x = pool(conv(x, params["c1"], params["c1b"]))
    x = pool(conv(x, params["c2"], params["c2b"]))
    x = x.reshape(x.shape[0], -1)
    x = jax.nn.relu(x @ params["d1"] + params["d1b"])
    return x @ params["d2"] + params["d2b"]


def init_transformer(jax: Any, key: Any, cfg: TransformerConfig) -> dict[str, Any]:
    """GPT-2-style init (normal 0.02); per-layer weights stacked on a leading axis for ``lax.scan``."""
    jnp = _jnp()
    d, L, h = cfg.d_model, cfg.layers, cfg.mlp_ratio * cfg.d_model
    keys = jax.random.split(key, 7)

    def normal(key: Any, shape: tuple[int, ...]) -> Any:
        return jax.random.normal(key, shape, jnp.float32) * 0.02

    return {
        "tok": normal(keys[0], (cfg.vocab, d)),
        "pos": normal(keys[1], (cfg.seq, d)),
        "blocks": {
            "ln1g": jnp.ones((L, d)),
            "ln1b": jnp.zeros((L, d)),
            "wqkv": normal(keys[2], (L, d, 3 * d)),
            "bqkv": jnp.zeros((L, 3 * d)),
            "wo": normal(keys[3], (L, d, d)),
            "bo": jnp.zeros((L, d)),
            "ln2g": jnp.ones((L, d)),
            "ln2b": jnp.zeros((L, d)),
            "w1": normal(keys[4], (L, d, h)),
            "b1": jnp.zeros((L, h)),
            "w2": normal(keys[5], (L, h, d)),
            "b2": jnp.zeros((L, d)),
        },
        "lnfg": jnp.ones((d,)),
        "lnfb": jnp.zeros((d,)),
        "head": normal(keys[6], (d, cfg.vocab)),
    }


def transformer_apply(jax: Any, params: dict[str, Any], tokens: Any, cfg: TransformerConfig) -> Any:
    jnp = _jnp()

    def norm(x: Any, g: Any, b: Any) -> Any:
        x32 = x.astype(jnp.float32)
        mean = x32.mean(-1, keepdims=True)
        var = ((x32 - mean) ** 2).mean(-1, keepdims=True)
        return ((x32 - mean) * jax.lax.rsqrt(var + 1e-5) * g + b).astype(x.dtype)

    b, t = tokens.shape
    d, heads = cfg.d_model, cfg.heads
    x = params["tok"][tokens] + params["pos"][:t]

    def block(x: Any, p: dict[str, Any]) -> tuple[Any, None]:
        qkv = norm(x, p["ln1g"], p["ln1b"]) @ p["wqkv"] + p["bqkv"]
        q, k, v = (z.reshape(b, t, heads, d // heads) for z in jnp.split(qkv, 3, axis=-1))
        y = jax.nn.dot_product_attention(q, k, v, is_causal=True).reshape(b, t, d)
        x = x + y @ p["wo"] + p["bo"]
        hidden = jax.nn.gelu(norm(x, p["ln2g"], p["ln2b"]) @ p["w1"] + p["b1"], approximate=False)
        return x + hidden @ p["w2"] + p["b2"], None

    x, _ = jax.lax.scan(block, x, params["blocks"])
    return norm(x, params["lnfg"], params["lnfb"]) @ params["head"]


def cross_entropy(jax: Any, logits: Any, labels: Any) -> Any:
    jnp = _jnp()
    logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))


def adam_init(jax: Any, params: Any) -> tuple[Any, Any, Any]:
    jnp = _jnp()
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return zeros, jax.tree_util.tree_map(jnp.zeros_like, params), jnp.zeros((), jnp.int32)


def adam_update(
    jax: Any,
    params: Any,
    grads: Any,
    state: tuple[Any, Any, Any],
    *,
    lr: float,
    weight_decay: float = 0.0,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Any, tuple[Any, Any, Any]]:
    """Adam (``weight_decay=0``) or AdamW (decoupled weight decay), bias-corrected, as in optax."""
    jnp = _jnp()
    tree_map = jax.tree_util.tree_map
    m, v, count = state
    count = count + 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    c1 = 1 - b1 ** count.astype(jnp.float32)
    c2 = 1 - b2 ** count.astype(jnp.float32)
    params = tree_map(
        lambda p, m, v: p - lr * ((m / c1) / (jnp.sqrt(v / c2) + eps) + weight_decay * p), params, m, v
    )
    return params, (m, v, count)


class JaxBackend:
    """JAX behind :class:`calibrate.backends.base.Backend`."""

    def __init__(self) -> None:
        self._devices: list[Any] = []
        self._kind = "cpu"
        self._rss = PeakRss()

    @property
    def info(self) -> BackendInfo:
        return INFO

    def version(self) -> str:
        return str(_jax().__version__)

    @property
    def _device(self) -> Any:
        return self._devices[0]

    def setup(self, requested: str, threads: int) -> DeviceInfo:
        jax = _jax()
        platform = {"auto": None, "cpu": "cpu", "cuda": "gpu", "tpu": "tpu"}[requested]
        try:
            devices = list(jax.devices(platform) if platform else jax.devices())
        except RuntimeError as exc:
            what = {"gpu": "CUDA or ROCm GPU", "tpu": "TPU"}.get(platform or "", "device")
            raise CalibrationError(
                f"no {what} is visible to JAX: {str(exc).splitlines()[0]}",
                hint="install the jax[cuda12] or jax[tpu] wheel, or use --device cpu",
            ) from exc
        self._devices = devices
        dev = devices[0]
        if dev.platform == "cpu":
            self._kind = "cpu"
            return DeviceInfo.make(
                "cpu", cpu_name(), 1, f"{threads} threads, {len(devices)} XLA host device(s)"
            )
        if dev.platform == "tpu":
            self._kind = "tpu"
            return DeviceInfo.make("tpu", str(dev.device_kind), len(devices))
        version = str(getattr(getattr(dev, "client", None), "platform_version", "")).lower()
        self._kind = "rocm" if "rocm" in version or dev.platform == "rocm" else "cuda"
        return DeviceInfo.make(
            self._kind,
            str(dev.device_kind),
            len(devices),
            str(getattr(dev, "compute_capability", "")),
        )

    def plan(self, kernels: Sequence[str], profile: Profile, device: DeviceInfo) -> Plan:
        if self._kind == "tpu":
            dtypes = ["fp32", "bf16"]
        elif self._kind == "cuda":
            dtypes = ["fp32", "tf32", "bf16", "fp16"]
        else:
            dtypes = ["fp32", "bf16", "fp16"]
        train = "bf16" if self._kind in ("tpu", "cuda", "rocm") else "fp32"
        allreduce = (
            None
            if len(self._devices) >= 2
            else f"psum needs at least 2 devices ({len(self._devices)} {self._kind} device visible to JAX)"
        )
        return variant_plan(
            kernels,
            profile,
            primary="jit",
            alternate=None,
            matmul_dtypes=dtypes,
            train_dtype=train,
            allreduce=allreduce,
        )

    # --- helpers --------------------------------------------------------------------------------------

    def _sync(self, outputs: Sequence[Any]) -> None:
        _jax().block_until_ready(list(outputs))

    def _reset_memory(self) -> None:
        self._rss.reset()

    def _memory(self) -> Memory:
        stats = self._device.memory_stats() if self._kind != "cpu" else None
        if stats and stats.get("peak_bytes_in_use"):
            return Memory(
                float(stats["peak_bytes_in_use"]), "Device.memory_stats peak_bytes_in_use (process)"
            )
        return rss_memory(self._rss)

    def _key(self) -> Any:
        return _jax().random.key(seed())

    def _dtype(self, name: str) -> Any:
        jnp = _jnp()
        return {"fp32": jnp.float32, "tf32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}[name]

    # --- kernels --------------------------------------------------------------------------------------

    def run(self, task: Task, profile: Profile, device: DeviceInfo) -> list[Measurement]:
        self._reset_memory()
        jax = _jax()
        with jax.default_device(self._device):
            if task.kernel == "matmul":
                return [self._matmul(task, profile)]
            if task.kernel == "membw":
                return self._membw(task, profile)
            if task.kernel.startswith("train_"):
                return [self._train(task, profile)]
            if task.kernel.startswith("infer_"):
                return self._infer(task, profile)
            if task.kernel == "allreduce":
                return [self._allreduce(task, profile)]
        raise CalibrationError(f"JAX has no kernel {task.kernel!r}")

    def _matmul(self, task: Task, profile: Profile) -> Measurement:
        jax = _jax()
        jnp = _jnp()
        import numpy as np

        dtype = self._dtype(task.dtype)
        if task.dtype == "tf32":
            precision: Any = jax.lax.DotAlgorithmPreset.TF32_TF32_F32
        elif task.dtype == "fp32":
            precision = jax.lax.Precision.HIGHEST
        else:
            precision = None
        matmul = jax.jit(lambda a, b: jnp.matmul(a, b, precision=precision))

        def run_size(n: int) -> SizePoint:
            ka, kb = jax.random.split(self._key())
            a = jax.random.normal(ka, (n, n), dtype)
            b = jax.random.normal(kb, (n, n), dtype)
            timing = measure(lambda: matmul(a, b), self._sync, profile.matmul_budget)
            c = matmul(a, b)
            rows = sample_rows(n, 32, seed())
            cols = sample_rows(n, 32, seed())
            error = check_matmul(
                np.asarray(a[rows].astype(jnp.float32)),
                np.asarray(b[:, cols].astype(jnp.float32)),
                np.asarray(c[rows][:, cols].astype(jnp.float32)),
                task.dtype,
            )
            return SizePoint(timing, error)

        return matmul_sweep(task, profile, run_size, self._memory)

    def _membw(self, task: Task, profile: Profile) -> list[Measurement]:
        jax = _jax()
        import numpy as np

        n = profile.membw_bytes // 4
        keys = jax.random.split(self._key(), 3)
        a, b, c = (jax.random.normal(k, (n,)) for k in keys)
        scalar = float(0.5 + np.random.default_rng(seed()).random())
        # The output buffer is donated, so that XLA may write in place where the platform supports it.
        scale = jax.jit(lambda x, out, s: s * x, donate_argnums=(1,))
        triad = jax.jit(lambda x, y, out, s: x + s * y, donate_argnums=(2,))
        idx = sample_rows(n, 4096, seed())
        # Each step feeds the previous output back as the donated buffer of the next.
        buffers = {"b": b, "out": jax.random.normal(keys[0], (n,))}

        def step_scale() -> Any:
            buffers["b"] = scale(a, buffers["b"], scalar)
            return buffers["b"]

        def step_triad() -> Any:
            buffers["out"] = triad(buffers["b"], c, buffers["out"], scalar)
            return buffers["out"]

        rows = []
        self._reset_memory()
        timing = measure(step_scale, self._sync, profile.membw_budget, inner=1)
        error = check_membw("scale", scalar, [np.asarray(a[idx])], np.asarray(buffers["b"][idx]))
        rows.append(membw_measurement(task, "scale", n, timing, error, self._memory()))
        self._reset_memory()
        timing = measure(step_triad, self._sync, profile.membw_budget, inner=1)
        inputs = [np.asarray(buffers["b"][idx]), np.asarray(c[idx])]
        error = check_membw("triad", scalar, inputs, np.asarray(buffers["out"][idx]))
        rows.append(membw_measurement(task, "triad", n, timing, error, self._memory()))
        return rows

    def _model(
        self, task: Task, profile: Profile, batch: int
    ) -> tuple[Any, Callable[[Any, Any], Any], Any, Any]:
        """Parameters, ``apply(params, x)``, an input batch and integer targets (fresh random values)."""
        jax = _jax()
        jnp = _jnp()
        kp, kx, ky = jax.random.split(self._key(), 3)
        compute = jnp.bfloat16 if task.dtype == "bf16" else jnp.float32

        def cast(tree: Any) -> Any:
            return jax.tree_util.tree_map(lambda p: p.astype(compute), tree)

        if task.kernel in (TRAIN_CNN, INFER_CNN):
            cfg = profile.cnn
            params = init_cnn(jax, kp, cfg)
            x = jax.random.normal(kx, (batch, cfg.image, cfg.image, cfg.channels))
            y = jax.random.randint(ky, (batch,), 0, cfg.classes)

            def apply_cnn(p: Any, inp: Any) -> Any:
                return cnn_apply(jax, cast(p), inp.astype(compute))

            return params, apply_cnn, x, y
        tcfg = profile.transformer
        params = init_transformer(jax, kp, tcfg)
        tokens = jax.random.randint(kx, (batch, tcfg.seq + 1), 0, tcfg.vocab)

        def apply_transformer(p: Any, inp: Any) -> Any:
            return transformer_apply(jax, cast(p), inp, tcfg)

        return params, apply_transformer, tokens[:, :-1], tokens[:, 1:]

    def _train(self, task: Task, profile: Profile) -> Measurement:
        jax = _jax()
        cnn = task.kernel == TRAIN_CNN
        batch = profile.cnn_batch if cnn else profile.transformer_batch
        params, apply, x, y = self._model(task, profile, batch)
        decay = 0.0 if cnn else 0.01

        def loss_fn(p: Any) -> Any:
            return cross_entropy(jax, apply(p, x), y)

        def train_step(p: Any, opt: Any) -> tuple[Any, Any, Any]:
            loss, grads = jax.value_and_grad(loss_fn)(p)
            p, opt = adam_update(jax, p, grads, opt, lr=2e-3, weight_decay=decay)
            return p, opt, loss

        step_fn = jax.jit(train_step, donate_argnums=(0, 1))
        state = [params, adam_init(jax, params)]

        def step() -> Any:
            p, opt, loss = step_fn(state[0], state[1])
            state[0], state[1] = p, opt
            return (p, opt, loss)

        losses: list[float] = []
        timing = measure(
            step,
            self._sync,
            profile.train_budget,
            inner=1,
            on_output=lambda out: losses.append(float(out[2])),
        )
        return train_measurement(task, profile, timing, losses, self._memory())

    def _infer(self, task: Task, profile: Profile) -> list[Measurement]:
        jax = _jax()
        import numpy as np

        cnn = task.kernel == INFER_CNN
        big = profile.cnn_infer_batch if cnn else profile.transformer_infer_batch
        params, apply, x_big, _ = self._model(task, profile, big)
        forward = jax.jit(apply)
        out: list[Measurement] = []
        for metric, x in (("latency", x_big[:1]), ("throughput", x_big)):
            self._reset_memory()
            budget: Budget = profile.latency_budget if metric == "latency" else profile.throughput_budget
            timing = measure(functools.partial(forward, params, x), self._sync, budget, inner=1)
            got = np.asarray(forward(params, x[:2]).astype(np.float32))
            with jax.disable_jit():
                want = np.asarray(apply(params, x[:2]).astype(np.float32))
            error = check_close(got, want, what=f"{task.kernel} jit", rtol=_INFER_RTOL[task.dtype])
            out.append(
                infer_measurement(task, profile, metric, int(x.shape[0]), timing, error, self._memory())
            )
        return out

    def _allreduce(self, task: Task, profile: Profile) -> Measurement:
        jax = _jax()
        import numpy as np

        named_sharding: Any = jax.sharding.NamedSharding
        P: Any = jax.sharding.PartitionSpec  # the name JAX documents

        devices = self._devices
        ranks = len(devices)
        mesh = jax.make_mesh((ranks,), ("i",), devices=devices)
        sharding = named_sharding(mesh, P("i"))
        psum = jax.jit(
            jax.shard_map(lambda v: jax.lax.psum(v, "i"), mesh=mesh, in_specs=P("i"), out_specs=P("i"))
        )
        base = np.random.default_rng(seed()).standard_normal(4096).astype(np.float32)
        probe = jax.device_put(np.stack([base * (r + 1) for r in range(ranks)]), sharding)
        reduced = np.asarray(psum(probe))
        check_error = max(check_allreduce(reduced[r], base, ranks) for r in range(ranks))
        sizes = []
        for size in profile.allreduce_bytes:
            elements = max(1, size // 4)
            key = jax.random.key(seed())
            buffer = jax.device_put(jax.random.normal(key, (ranks, elements)), sharding)
            timing = measure(functools.partial(psum, buffer), self._sync, profile.allreduce_budget)
            sizes.append(
                {
                    "bytes": elements * 4,
                    "inner": timing.inner,
                    "repeats": timing.repeats,
                    "first_call_s": timing.first_call_s,
                    "samples_s": list(timing.samples_s),
                    "median_s": timing.median_s,
                    "busbw_gb_per_s": allreduce_bus_gb_per_s(elements * 4, timing.median_s, ranks),
                    "algbw_gb_per_s": elements * 4 / timing.median_s / 1e9,
                }
            )
            del buffer
        mem = self._memory()
        result = {
            "ranks": ranks,
            "sizes": sizes,
            "check_error": check_error,
            "peak_memory_bytes": mem.peak_bytes,
            "peak_memory_source": mem.source,
        }
        return best_allreduce(task, result, f"backend=psum/{self._kind}")


BACKEND = JaxBackend()
