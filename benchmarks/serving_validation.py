"""Every published serving measurement in tests/tco/model/data against tco's serving model, row by row.

    python benchmarks/serving_validation.py [--markdown] [--set NAME=VALUE ...]

Offline rows (tests/tco/model/data/serving_offline.csv): measured output tokens/s of a replica with every
slot busy (trtllm-bench, vLLM benchmark_throughput) vs ``offline_tokens_per_s_per_replica``, each row with
the engine that was measured. The ``split`` column says which rows the defaults were tuned on (TensorRT-LLM
0.15, ISL/OSL 1000/1000, 128/2048 and 2048/128; AMD's vLLM Llama-3.1-70B rows for the vLLM x MI300X
factor) and which were held out (every other shape, TensorRT-LLM 1.0, AMD's 405B rows and Oracle on
MI300X). Online rows (serving_online.csv): mean TTFT and TPOT at a request rate (Poisson arrivals) or for
a burst of requests sent at once. Concurrency rows (serving_concurrency.csv): NIM sweeps where a client
keeps N requests in flight: mean TTFT/TPOT vs tco's closed-loop steady state and first wave, split into
tuning (Llama-3.1-8B) and held-out (Llama-3.3-70B), with the points past the engine's capacity (queues
grow) summarised apart. Prints each row's error, then the summaries (median |error|, share within +-25%).
"""

# ruff: noqa: E501
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tco.api.inputs import settings as parse_settings
from tco.model.assumptions import ServingAssumptions
from tco.model.inference.validation import predict_concurrency, predict_offline, predict_online, summary
from tco.presets import hardware_table, load_serving_models

DATA = Path(__file__).resolve().parents[1] / "tests" / "tco" / "model" / "data"


def pivot(rows: pd.DataFrame) -> str:
    """Markdown: one line per (model, accelerator, dtype, TP, source), one column per ISL/OSL."""
    frame = rows.assign(
        shape=rows["prompt_tokens"].astype(int).astype(str)
        + "/"
        + rows["output_tokens"].astype(int).astype(str),
        config=rows["model"]
        + " "
        + rows["accelerator"]
        + " "
        + rows["weight_dtype"]
        + " TP"
        + rows["tp"].astype(str)
        + " ("
        + rows["source_key"]
        + ")",
        cell=rows["error"].map(lambda e: f"{e:+.0%}"),
    )
    shapes = sorted(frame["shape"].unique(), key=lambda s: tuple(int(v) for v in s.split("/")))
    table = frame.pivot_table(index="config", columns="shape", values="cell", aggfunc="first")
    lines = ["| configuration (source) | " + " | ".join(shapes) + " |", "|---|" + "---:|" * len(shapes)]
    for config, values in table.iterrows():
        cells = [str(values.get(s)) if isinstance(values.get(s), str) else "" for s in shapes]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="every offline row as a Markdown table")
    parser.add_argument(
        "--pivot",
        action="store_true",
        help="the offline errors by configuration and ISL/OSL (the README's table)",
    )
    parser.add_argument("--set", action="append", default=[], help="override a serving assumption")
    args = parser.parse_args()
    assumptions = ServingAssumptions().with_overrides(**parse_settings(args.set).group("serving"))
    offline = pd.read_csv(DATA / "serving_offline.csv")
    online = pd.read_csv(DATA / "serving_online.csv")
    concurrency = pd.read_csv(DATA / "serving_concurrency.csv")
    models = load_serving_models()
    hardware = hardware_table(
        sorted(set(offline["accelerator"]) | set(online["accelerator"]) | set(concurrency["accelerator"]))
    )
    rows = predict_offline(offline, models, hardware, assumptions)
    rows["source_key"] = rows["row_id"].str.split("/").str[0]
    if args.pivot:
        print(pivot(rows))
        return
    if args.markdown:
        print("| row | split | measured tok/s | tco tok/s | error |")
        print("|---|---|---:|---:|---:|")
        for r in rows.to_dict("records"):
            print(f"| {r['row_id']} | {r['split']} | {r['output_tokens_per_s']:,.0f} | "
                  f"{r['predicted_tokens_per_s']:,.0f} | {r['error']:+.0%} |")  # fmt: skip
    else:
        for r in rows.to_dict("records"):
            print(f"{r['row_id']:58} {r['split']:9} {r['output_tokens_per_s']:>10,.0f} "
                  f"{r['predicted_tokens_per_s']:>10,.0f} {r['error']:>+7.0%}")  # fmt: skip
    print()
    print(f"{'offline throughput':40} {'rows':>5} {'median |err|':>13} {'within 25%':>11} {'median err':>11}")
    groups = [("tuning", rows[rows["split"] == "tuning"]), ("held-out", rows[rows["split"] == "held-out"])]
    groups += [(f"  held-out: {k}", g[g["split"] == "held-out"]) for k, g in rows.groupby("source_key")]
    for name, group in groups:
        s = summary(group)
        if s["rows"]:
            print(f"{name:40} {s['rows']:>5.0f} {s['median_abs_error']:>13.1%} {s['within_25']:>11.0%} "
                  f"{s['median_error']:>+11.1%}")  # fmt: skip
    print()
    result = predict_online(online, models, hardware, assumptions)
    print(
        f"{'TTFT/TPOT at a rate or a burst (mean)':44} {'TTFT ms':>8} {'tco':>7} {'tco p99':>8} {'TPOT ms':>8} {'tco':>7}"
    )
    for r in result.to_dict("records"):
        print(f"{r['row_id']:44} {r['ttft_ms']:>8.1f} {r['pred_ttft_ms']:>7.1f} {r['pred_ttft_p99_ms']:>8.1f} "
              f"{r['tpot_ms']:>8.1f} {r['pred_tpot_ms']:>7.1f}")  # fmt: skip
    print()
    conc = predict_concurrency(concurrency, models, hardware, assumptions)
    print(
        f"{'N in flight (closed loop, mean)':46} {'TTFT ms':>9} {'tco':>9} {'1st wave':>9} {'TPOT ms':>8} {'tco':>6}"
    )
    for r in conc.to_dict("records"):
        mark = " saturated" if r["saturated"] else ""
        print(f"{r['row_id']:46} {r['ttft_ms']:>9.0f} {r['pred_ttft_ms']:>9.0f} {r['pred_ttft_burst_ms']:>9.0f} "
              f"{r['tpot_ms']:>8.1f} {r['pred_tpot_ms']:>6.1f}{mark}")  # fmt: skip
    print()
    print(f"{'closed loop':40} {'rows':>5} {'median |err|':>13} {'within 25%':>11} {'median err':>11}")
    for split in ("tuning", "held-out"):
        rows_split = conc[conc["split"] == split]
        for name, frame, column in (
            ("TPOT", rows_split, "tpot_error"),
            ("TTFT steady state, below capacity", rows_split[~rows_split["saturated"]], "ttft_error"),
            ("TTFT first wave, below capacity", rows_split[~rows_split["saturated"]], "ttft_burst_error"),
            ("TTFT past capacity (queues grow)", rows_split[rows_split["saturated"]], "ttft_error"),
        ):
            s = summary(frame, column)
            print(f"{split + ': ' + name:40} {s['rows']:>5.0f} {s['median_abs_error']:>13.1%} "
                  f"{s['within_25']:>11.0%} {s['median_error']:>+11.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
