"""Load: TTFT and TPOT at a request rate, p50 and p99, and the highest rate a replica serves within its SLOs
(docs/serving_model.md §3).

A replica is evaluated at candidate mean decode concurrencies ``B`` (the sequences decoding at once). By
Little's law the request rate that keeps ``B`` sequences decoding is ``lambda = B / (s_out * step(B))``, where
``step(B)`` carries the prefill that rate brings: ``p = B * s_in / s_out`` prefill tokens per step on average.

* **TPOT**: p50 = ``step(B)``; a request sees the prefills of the ``~B`` requests that arrive while it
  decodes, a Poisson count, so its own mean step is at the quantile ``z`` (p99: 2.326)
  ``step_decode(B) + (step(B) - step_decode(B)) * (1 + z / sqrt(B))``.
* **TTFT** = slot wait + prefill wait + prefill service + the step in progress:

  - *slot wait*: the engine runs at most ``c = B_cap`` sequences (memory or ``max_running_batch``); a
    request holds a slot for its prefill and ``s_out`` steps. A G/G/c queue with Poisson arrivals and fixed
    lengths, Sakasegawa's approximation: ``P(wait) = rho^(sqrt(2(c+1)) - 1)``, mean wait
    ``P(wait) * S / (c (1 - rho)) * (1 + 0) / 2``.
  - *prefill wait*: prefill tokens share each step's token budget ``C - B`` (``C = max_num_tokens``); the
    prefill path is an M/D/1 queue with service ``S_p = s_in * step(B, C - B) / (C - B)`` and load
    ``rho_p = lambda * S_p``: mean wait ``rho_p S_p / (2 (1 - rho_p))``.
  - waits are exponential given that a request waits (M/G/1 and M/M/c tails): the q-quantile of a wait with
    mean ``W`` and waiting probability ``P`` is ``W / P * ln(P / (1 - q))`` (0 when ``P <= 1 - q``).
  - *service*: ``ceil(s_in / (C - B))`` steps carrying the request's chunk; plus half a step (p50) or a
    whole step (p99) already running when it arrives.

  p99 TTFT adds the p99 of each wait (an upper bound on the p99 of the sum).
* **capacity**: the largest ``lambda`` whose p99 TTFT and p99 TPOT meet the targets (MLPerf Inference checks
  p99) and whose queues are stable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np

    from tco.model.inference.step import Engine

#: Candidate concurrencies as fractions of the engine's slots (geometric, then close to saturation).
SLOT_FRACTIONS: Final = (
    0.001,
    0.004,
    0.015,
    0.04,
    0.08,
    0.14,
    0.22,
    0.32,
    0.44,
    0.56,
    0.68,
    0.78,
    0.86,
    0.92,
    0.96,
    0.98,
)

P50: Final = 0.5
P99: Final = 0.99


def wait_quantile(mean_wait: np.ndarray, p_wait: np.ndarray, q: float) -> np.ndarray:
    """q-quantile of a waiting time with the given mean and probability of waiting (exponential tail)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        tail = mean_wait / p_wait * np.log(p_wait / (1.0 - q))
    return np.where(p_wait > 1.0 - q, tail, 0.0)


def load_curve(
    engine: Engine, slots: np.ndarray, *, max_num_tokens: float, z: float
) -> dict[str, np.ndarray]:
    """TTFT/TPOT p50 and p99 and the request rate at each candidate concurrency (rows x candidates)."""
    import numpy as np

    fractions = np.asarray(SLOT_FRACTIONS, dtype="float64")[None, :]
    batch = np.maximum(slots * fractions, np.minimum(1.0, slots * 0.5))
    s_in = engine.prompt_tokens
    s_out = engine.output_tokens
    prefill = batch * s_in / s_out
    parts = engine.parts(batch, prefill)
    step = parts["step_s"]
    decode = engine.step_s(batch, 0.0 * batch)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = batch / (s_out * step)
        interference = step - decode
        tpot_p99 = decode + interference * (1.0 + z / np.sqrt(np.maximum(batch, 1.0)))

        budget = np.maximum(max_num_tokens - batch, 1.0)
        chunk = np.minimum(s_in, budget)
        full = engine.step_s(batch, budget)
        service_p = s_in * full / budget
        rho_p = rate * service_p
        prefill_wait = rho_p * service_p / (2.0 * (1.0 - rho_p))
        service = np.ceil(s_in / budget) * engine.step_s(batch, chunk)

        hold = service + s_out * step
        rho_s = rate * hold / slots
        p_wait = rho_s ** (np.sqrt(2.0 * (slots + 1.0)) - 1.0)
        slot_wait = p_wait * hold / (slots * (1.0 - rho_s)) * 0.5
        stable = (rho_p < 1.0) & (rho_s < 1.0)
        ttft_p50 = (
            wait_quantile(slot_wait, p_wait, P50)
            + wait_quantile(prefill_wait, rho_p, P50)
            + service
            + 0.5 * step
        )
        ttft_p99 = (
            wait_quantile(slot_wait, p_wait, P99) + wait_quantile(prefill_wait, rho_p, P99) + service + step
        )
        ttft_mean = slot_wait + prefill_wait + service + 0.5 * step
    inf = np.inf
    return {
        "batch": batch,
        "rate": rate,
        "step_s": step,
        "decode_step_s": decode,
        "tpot_p50_s": np.where(stable, step, inf),
        "tpot_p99_s": np.where(stable, tpot_p99, inf),
        "ttft_p50_s": np.where(stable, ttft_p50, inf),
        "ttft_p99_s": np.where(stable, ttft_p99, inf),
        "ttft_mean_s": np.where(stable, ttft_mean, inf),
        "queue_wait_p99_s": np.where(stable, ttft_p99 - service - step, inf),
        "prefill_service_s": service,
        "weights_s": parts["weights_s"],
        "kv_s": parts["kv_s"],
        "compute_s": parts["compute_s"],
        "comm_s": parts["comm_s"],
    }


def at_rate(curve: dict[str, np.ndarray], rate: np.ndarray) -> dict[str, np.ndarray]:
    """Each curve value interpolated (linearly in the rate) at ``rate`` per row; beyond the last candidate:
    the last candidate's values (the caller marks such rows as over capacity)."""
    import numpy as np

    rates = curve["rate"]
    rows = np.arange(rates.shape[0])
    last = rates.shape[1] - 1
    above = (rates < rate[:, None]).sum(axis=1)
    hi = np.clip(above, 0, last)
    lo = np.clip(above - 1, 0, last)
    r_lo, r_hi = rates[rows, lo], rates[rows, hi]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r_hi > r_lo, (rate - r_lo) / (r_hi - r_lo), 0.0)
    w = np.clip(w, 0.0, 1.0)
    out: dict[str, np.ndarray] = {}
    for name, values in curve.items():
        a, b = values[rows, lo], values[rows, hi]
        with np.errstate(invalid="ignore"):
            out[name] = np.where(np.isfinite(a) & np.isfinite(b), a + w * (b - a), np.where(w < 0.5, a, b))
    return out
