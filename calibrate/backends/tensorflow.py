"""TensorFlow: ``tf.function(jit_compile=True)`` (XLA) and plain ``tf.function`` (graph), on CPU or GPU.

Variants: ``xla`` everywhere; ``function`` (a graph without XLA) for the model kernels the profile names.
The models are Keras 3 layers (Conv2D/MaxPooling2D/Dense; LayerNormalization, MultiHeadAttention with
``use_causal_mask=True``) trained by a ``tf.GradientTape`` step with Keras' Adam/AdamW, the usual custom
training loop. Timed calls end in ``tf.test.experimental.sync_devices()``. On GPUs memory growth is on
(TensorFlow otherwise takes all memory), fp32 matmuls run with TF32 off (``tf32`` is its own row), and the
models use Keras' ``mixed_bfloat16`` policy where the device has bf16. TPUs are detected but not driven
(TensorFlow needs a TPUStrategy there; calibrate TPUs with JAX). No all-reduce: torch and JAX measure it.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from calibrate.backends.base import BackendInfo, Plan, import_framework, seed, variant_plan
from calibrate.backends.common import (
    Memory,
    SizePoint,
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
    name="tensorflow",
    display_name="TensorFlow",
    module="tensorflow",
    extra="tensorflow",
    distributions=("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
)

_INFER_RTOL = {"fp32": 5e-3, "bf16": 6e-2}


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return import_framework(INFO)


def _keras() -> Any:
    return import_framework(INFO, "keras")


def build_cnn(cfg: CnnConfig) -> Any:
    """The CNN of :class:`~calibrate.kernels.CnnConfig` as a Keras ``Sequential`` (NHWC)."""
    keras = _keras()
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((cfg.image, cfg.image, cfg.channels)),
            layers.Conv2D(cfg.conv1, cfg.kernel, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(cfg.conv2, cfg.kernel, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(cfg.hidden, activation="relu"),
            layers.Dense(cfg.classes),
        ]
    )


def build_transformer(cfg: TransformerConfig) -> Any:
    """The decoder of :class:`~calibrate.kernels.TransformerConfig` as a subclassed Keras model."""
    tf = _tf()
    keras = _keras()
    layers = keras.layers

    layer: Any = layers.Layer
    model: Any = keras.Model

    class Block(layer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = layers.LayerNormalization(epsilon=1e-5)
            self.attn = layers.MultiHeadAttention(cfg.heads, key_dim=cfg.d_model // cfg.heads)
            self.ln2 = layers.LayerNormalization(epsilon=1e-5)
            self.fc1 = layers.Dense(cfg.mlp_ratio * cfg.d_model, activation="gelu")
            self.fc2 = layers.Dense(cfg.d_model)

        def call(self, x: Any) -> Any:
            h = self.ln1(x)
            x = x + self.attn(h, h, use_causal_mask=True)
            return x + self.fc2(self.fc1(self.ln2(x)))

    class Decoder(model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.tok = layers.Embedding(cfg.vocab, cfg.d_model)
            self.pos = layers.Embedding(cfg.seq, cfg.d_model)
            self.blocks = [Block() for _ in range(cfg.layers)]
            self.ln = layers.LayerNormalization(epsilon=1e-5)
            self.head = layers.Dense(cfg.vocab, use_bias=False)

        def call(self, tokens: Any) -> Any:
            x = self.tok(tokens) + self.pos(tf.range(tf.shape(tokens)[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return Decoder()


class TensorFlowBackend:
    """TensorFlow behind :class:`calibrate.backends.base.Backend`."""

    def __init__(self) -> None:
        self._kind = "cpu"
        self._device = "/CPU:0"
        self._rss = PeakRss()

    @property
    def info(self) -> BackendInfo:
        return INFO

    def version(self) -> str:
        return str(_tf().__version__)

    def setup(self, requested: str, threads: int) -> DeviceInfo:
        tf = _tf()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # already initialised (a second setup in one process)
            pass
        if requested == "tpu":
            return self._tpu(tf)
        gpus = tf.config.list_physical_devices("GPU")
        if requested in ("auto", "cuda") and gpus:
            for gpu in gpus:
                with contextlib.suppress(RuntimeError):  # already initialised
                    tf.config.experimental.set_memory_growth(gpu, True)
            details = tf.config.experimental.get_device_details(gpus[0])
            self._kind = "rocm" if tf.test.is_built_with_rocm() else "cuda"
            self._device = "/GPU:0"
            capability = details.get("compute_capability")
            return DeviceInfo.make(
                self._kind,
                str(details.get("device_name", "GPU")),
                len(gpus),
                f"compute capability {capability}" if capability else "",
            )
        if requested == "cuda":
            built = "built with CUDA" if tf.test.is_built_with_cuda() else "a CPU-only build"
            raise CalibrationError(
                f"no GPU is visible to TensorFlow ({built})",
                hint="install tensorflow[and-cuda] on a GPU machine, or use --device cpu",
            )
        self._kind = "cpu"
        self._device = "/CPU:0"
        return DeviceInfo.make("cpu", cpu_name(), 1, f"{threads} intra-op threads")

    def _tpu(self, tf: Any) -> DeviceInfo:
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            tpus = tf.config.list_logical_devices("TPU")
        except (ValueError, RuntimeError, tf.errors.OpError) as exc:
            raise CalibrationError(
                f"no TPU is visible to TensorFlow: {str(exc).splitlines()[0]}",
                hint="run on a TPU VM, or use --device cpu",
            ) from exc
        if not tpus:
            raise CalibrationError(
                "no TPU is visible to TensorFlow", hint="run on a TPU VM, or use --device cpu"
            )
        self._kind = "tpu"
        name = os.environ.get("TPU_ACCELERATOR_TYPE", "TPU")
        return DeviceInfo.make("tpu", name, len(tpus))

    def plan(self, kernels: Sequence[str], profile: Profile, device: DeviceInfo) -> Plan:
        if self._kind == "tpu":
            reason = "TensorFlow on TPU needs a TPUStrategy that tco does not drive; use --framework jax"
            return Plan((), tuple((k, reason) for k in kernels))
        tf = _tf()
        dtypes = ["fp32"]
        if self._kind == "cuda":
            capability = tf.config.experimental.get_device_details(
                tf.config.list_physical_devices("GPU")[0]
            ).get("compute_capability", (0, 0))
            if tuple(capability) >= (8, 0):
                dtypes += ["tf32"]
            dtypes += ["bf16"] if tuple(capability) >= (8, 0) else []
        else:
            dtypes += ["bf16"]
        dtypes.append("fp16")
        train = "bf16" if self._kind != "cpu" and "bf16" in dtypes else "fp32"
        reason = "not measured with TensorFlow (tco measures all-reduce with torch.distributed and jax psum)"
        plan = variant_plan(
            kernels,
            profile,
            primary="xla",
            alternate="function",
            matmul_dtypes=dtypes,
            train_dtype=train,
            allreduce=reason,
        )
        # On CPUs plain graph mode (oneDNN) can beat XLA's matmul: the fp32 figure is the best of both.
        tasks = list(plan.tasks)
        if "matmul" in kernels:
            at = max(i for i, t in enumerate(tasks) if t.kernel == "matmul")
            tasks.insert(at + 1, Task("matmul", "function", "fp32"))
        return replace(plan, tasks=tuple(tasks))

    # --- helpers --------------------------------------------------------------------------------------

    def _sync(self, _outputs: Sequence[Any]) -> None:
        _tf().test.experimental.sync_devices()

    def _reset_memory(self) -> None:
        if self._kind == "cpu":
            self._rss.reset()
        else:
            _tf().config.experimental.reset_memory_stats("GPU:0")

    def _memory(self) -> Memory:
        if self._kind != "cpu":
            info = _tf().config.experimental.get_memory_info("GPU:0")
            return Memory(float(info["peak"]), "tf.config.experimental.get_memory_info peak")
        return rss_memory(self._rss)

    def _dtype(self, name: str) -> Any:
        tf = _tf()
        return {"fp32": tf.float32, "tf32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}[name]

    # --- kernels --------------------------------------------------------------------------------------

    def run(self, task: Task, profile: Profile, device: DeviceInfo) -> list[Measurement]:
        tf = _tf()
        self._reset_memory()
        with tf.device(self._device):
            if task.kernel == "matmul":
                return [self._matmul(task, profile)]
            if task.kernel == "membw":
                return self._membw(task, profile)
            if task.kernel.startswith("train_"):
                return [self._train(task, profile)]
            if task.kernel.startswith("infer_"):
                return self._infer(task, profile)
        raise CalibrationError(f"TensorFlow has no kernel {task.kernel!r}")

    def _matmul(self, task: Task, profile: Profile) -> Measurement:
        tf = _tf()
        if self._kind == "cuda":
            tf.config.experimental.enable_tensor_float_32_execution(task.dtype == "tf32")
        dtype = self._dtype(task.dtype)
        matmul = tf.function(tf.linalg.matmul, jit_compile=task.variant == "xla")

        def run_size(n: int) -> SizePoint:
            generator = tf.random.Generator.from_seed(seed())
            a = tf.cast(generator.normal((n, n)), dtype)
            b = tf.cast(generator.normal((n, n)), dtype)
            timing = measure(lambda: matmul(a, b), self._sync, profile.matmul_budget)
            c = matmul(a, b)
            rows = sample_rows(n, 32, seed())
            cols = sample_rows(n, 32, seed())
            error = check_matmul(
                tf.cast(tf.gather(a, rows), tf.float32).numpy(),
                tf.cast(tf.gather(b, cols, axis=1), tf.float32).numpy(),
                tf.cast(tf.gather(tf.gather(c, rows), cols, axis=1), tf.float32).numpy(),
                task.dtype,
            )
            return SizePoint(timing, error)

        return matmul_sweep(task, profile, run_size, self._memory)

    def _membw(self, task: Task, profile: Profile) -> list[Measurement]:
        tf = _tf()
        import numpy as np

        n = profile.membw_bytes // 4
        generator = tf.random.Generator.from_seed(seed())
        a, b, c = (tf.Variable(generator.normal((n,))) for _ in range(3))
        scalar = tf.constant(float(0.5 + np.random.default_rng(seed()).random()))
        jit = task.variant == "xla"

        # Variables are assigned in place (STREAM writes into existing arrays).
        @tf.function(jit_compile=jit)  # type: ignore[untyped-decorator]
        def scale() -> None:
            b.assign(scalar * a, read_value=False)

        @tf.function(jit_compile=jit)  # type: ignore[untyped-decorator]
        def triad() -> None:
            a.assign(b + scalar * c, read_value=False)

        idx = sample_rows(n, 4096, seed())
        rows = []
        s = float(scalar.numpy())
        for op in MEMBW_OPS:
            self._reset_memory()
            if op == "scale":
                timing = measure(scale, self._sync, profile.membw_budget, inner=1)
                error = check_membw(op, s, [tf.gather(a, idx).numpy()], tf.gather(b, idx).numpy())
            else:
                timing = measure(triad, self._sync, profile.membw_budget, inner=1)
                error = check_membw(
                    op, s, [tf.gather(b, idx).numpy(), tf.gather(c, idx).numpy()], tf.gather(a, idx).numpy()
                )
            rows.append(membw_measurement(task, op, n, timing, error, self._memory()))
        return rows

    def _model(self, task: Task, profile: Profile, batch: int) -> tuple[Any, Any, Any]:
        """A fresh Keras model (built), an input batch and integer targets (fresh random values)."""
        tf = _tf()
        keras = _keras()
        keras.utils.set_random_seed(seed() % (2**31))
        generator = tf.random.Generator.from_seed(seed())
        policy = "mixed_bfloat16" if task.dtype == "bf16" else "float32"
        keras.mixed_precision.set_dtype_policy(policy)
        try:
            if task.kernel in (TRAIN_CNN, INFER_CNN):
                cfg = profile.cnn
                model = build_cnn(cfg)
                x = generator.normal((batch, cfg.image, cfg.image, cfg.channels))
                y = generator.uniform((batch,), 0, cfg.classes, dtype=tf.int32)
            else:
                tcfg = profile.transformer
                model = build_transformer(tcfg)
                tokens = generator.uniform((batch, tcfg.seq + 1), 0, tcfg.vocab, dtype=tf.int32)
                x, y = tokens[:, :-1], tokens[:, 1:]
            model(x[:1])  # build the variables eagerly
        finally:
            keras.mixed_precision.set_dtype_policy("float32")
        return model, x, y

    def _train(self, task: Task, profile: Profile) -> Measurement:
        tf = _tf()
        keras = _keras()
        cnn = task.kernel == TRAIN_CNN
        batch = profile.cnn_batch if cnn else profile.transformer_batch
        model, x, y = self._model(task, profile, batch)
        if cnn:
            optimizer = keras.optimizers.Adam(learning_rate=2e-3)
        else:
            optimizer = keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=0.01)
        optimizer.build(model.trainable_variables)

        @tf.function(jit_compile=task.variant == "xla")  # type: ignore[untyped-decorator]
        def train_step(inputs: Any, targets: Any) -> Any:
            with tf.GradientTape() as tape:
                logits = tf.cast(model(inputs, training=True), tf.float32)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        losses: list[float] = []
        timing = measure(
            lambda: train_step(x, y),
            self._sync,
            profile.train_budget,
            inner=1,
            on_output=lambda loss: losses.append(float(loss.numpy())),
        )
        return train_measurement(task, profile, timing, losses, self._memory())

    def _infer(self, task: Task, profile: Profile) -> list[Measurement]:
        tf = _tf()
        cnn = task.kernel == INFER_CNN
        big = profile.cnn_infer_batch if cnn else profile.transformer_infer_batch
        model, x_big, _ = self._model(task, profile, big)
        forward = tf.function(lambda inp: model(inp, training=False), jit_compile=task.variant == "xla")
        out: list[Measurement] = []
        for metric, x in (("latency", x_big[:1]), ("throughput", x_big)):
            self._reset_memory()
            budget: Budget = profile.latency_budget if metric == "latency" else profile.throughput_budget
            timing = measure(functools.partial(forward, x), self._sync, budget, inner=1)
            got = tf.cast(forward(x[:2]), tf.float32).numpy()
            want = tf.cast(model(x[:2], training=False), tf.float32).numpy()  # eager, op by op
            error = check_close(got, want, what=f"{task.kernel} {task.variant}", rtol=_INFER_RTOL[task.dtype])
            out.append(
                infer_measurement(task, profile, metric, int(x.shape[0]), timing, error, self._memory())
            )
        return out


BACKEND = TensorFlowBackend()
