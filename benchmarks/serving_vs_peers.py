"""tco's serving model beside two peers, on issue #10's scenario and on measured latency under load.

    python benchmarks/serving_vs_peers.py [--aic /work/peers/aiconfigurator/bin/aiconfigurator]
        [--llm-python /work/peers/llm-analysis/bin/python] [--model-dir /work/peers/models/Llama-2-70b-hf]
        [--skip-measured]

**The scenario** is issue #10's: Llama-2-70B (bf16) on H100-80GB SXM, 10 requests/s of 1000 prompt and 300
output tokens, TTFT <= 2 s and TPOT <= 30 ms, with TensorRT-LLM (the engine AIConfigurator models). Each
peer lives in its own virtualenv, never in tco's::

    python3 -m venv /work/peers/aiconfigurator && /work/peers/aiconfigurator/bin/pip install aiconfigurator
    python3 -m venv /work/peers/llm-analysis && /work/peers/llm-analysis/bin/pip install llm-analysis

AIConfigurator runs offline but needs the model's HF ``config.json`` in a local folder (``--model-dir``;
the Llama-2-70b-hf config: 80 layers, hidden 8192, 64 heads, 8 KV heads, ffn 28672, vocab 32000). It picks
its own aggregated configuration (replica size, concurrency ``bs``) and reports TTFT/TPOT there. tco is
evaluated on the same fleet (AIConfigurator's replica size and count, each replica carrying its share of
the 10 req/s) two ways: requests arriving independently (Poisson; p50 and p99, what tco prices), and a
wave of ``bs`` requests arriving at once (AIConfigurator's assumption: its TTFT is a full
``max_num_tokens`` prefill step times a queueing factor of 2-4 for requests arriving together). llm-analysis
has no load model: its TTFT is one prompt's prefill (batch 1), its TPOT one decode step at
AIConfigurator's batch, both with tco's efficiencies.

**Measured latency under load**: NVIDIA NIM 1.8 (TensorRT-LLM) concurrency sweeps on H100
(tests/tco/model/data/serving_concurrency.csv: a client keeps N requests in flight); for a subset of points
AIConfigurator's ``estimate`` at that concurrency (``--ctx-tokens 8192``, fp8 GEMM/KV/FMHA) beside tco's
closed-loop steady state (requests independent) and first wave (all N at once).
"""

# ruff: noqa: E501
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from tco.model.assumptions import ServingAssumptions
from tco.model.inference.validation import efficiencies_from, predict_concurrency
from tco.model.offers import override_options
from tco.model.serving import load_curves, project_serving
from tco.presets import find_model, hardware_table, load_serving_models, serving_shape

RATE, S_IN, S_OUT, TTFT_S, TPOT_S = 10.0, 1000.0, 300.0, 2.0, 0.030
DATA = Path(__file__).resolve().parents[1] / "tests" / "tco" / "model" / "data"
#: NIM points compared with AIConfigurator's estimate (model, TP, ISL/OSL, concurrency).
MEASURED = [
    ("llama-3-8b", 1, "1000-1000", c) for c in (5, 25, 50, 100)
] + [("llama-3-70b", 2, "1000-1000", c) for c in (5, 25, 50, 100)] + [
    ("llama-3-8b", 1, "5000-500", 25), ("llama-3-70b", 2, "5000-500", 25),
    ("llama-3-8b", 1, "500-2000", 50), ("llama-3-70b", 2, "500-2000", 50),
]  # fmt: skip
AIC_MODELS = {"llama-3-8b": "meta-llama/Meta-Llama-3.1-8B", "llama-3-70b": "meta-llama/Meta-Llama-3.1-70B"}


def aiconfigurator(binary: str, model_dir: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as save:
        argv = [binary, "cli", "default", "--model-path", model_dir, "--system", "h100_sxm", "--backend", "trtllm",
                "--isl", str(int(S_IN)), "--osl", str(int(S_OUT)), "--ttft", str(TTFT_S * 1000),
                "--tpot", str(TPOT_S * 1000), "--target-request-rate", str(RATE), "--save-dir", save,
                "--serving-mode", "agg"]  # fmt: skip
        text = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=True).stdout
    table = re.search(r"(?<!dis)agg Top Configurations.*?\n(?:.*\n){3}\|\s*1\s*\|(.*)\n", text)
    if table is None:
        raise SystemExit("AIConfigurator printed no aggregated configuration:\n" + text[-2000:])
    cells = [c.strip() for c in table.group(1).split("|")]

    # backend, tokens/s/gpu, tokens/s/user, req/s, TTFT, request_latency, concurrency, total_gpus, replicas,
    # gpus/replica, gpus/worker, parallel, bs
    def number(cell: str) -> float:
        return float(cell.split(maxsplit=1)[0])

    return {
        "req_s": number(cells[3]),
        "ttft_s": number(cells[4]) / 1000.0,
        "tpot_s": 1.0 / number(cells[2]),
        "replicas": number(cells[8]),
        "tp": number(cells[9]),
        "batch": number(cells[12]),
    }


def aic_estimate(
    binary: str,
    model: str,
    tp: int,
    isl: int,
    osl: int,
    concurrency: int,
    *,
    ctx_tokens: int = 8192,
    quant: str = "fp8",
) -> tuple[float, float]:
    """AIConfigurator's TTFT and TPOT (s) at a fixed concurrency (its ``estimate`` mode, TensorRT-LLM).

    ``model``: a key of ``AIC_MODELS`` or a local folder holding a ``config.json``; ``ctx_tokens``: its
    context-token budget per step (``--ctx-tokens``; its ``estimate`` default is the ISL, its ``default``
    search uses TensorRT-LLM's ``max_num_tokens`` 8192); ``quant``: "fp8" or "bfloat16" for the GEMMs, KV
    cache and attention."""
    argv = [binary, "cli", "estimate", "--model-path", AIC_MODELS.get(model, model), "--system", "h100_sxm",
            "--backend", "trtllm", "--isl", str(isl), "--osl", str(osl), "--batch-size", str(concurrency),
            "--ctx-tokens", str(ctx_tokens), "--tp-size", str(tp), "--gemm-quant-mode", quant,
            "--kvcache-quant-mode", quant, "--fmha-quant-mode", quant, "--estimate-mode", "agg"]  # fmt: skip
    text = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=True).stdout
    ttft = re.search(r"TTFT:\s+([\d.]+) ms", text)
    tpot = re.search(r"TPOT:\s+([\d.]+) ms", text)
    if ttft is None or tpot is None:
        raise SystemExit("AIConfigurator estimate printed no TTFT/TPOT:\n" + text[-2000:])
    return float(ttft.group(1)) / 1000.0, float(tpot.group(1)) / 1000.0


def llm_analysis(python: str, tp: int, batch: int, mbu: float, flops: float) -> dict[str, float]:
    code = (
        "import json\nfrom llm_analysis.analysis import infer\n"
        "def run(b):\n"
        f"    return infer(model_name='upstage_Llama-2-70b-instruct-v2', gpu_name='h100-sxm-80gb', "
        f"dtype_name='w16a16e16', tp_size={tp}, batch_size_per_gpu=b, seq_len={int(S_IN)}, "
        f"num_tokens_to_generate={int(S_OUT)}, flops_efficiency={flops}, hbm_memory_efficiency={mbu}, "
        "log_level='ERROR')\n"
        f"one, many = run(1), run({batch})\n"
        "print(json.dumps({'ttft_s': one['prefill_latency'], 'tpot_s': many['decode_latency']}))\n"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=600, check=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _workload(rate: float, ttft_s: float, tpot_s: float, **extra: float) -> pd.DataFrame:
    model = find_model("llama-2-70b")
    return pd.DataFrame([{
        "workload": "llama-2-70b", **{k: model[k] for k in ("params", "layers", "hidden", "heads", "kv_heads")},
        **serving_shape("llama-2-70b"), "active_params": float("nan"), "prompt_tokens": S_IN,
        "output_tokens": S_OUT, "requests_per_s": rate, "ttft_s": ttft_s, "tpot_s": tpot_s,
        "weight_bytes_per_param": 2.0, "kv_bytes_per_element": 2.0, "hours_per_day": 24.0, "dtype": "bf16",
        "workload_source": "issue #10 scenario", "engine": "trtllm", **extra}])  # fmt: skip


def tco(tp: int | None) -> pd.DataFrame:
    """tco's own choice (or the given replica size) for the scenario, TensorRT-LLM."""
    a = ServingAssumptions()
    hardware = hardware_table(["H100-80GB"])
    sizes = [tp] if tp else [1, 2, 4, 8]
    return project_serving(
        _workload(RATE, TTFT_S, TPOT_S), override_options(["H100-80GB"], 1.0, 8.0), hardware,
        efficiencies_from(a, ["H100-80GB"]), replica_sizes=sizes, assumptions=a,
    )  # fmt: skip


def tco_at_rate(tp: int, per_replica: float, wave: float) -> dict[str, float]:
    """tco's latencies when one TP-``tp`` replica carries ``per_replica`` req/s (no headroom), and the mean
    TTFT/TPOT of a wave of ``wave`` requests arriving at once."""
    a = ServingAssumptions().with_overrides(headroom=0.0)
    hardware = hardware_table(["H100-80GB"])
    hardware = hardware[hardware["dtype"] == "bf16"]
    eff = efficiencies_from(a, ["H100-80GB"])
    row = project_serving(
        _workload(per_replica, 1e9, 1e9), override_options(["H100-80GB"], 1.0, 8.0), hardware, eff,
        replica_sizes=[tp], assumptions=a,
    ).iloc[0]  # fmt: skip
    _, curve = load_curves(
        _workload(per_replica, 1e9, 1e9, wave=wave).drop(columns=["accelerator"], errors="ignore"),
        hardware, eff, replica_sizes=[tp], assumptions=a, burst_requests="wave",
    )  # fmt: skip
    return {
        "ttft_p50_s": float(row["ttft_p50_s"]),
        "ttft_p99_s": float(row["ttft_s"]),
        "tpot_p50_s": float(row["tpot_p50_s"]),
        "tpot_p99_s": float(row["tpot_s"]),
        "burst_ttft_s": float(curve["burst_ttft_mean_s"][0, 0]),
        "burst_tpot_s": float(curve["burst_tpot_mean_s"][0, 0]),
    }


def measured(binary: str) -> None:
    rows = pd.read_csv(DATA / "serving_concurrency.csv")
    key = rows["model"] + "/" + rows["row_id"].str.split("/").str[-2] + "/" + rows["concurrency"].astype(str)
    wanted = [f"{m}/{shape}/{c}" for m, _, shape, c in MEASURED]
    chosen = rows[key.isin(wanted)].reset_index(drop=True)
    hardware = hardware_table(["H100-80GB"])
    pred = predict_concurrency(chosen, load_serving_models(), hardware, ServingAssumptions())
    print()
    print(
        "Measured TTFT/TPOT under load (NVIDIA NIM 1.8, TensorRT-LLM, H100, fp8; a client keeps N requests in flight)"
    )
    print(
        f"{'model TP ISL/OSL N':34}{'TTFT ms':>9}{'AIC':>9}{'tco':>9}{'tco wave':>10}{'TPOT ms':>9}{'AIC':>7}{'tco':>7}"
    )
    ratios: dict[str, list[float]] = {"aic": [], "tco": [], "wave": []}
    for r in pred.to_dict("records"):
        isl, osl = (int(v) for v in str(r["row_id"]).split("/")[-2].split("-"))
        aic_ttft, aic_tpot = aic_estimate(
            binary, str(r["model"]), int(r["tp"]), isl, osl, int(r["concurrency"])
        )
        label = f"{r['model']} TP{r['tp']} {isl}/{osl} N={r['concurrency']}"
        print(f"{label:34}{r['ttft_ms']:>9.0f}{aic_ttft * 1e3:>9.0f}{r['pred_ttft_ms']:>9.0f}{r['pred_ttft_burst_ms']:>10.0f}"
              f"{r['tpot_ms']:>9.1f}{aic_tpot * 1e3:>7.1f}{r['pred_tpot_ms']:>7.1f}")  # fmt: skip
        ratios["aic"].append(aic_ttft * 1e3 / r["ttft_ms"])
        ratios["tco"].append(r["pred_ttft_ms"] / r["ttft_ms"])
        ratios["wave"].append(r["pred_ttft_burst_ms"] / r["ttft_ms"])
    for name, values in ratios.items():
        v = np.asarray(values)
        print(f"  TTFT / measured, {name}: median {np.median(v):.2f}, range {v.min():.2f}-{v.max():.2f}")


def budgets(binary: str, model_dir: str, tp: int, batch: int, tco_p99_s: float) -> None:
    """AIConfigurator's own estimate for the fleet it chose, by context-token budget (nothing else changes)."""
    print()
    print(f"AIConfigurator estimate on its fleet (TP{tp}, {batch} in flight), by context tokens per step:")
    for ctx in (int(S_IN), 2048, 8192):
        ttft, tpot = aic_estimate(
            binary, model_dir, tp, int(S_IN), int(S_OUT), batch, ctx_tokens=ctx, quant="bfloat16"
        )
        print(f"  --ctx-tokens {ctx:>5}: TTFT {ttft:.3f} s, TPOT {tpot * 1e3:.1f} ms; tco Poisson p99 / this TTFT "
              f"{tco_p99_s / ttft:.2f}")  # fmt: skip


def at_rates(binary: str) -> None:
    """Published mean TTFT at a request rate (Poisson; TensorRT-LLM's online table, the published case nearest
    the scenario) beside tco and AIConfigurator at the measured in-flight count (Little's law on the measured
    figures: N = rate (TTFT + (OSL - 1) TPOT)), with its two context budgets."""
    from tco.model.inference.validation import predict_online

    rows = pd.read_csv(DATA / "serving_online.csv")
    rows = rows[rows["requests_per_s"].notna() & (rows["accelerator"] == "H100-80GB")].reset_index(drop=True)
    pred = predict_online(rows, load_serving_models(), hardware_table(["H100-80GB"]), ServingAssumptions())
    print()
    print(
        "Measured TTFT at a request rate (TensorRT-LLM 0.14 online table, H100, bf16, Poisson arrivals, mean)"
    )
    print(
        f"{'model TP ISL/OSL rate':34}{'N':>5}{'TTFT ms':>9}{'tco':>7}{'AIC ctx=ISL':>13}{'AIC ctx=8192':>14}"
    )
    ratios: dict[str, list[float]] = {"tco": [], "aic_isl": [], "aic_8192": []}
    for r in pred.to_dict("records"):
        isl, osl = int(r["prompt_tokens"]), int(r["output_tokens"])
        n = max(1, round(r["requests_per_s"] * (r["ttft_ms"] + (osl - 1) * r["tpot_ms"]) / 1e3))
        aic_isl, _ = aic_estimate(
            binary, str(r["model"]), int(r["tp"]), isl, osl, n, ctx_tokens=isl, quant="bfloat16"
        )
        aic_big, _ = aic_estimate(
            binary, str(r["model"]), int(r["tp"]), isl, osl, n, ctx_tokens=8192, quant="bfloat16"
        )
        label = f"{r['model']} TP{r['tp']} {isl}/{osl} {r['requests_per_s']:g} req/s"
        print(
            f"{label:34}{n:>5}{r['ttft_ms']:>9.0f}{r['pred_ttft_ms']:>7.0f}{aic_isl * 1e3:>13.0f}{aic_big * 1e3:>14.0f}"
        )
        ratios["tco"].append(r["pred_ttft_ms"] / r["ttft_ms"])
        ratios["aic_isl"].append(aic_isl * 1e3 / r["ttft_ms"])
        ratios["aic_8192"].append(aic_big * 1e3 / r["ttft_ms"])
    for name, values in ratios.items():
        v = np.asarray(values)
        print(f"  TTFT / measured, {name}: median {np.median(v):.2f}, range {v.min():.2f}-{v.max():.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aic", default="/work/peers/aiconfigurator/bin/aiconfigurator")
    parser.add_argument("--llm-python", default="/work/peers/llm-analysis/bin/python")
    parser.add_argument("--model-dir", default="/work/peers/models/Llama-2-70b-hf")
    parser.add_argument("--skip-measured", action="store_true", help="only the scenario")
    args = parser.parse_args()
    if not Path(args.model_dir, "config.json").exists():
        raise SystemExit(f"no config.json in {args.model_dir}: see this script's docstring")
    aic = aiconfigurator(args.aic, args.model_dir)
    tp = int(aic["tp"])
    same = tco(tp).iloc[0]
    a = ServingAssumptions()
    per_replica = RATE / aic["replicas"]  # the same fleet: AIConfigurator's replicas carry the rate
    own = tco(None).sort_values("cost_usd_per_1m_output_tokens").iloc[0]
    mbu_tp = a.mbu.value * a.mbu_tp_doubling_factor.value ** (tp.bit_length() - 1)
    lla = llm_analysis(args.llm_python, tp, int(aic["batch"]), mbu_tp, a.prefill_flops_efficiency.value)
    at_aic = tco_at_rate(tp, per_replica, aic["batch"])
    print(f"Scenario: Llama-2-70B bf16 on H100 SXM, {RATE:g} req/s, {S_IN:g} in / {S_OUT:g} out, "
          f"TTFT <= {TTFT_S:g} s, TPOT <= {TPOT_S * 1e3:g} ms, TensorRT-LLM")  # fmt: skip
    print(f"{'':52}{'replicas':>9}{'TP':>4}{'req/s/rep':>10}{'TTFT s':>9}{'TPOT ms':>9}")
    print(f"{'AIConfigurator 0.12 (agg, its choice)':52}{aic['replicas']:>9g}{tp:>4}"
          f"{aic['req_s'] / aic['replicas']:>10.2f}{aic['ttft_s']:>9.3f}{aic['tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco, same fleet, Poisson arrivals: p50':52}{aic['replicas']:>9g}{tp:>4}{per_replica:>10.2f}"
          f"{at_aic['ttft_p50_s']:>9.3f}{at_aic['tpot_p50_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco, same fleet, Poisson arrivals: p99':52}{aic['replicas']:>9g}{tp:>4}{per_replica:>10.2f}"
          f"{at_aic['ttft_p99_s']:>9.3f}{at_aic['tpot_p99_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco, same fleet, a wave of ' + format(aic['batch'], 'g') + ' arriving at once (mean)':52}"
          f"{aic['replicas']:>9g}{tp:>4}{'':>10}{at_aic['burst_ttft_s']:>9.3f}{at_aic['burst_tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco, TP' + str(tp) + ' capacity within the targets (p99)':52}{same['replicas']:>9g}{tp:>4}"
          f"{same['requests_per_s_per_replica']:>10.2f}{same['ttft_s']:>9.3f}{same['tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco, its own choice (p99)':52}{own['replicas']:>9g}{own['accelerators_per_replica']:>4g}"
          f"{own['requests_per_s_per_replica']:>10.2f}{own['ttft_s']:>9.3f}{own['tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'llm-analysis 0.2.2 infer (no load model)':52}{'':>9}{tp:>4}{'':>10}{lla['ttft_s']:>9.3f}"
          f"{lla['tpot_s'] * 1e3:>9.1f}   (TTFT = one prompt's prefill; TPOT at batch {aic['batch']:g})")  # fmt: skip
    print(f"TTFT / AIConfigurator: tco Poisson p50 {at_aic['ttft_p50_s'] / aic['ttft_s']:.2f}, "
          f"p99 {at_aic['ttft_p99_s'] / aic['ttft_s']:.2f}, wave {at_aic['burst_ttft_s'] / aic['ttft_s']:.2f}")  # fmt: skip
    budgets(args.aic, args.model_dir, tp, int(aic["batch"]), at_aic["ttft_p99_s"])
    if not args.skip_measured:
        at_rates(args.aic)
        measured(args.aic)


if __name__ == "__main__":
    main()
