"""tco's serving model beside two peers on the same scenario: NVIDIA AIConfigurator and llm-analysis.

    python benchmarks/serving_vs_peers.py [--aic /work/peers/aiconfigurator/bin/aiconfigurator]
        [--llm-python /work/peers/llm-analysis/bin/python] [--model-dir /work/peers/models/Llama-2-70b-hf]

The scenario is issue #10's: Llama-2-70B (bf16) on H100-80GB SXM, 10 requests/s of 1000 prompt and 300
output tokens, TTFT <= 2 s and TPOT <= 30 ms. Each peer lives in its own virtualenv, never in tco's::

    python3 -m venv /work/peers/aiconfigurator && /work/peers/aiconfigurator/bin/pip install aiconfigurator
    python3 -m venv /work/peers/llm-analysis && /work/peers/llm-analysis/bin/pip install llm-analysis

AIConfigurator runs offline but needs the model's HF ``config.json`` in a local folder (``--model-dir``;
the Llama-2-70b-hf config: 80 layers, hidden 8192, 64 heads, 8 KV heads, ffn 28672, vocab 32000). It picks
its own aggregated configuration (replica size, batch) and reports TTFT/TPOT there; tco is then evaluated
on the same fleet (AIConfigurator's replica size and replica count, so each replica carries the same share
of the 10 req/s) and on its own choice. llm-analysis has no load model: its TTFT is one prompt's prefill
(batch 1) and its TPOT one decode step at AIConfigurator's batch, both with tco's efficiencies.
"""

# ruff: noqa: E501
from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from tco.model.assumptions import ServingAssumptions
from tco.model.offers import override_options
from tco.model.serving import project_serving
from tco.model.throughput import empty_calibrations, resolve_serving_efficiency
from tco.presets import find_model, hardware_table, serving_shape

RATE, S_IN, S_OUT, TTFT_S, TPOT_S = 10.0, 1000.0, 300.0, 2.0, 0.030


def aiconfigurator(binary: str, model_dir: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as save:
        argv = [binary, "cli", "default", "--model-path", model_dir, "--system", "h100_sxm", "--backend", "trtllm",
                "--isl", str(int(S_IN)), "--osl", str(int(S_OUT)), "--ttft", str(TTFT_S * 1000),
                "--tpot", str(TPOT_S * 1000), "--target-request-rate", str(RATE), "--save-dir", save,
                "--serving-mode", "agg"]  # fmt: skip
        text = subprocess.run(argv, capture_output=True, text=True, timeout=1200, check=True).stdout
    table = re.search(r"agg Top Configurations.*?\n(?:.*\n){3}\|\s*1\s*\|(.*)\n", text)
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


def tco(tp: int | None) -> pd.DataFrame:
    model = find_model("llama-2-70b")
    workload = pd.DataFrame([{
        "workload": "llama-2-70b", **{k: model[k] for k in ("params", "layers", "hidden", "heads", "kv_heads")},
        **serving_shape("llama-2-70b"), "active_params": float("nan"), "prompt_tokens": S_IN,
        "output_tokens": S_OUT, "requests_per_s": RATE, "ttft_s": TTFT_S, "tpot_s": TPOT_S,
        "weight_bytes_per_param": 2.0, "kv_bytes_per_element": 2.0, "hours_per_day": 24.0, "dtype": "bf16",
        "workload_source": "issue #10 scenario"}])  # fmt: skip
    a = ServingAssumptions()
    hardware = hardware_table(["H100-80GB"])
    eff = resolve_serving_efficiency(
        ["H100-80GB"], ["torch"], hardware, empty_calibrations(), dtype="bf16",
        mbu_default=(a.mbu.value, a.mbu.low, a.mbu.high, a.mbu.source),
        flops_default=(a.prefill_flops_efficiency.value, a.prefill_flops_efficiency.low,
                       a.prefill_flops_efficiency.high, a.prefill_flops_efficiency.source),
    )  # fmt: skip
    sizes = [tp] if tp else [1, 2, 4, 8]
    return project_serving(
        workload, override_options(["H100-80GB"], 1.0, 8.0), hardware, eff, replica_sizes=sizes, assumptions=a
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aic", default="/work/peers/aiconfigurator/bin/aiconfigurator")
    parser.add_argument("--llm-python", default="/work/peers/llm-analysis/bin/python")
    parser.add_argument("--model-dir", default="/work/peers/models/Llama-2-70b-hf")
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
    at_aic = tco_at_rate(tp, per_replica)
    print(f"Scenario: Llama-2-70B bf16 on H100 SXM, {RATE:g} req/s, {S_IN:g} in / {S_OUT:g} out, "
          f"TTFT <= {TTFT_S:g} s, TPOT <= {TPOT_S * 1e3:g} ms")  # fmt: skip
    print(f"{'':44}{'replicas':>9}{'TP':>4}{'req/s/rep':>10}{'TTFT s':>9}{'TPOT ms':>9}")
    print(f"{'AIConfigurator 0.12 (agg, its choice)':44}{aic['replicas']:>9g}{tp:>4}"
          f"{aic['req_s'] / aic['replicas']:>10.2f}{aic['ttft_s']:>9.3f}{aic['tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'tco at the same fleet, p50 (p99)':44}{aic['replicas']:>9g}{tp:>4}{same['requests_per_s_per_replica']:>10.2f}"
          f"{at_aic['ttft_p50_s']:>9.3f}{at_aic['tpot_p50_s'] * 1e3:>9.1f}   "
          f"(p99 TTFT {at_aic['ttft_s']:.3f} s, TPOT {at_aic['tpot_s'] * 1e3:.1f} ms)")  # fmt: skip
    print(f"{'tco, its own choice (p99)':44}{own['replicas']:>9g}{own['accelerators_per_replica']:>4g}"
          f"{own['requests_per_s_per_replica']:>10.2f}{own['ttft_s']:>9.3f}{own['tpot_s'] * 1e3:>9.1f}")  # fmt: skip
    print(f"{'llm-analysis 0.2.2 infer (no load model)':44}{'':>9}{tp:>4}{'':>10}{lla['ttft_s']:>9.3f}"
          f"{lla['tpot_s'] * 1e3:>9.1f}   (TTFT = one prompt's prefill; TPOT at batch {aic['batch']:g})")  # fmt: skip
    ratio = at_aic["ttft_p50_s"] / aic["ttft_s"]
    print(
        f"TTFT tco p50 / AIConfigurator = {ratio:.2f}; p99 / AIConfigurator = {at_aic['ttft_s'] / aic['ttft_s']:.2f}"
    )


def tco_at_rate(tp: int, per_replica: float) -> pd.Series:
    """tco's latencies when one TP-``tp`` replica carries ``per_replica`` req/s (no headroom)."""
    a = ServingAssumptions().with_overrides(headroom=0.0)
    model = find_model("llama-2-70b")
    workload = pd.DataFrame([{
        "workload": "llama-2-70b", **{k: model[k] for k in ("params", "layers", "hidden", "heads", "kv_heads")},
        **serving_shape("llama-2-70b"), "active_params": float("nan"), "prompt_tokens": S_IN,
        "output_tokens": S_OUT, "requests_per_s": per_replica, "ttft_s": 1e9, "tpot_s": 1e9,
        "weight_bytes_per_param": 2.0, "kv_bytes_per_element": 2.0, "hours_per_day": 24.0, "dtype": "bf16",
        "workload_source": "issue #10 scenario"}])  # fmt: skip
    hardware = hardware_table(["H100-80GB"])
    eff = resolve_serving_efficiency(
        ["H100-80GB"], ["torch"], hardware, empty_calibrations(), dtype="bf16",
        mbu_default=(a.mbu.value, a.mbu.low, a.mbu.high, a.mbu.source),
        flops_default=(a.prefill_flops_efficiency.value, a.prefill_flops_efficiency.low,
                       a.prefill_flops_efficiency.high, a.prefill_flops_efficiency.source),
    )  # fmt: skip
    out = project_serving(
        workload, override_options(["H100-80GB"], 1.0, 8.0), hardware, eff, replica_sizes=[tp], assumptions=a
    )
    return out.iloc[0]


if __name__ == "__main__":
    main()
