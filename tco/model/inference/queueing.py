"""Load: TTFT and TPOT at a request rate, p50 and p99, from how the engine schedules.

See docs/serving_model.md §3.

A replica is evaluated at candidate mean decode concurrencies ``B`` (rows x candidates). By Little's law a
request rate ``lambda`` keeps ``B = lambda s_out T`` sequences decoding, ``T`` the mean step; so each step
admits on average ``m = lambda T = B / s_out`` new prompts, whatever the step time.

**Prefill arrives in whole prompts.** Requests arrive independently (Poisson, as MLPerf's server scenario
and ``vllm bench serve --request-rate`` send them); the scheduler forms a step's batch at the step boundary
from what has arrived. A step therefore carries ``k`` prompts, ``k ~ Poisson(m)`` (chunks of ``u`` tokens
when chunked prefill splits prompts longer than the step's free budget), up to the budget:

* *without chunked prefill* (TensorRT-LLM's default): whole prompts, at most
  ``k_max = max(1, floor((C - B) / s_in))`` per step (``C = max_num_tokens``); a prompt is one chunk;
* *with chunked prefill* (vLLM V1, SGLang): chunks of ``u = min(s_in, C - B)`` tokens, a prompt is
  ``n_c = s_in / u`` chunks, at most ``(C - B) / u`` per step.

The step time is ``T_k = step(B, min(k, k_max) u)``; its distribution is kept as three points (``k = 0``,
``1`` and the mean of ``k >= 2``), which is exact for light load and the mean-field limit for heavy load:
``T = E[T_k]``, ``E[T^2]`` likewise.

* **TPOT** (a request's mean time per output token over ``s_out`` steps): p50 ``T``; p99
  ``T + z sd(T_k) / sqrt(s_out)`` (z = 2.326).
* **TTFT** = residual of the step in progress + own prefill + budget queue + slot queue:

  - *residual*: the engine is busy with probability ``1 - exp(-B)``; then the step in progress has
    ``E[T^2] / (2 T)`` left (a size-biased step). p99: a step carrying the p99 count of prompts.
  - *own prefill*: the request is scheduled at the next boundary with the others that arrived in the same
    step (``m* = m E[T^2]/T^2`` chunks on average, a size-biased window); without chunked prefill the
    window's prompts run in the same step and finish together; with it, chunks run FCFS at the budget.
    Own service ``max(1, w / k_max) * step(B, min(w, k_max) u)`` with ``w = n_c + m*`` chunks (p99:
    ``m* + z sqrt(m*)``).
  - *budget queue*: when prompts arrive faster than steps take them (``rho = m n_c / k_max`` chunks of
    capacity used), an M/D/1 wait ``rho S / (2 (1 - rho))`` on the prompt's service ``S = n_c T / k``.
  - *slot queue*: at most ``c`` sequences run (memory or the engine's max running batch); a G/G/c queue
    with Poisson arrivals and fixed lengths, Sakasegawa's approximation: ``P(wait) = rho^(sqrt(2(c+1)) -
    1)``, mean wait ``P(wait) S_hold / (c (1 - rho)) / 2``.
  - *request overhead*: HTTP, tokenisation and streaming the first token (``request_overhead_s``).
  - waits are exponential given that a request waits (M/G/1 and M/M/c tails): the q-quantile of a wait
    with mean ``W`` and waiting probability ``P`` is ``W / P ln(P / (1 - q))`` (0 when ``P <= 1 - q``).
    p99 TTFT adds the p99 of each part (an upper bound on the p99 of the sum).
* **capacity**: the largest ``lambda`` whose p99 TTFT and p99 TPOT meet the targets (MLPerf checks p99)
  and whose queues are stable, interpolated between the last candidate that meets them and the first that
  does not.
* **closed loop** (:func:`closed_loop`): a benchmark that keeps ``N`` requests in flight (genai-perf / NIM
  concurrency sweeps) runs at the rate where ``N = lambda (TTFT + s_out T)``; past the engine's capacity
  the extra requests wait in the server's queue: ``TTFT = N / lambda_max - s_out T``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np

    from tco.model.inference.step import Engine

#: Candidate concurrencies as fractions of the engine's slots (geometric, then dense near saturation).
SLOT_FRACTIONS: Final = (0.002, 0.01, 0.03, 0.07, 0.13, 0.22, 0.34, 0.48, 0.62, 0.75, 0.86, 0.95)

#: A coarser grid for the low/high cost ends (capacity only).
COARSE_FRACTIONS: Final = (0.002, 0.02, 0.08, 0.2, 0.4, 0.6, 0.75, 0.86, 0.95)

P50: Final = 0.5
P99: Final = 0.99


def wait_quantile(mean_wait: np.ndarray, p_wait: np.ndarray, q: float) -> np.ndarray:
    """q-quantile of a waiting time with the given mean and probability of waiting (exponential tail)."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        tail = mean_wait / p_wait * np.log(p_wait / (1.0 - q))
    return np.where(p_wait > 1.0 - q, tail, 0.0)


def load_curve(
    engine: Engine,
    slots: np.ndarray,
    *,
    max_num_tokens: np.ndarray,
    chunked: np.ndarray,
    z: float,
    request_overhead_s: float = 0.0,
    fractions: tuple[float, ...] = SLOT_FRACTIONS,
    full: bool = True,
) -> dict[str, np.ndarray]:
    """TTFT/TPOT p50 and p99, the mean TTFT and the request rate at each candidate concurrency.

    ``slots``, ``max_num_tokens`` and ``chunked`` (1 = chunked prefill) have shape (rows, 1); the result's
    arrays (rows, candidates). ``full=False`` gives only what capacity needs (rate, mean and decode-only
    step, p99 TTFT and TPOT); ``full`` adds the p50s, the mean TTFT, the queueing and the decode-only
    step's parts (weights, KV, compute, communication) at each candidate.
    """
    import numpy as np

    grid = np.asarray(fractions, dtype="float64")[None, :]
    batch = slots * grid
    batch[:, :1] = np.minimum(batch[:, :1], 0.05)  # the lightest load: a replica mostly idle
    s_in = engine.prompt_tokens
    s_out = engine.output_tokens
    step = engine.step_s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        free = np.maximum(max_num_tokens - batch, 1.0)
        split = chunked > 0.5
        unit = np.where(split, np.minimum(s_in, free), s_in)
        chunks = s_in / unit  # chunks per prompt (1 without chunked prefill)
        k_max = np.where(split, free / unit, np.maximum(1.0, np.floor(free / s_in)))
        m = batch / s_out * chunks  # chunks admitted per step
        rho_pre = m / k_max
        p0 = np.exp(-m)
        p1 = m * p0
        p2 = np.maximum(1.0 - p0 - p1, 0.0)
        k2 = np.where(p2 > 1e-12, (m - p1) / np.maximum(p2, 1e-300), 2.0)
        t0 = step(batch, 0.0 * batch)
        t1 = step(batch, np.minimum(1.0, k_max) * unit)
        t2 = step(batch, np.minimum(k2, k_max) * unit)
        mean = p0 * t0 + p1 * t1 + p2 * t2
        second = p0 * t0 * t0 + p1 * t1 * t1 + p2 * t2 * t2
        spread = np.sqrt(np.maximum(second - mean * mean, 0.0))
        rate = batch / (s_out * mean)
        tpot_p99 = mean + z * spread / np.sqrt(s_out)

        busy = -np.expm1(-batch)
        residual = busy * second / (2.0 * mean)
        others = m * second / (mean * mean)
        others99 = others + z * np.sqrt(others)
        residual99 = busy * step(batch, np.minimum(np.maximum(others99, 1.0), k_max) * unit)

        def own(work: np.ndarray) -> np.ndarray:
            served: np.ndarray = np.maximum(work / k_max, 1.0) * step(batch, np.minimum(work, k_max) * unit)
            return served

        service = own(chunks + others)
        service99 = own(chunks + others99)
        per_prompt = chunks * t2 / np.maximum(np.minimum(k2, k_max), 1.0)
        budget_wait = rho_pre * per_prompt / (2.0 * (1.0 - rho_pre))

        hold = service + s_out * mean
        rho_s = rate * hold / slots
        p_wait = rho_s ** (np.sqrt(2.0 * (slots + 1.0)) - 1.0)
        slot_wait = p_wait * hold / (slots * (1.0 - rho_s)) * 0.5
        stable = (rho_pre < 1.0) & (rho_s < 1.0)
        queue99 = wait_quantile(budget_wait, rho_pre, P99) + wait_quantile(slot_wait, p_wait, P99)
        ttft_p99 = residual99 + queue99 + service99 + request_overhead_s
    inf = np.inf
    out = {
        "batch": batch,
        "rate": rate,
        "step_s": mean,
        "decode_step_s": t0,
        "tpot_p99_s": np.where(stable, tpot_p99, inf),
        "ttft_p99_s": np.where(stable, ttft_p99, inf),
        "prefill_utilisation": rho_pre,
    }
    if not full:
        return out
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ttft_p50 = (
            residual
            + wait_quantile(budget_wait, rho_pre, P50)
            + service
            + wait_quantile(slot_wait, p_wait, P50)
            + request_overhead_s
        )
        ttft_mean = residual + budget_wait + service + slot_wait + request_overhead_s
    out.update(
        tpot_p50_s=np.where(stable, mean, inf),
        ttft_p50_s=np.where(stable, ttft_p50, inf),
        ttft_mean_s=np.where(stable, ttft_mean, inf),
        queue_wait_p99_s=np.where(stable, queue99 + residual99, inf),
        prefill_service_s=service,
    )
    parts = engine.parts(batch, 0.0 * batch)
    for name in ("weights_s", "kv_s", "compute_s", "comm_s"):
        out[name] = parts[name]
    return out


def capacity(
    curve: dict[str, np.ndarray], ttft_target: np.ndarray, tpot_target: np.ndarray, usable: np.ndarray
) -> dict[str, np.ndarray]:
    """The highest rate whose p99 TTFT and TPOT meet the targets (rows), interpolated between the last
    candidate that meets them and the next; ``last``: the last candidate met them (memory or the max
    running batch binds); ``first_ok``: the lightest load met them; ``ttft_binds``: TTFT, not TPOT, is
    what fails next."""
    import numpy as np

    rate = curve["rate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ttft_ratio = curve["ttft_p99_s"] / ttft_target
        tpot_ratio = curve["tpot_p99_s"] / tpot_target
    ratio = np.maximum(ttft_ratio, tpot_ratio)
    ok = (ratio <= 1.0) & usable & np.isfinite(rate)
    # the curve rises with the candidates: the last candidate that meets the targets
    rows = np.arange(rate.shape[0])
    n = rate.shape[1]
    last_ok = n - 1 - np.argmax(ok[:, ::-1], axis=1)
    any_ok = ok.any(axis=1)
    nxt = np.minimum(last_ok + 1, n - 1)
    r0, r1 = rate[rows, last_ok], rate[rows, nxt]
    q0, q1 = ratio[rows, last_ok], ratio[rows, nxt]
    with np.errstate(divide="ignore", invalid="ignore"):
        finite = np.isfinite(q1) & (q1 > q0)
        w = np.where(finite, (1.0 - q0) / (q1 - q0), 0.0)
        w = np.clip(w, 0.0, 1.0)
    at_end = last_ok == n - 1
    value = np.where(at_end, r0, r0 + w * (r1 - r0))
    return {
        "rate": np.where(any_ok, value, np.nan),
        "feasible": any_ok,
        "index": last_ok,
        "last": any_ok & at_end,
        "first_ok": ok[:, 0],
        "ttft_binds": ttft_ratio[rows, nxt] >= tpot_ratio[rows, nxt],
        "ttft_ok_first": ttft_ratio[:, 0] <= 1.0,
        "tpot_ok_first": tpot_ratio[:, 0] <= 1.0,
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


def closed_loop(
    curve: dict[str, np.ndarray], concurrency: np.ndarray, s_out: np.ndarray
) -> dict[str, np.ndarray]:
    """Mean TTFT and TPOT when a client keeps ``concurrency`` requests in flight (rows).

    In flight = decoding + waiting or in prefill: ``N(B) = B + lambda(B) TTFT_mean(B)``, interpolated along
    the candidates; past the last stable candidate the rate stays at its maximum and the extra requests
    wait in the server: ``TTFT = N / lambda_max - s_out T``.
    """
    import numpy as np

    rate = curve["rate"]
    ttft = curve["ttft_mean_s"]
    tpot = curve["tpot_p50_s"]
    stable = np.isfinite(ttft) & np.isfinite(tpot)
    in_flight = np.where(stable, curve["batch"] + rate * ttft, np.inf)
    rows = np.arange(rate.shape[0])
    n = rate.shape[1]
    last = np.maximum(n - 1 - np.argmax(stable[:, ::-1], axis=1), 0)
    above = (in_flight < concurrency[:, None]).sum(axis=1)
    hi = np.clip(above, 0, n - 1)
    lo = np.clip(above - 1, 0, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_lo, n_hi = in_flight[rows, lo], in_flight[rows, hi]
        w = np.clip(np.where(n_hi > n_lo, (concurrency - n_lo) / (n_hi - n_lo), 0.0), 0.0, 1.0)
        w = np.where(np.isfinite(w), w, 0.0)

        def pick(values: np.ndarray) -> np.ndarray:
            a, b = values[rows, lo], values[rows, hi]
            picked: np.ndarray = np.where(np.isfinite(b), a + w * (b - a), a)
            return picked

        ttft_in = pick(ttft)
        tpot_in = pick(tpot)
        rate_in = pick(rate)
        saturated = concurrency > in_flight[rows, last]
        rate_max = rate[rows, last]
        tpot_max = tpot[rows, last]
        ttft_sat = concurrency / rate_max - s_out[:, 0] * tpot_max
    return {
        "ttft_s": np.where(saturated, ttft_sat, ttft_in),
        "tpot_s": np.where(saturated, tpot_max, tpot_in),
        "rate": np.where(saturated, rate_max, rate_in),
        "saturated": saturated,
    }


def burst(
    engine: Engine,
    slots: np.ndarray,
    *,
    requests: np.ndarray,
    max_num_tokens: np.ndarray,
    chunked: np.ndarray,
    request_overhead_s: float = 0.0,
) -> dict[str, np.ndarray]:
    """Mean TTFT when ``requests`` arrive at once (a benchmark's first wave, a "QPS inf" run, clients that
    send in step; shapes (rows, 1)).

    The scheduler admits them first come first served: ``k`` prompts per step (without chunked prefill
    ``max(1, floor(C / s_in))`` whole prompts; with it ``C / s_in`` prompts' worth of tokens), each step
    also decoding the ones already admitted, so step ``i`` takes ``T_i = step((i - 1) k, k s_in)`` - linear
    in ``i`` between the first and the last of the ``n = ceil(min(N, c) / k)`` steps. A prompt admitted in
    step ``i`` sees its first token at ``sum_{j <= i} T_j``; the mean over the wave is
    ``a (n + 1) / 2 + b (n^2 - 1) / 6`` (``a = T_1``, ``b`` the slope). Requests beyond the ``c`` slots wait
    for earlier waves to finish (their prefill and ``s_out`` decode steps at ``c`` sequences).
    """
    import numpy as np

    s_in = engine.prompt_tokens
    s_out = engine.output_tokens
    per_step = np.where(
        chunked > 0.5, max_num_tokens / s_in, np.maximum(1.0, np.floor(max_num_tokens / s_in))
    )
    wave = np.minimum(requests, slots)
    per_step = np.minimum(per_step, wave)
    steps = np.maximum(np.ceil(wave / per_step), 1.0)
    first = engine.step_s(0.0 * s_in, per_step * s_in)
    last = engine.step_s((steps - 1.0) * per_step, per_step * s_in)
    slope = (last - first) / np.maximum(steps - 1.0, 1.0)
    mean_wave = first * (steps + 1.0) / 2.0 + slope * (steps * steps - 1.0) / 6.0
    prefill_time = steps * first + slope * steps * (steps - 1.0) / 2.0
    lifetime = prefill_time + s_out * engine.step_s(wave, 0.0 * wave)
    waves = np.ceil(requests / wave)
    # waves 1..w: wave v waits (v - 1) lifetimes; the last wave holds the remainder
    full = waves - 1.0
    rest = requests - full * wave
    waited = (wave * full * (full - 1.0) / 2.0 + rest * full) * lifetime
    mean = mean_wave + waited / requests + request_overhead_s
    # after its first token a request of the wave waits out the later context steps ((n - 1) / 2 of them on
    # average) besides its s_out decode steps at the wave's concurrency
    tpot = (steps - 1.0) / 2.0 * (first + last) / 2.0 / s_out + engine.step_s(wave, 0.0 * wave)
    return {"ttft_mean_s": mean, "ttft_wave_s": mean_wave, "tpot_mean_s": tpot, "steps": steps}
