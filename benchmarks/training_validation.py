"""Every published training run in tests/tco/model/data/published_runs.csv projected with tco's defaults.

    PYTHONPATH=. python benchmarks/training_validation.py [--markdown]

Metrics: ``gpu_hours`` (accelerator-hours of the whole run), ``tflops_per_accelerator`` (steady model TFLOP/s
per accelerator) and ``tokens_per_s_per_accelerator``; how each run is projected is in
``tests/tco/model/published.py``. Prints one line per run with its error, then the median |error| and the
share within +-25% for the runs tco was tuned on and, separately, for the held-out runs (never used to set a
default).
"""

from __future__ import annotations

import argparse

import pandas as pd

from tests.tco.model.published import summary, table


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args()
    frame = table()
    if args.markdown:
        print("| run | split | metric | published | tco | error | inputs | tco layout |")
        print("|---|---|---|---|---|---|---|---|")
        for r in frame.to_dict("records"):
            inputs = ", ".join(
                part
                for part in (
                    r["dtype"],
                    f"batch {r['batch_tokens'] / 2**20:.3g}M ({r['batch_source']})",
                    r["settings"].replace(";", ", "),
                )
                if part
            )
            metric = r["metric"].replace("_", " ")
            print(
                f"| {r['run']} | {r['split']} | {metric} | {_number(r['published'])} | "
                f"{_number(r['tco'])} | {r['error']:+.1%} | {inputs} | {r['layout']} |"
            )
    else:
        with pd.option_context("display.width", 250, "display.max_colwidth", 60):
            print(
                frame.drop(columns=["reason", "settings"]).to_string(
                    index=False, float_format=lambda v: f"{v:,.4g}"
                )
            )
    for split, (median, share, count) in summary(frame).items():
        print(f"{split}: {count} runs, median |error| {median:.1%}, within +-25%: {share:.0%}")


if __name__ == "__main__":
    main()
