"""`tco prices list` / `tco prices accelerators` as a user runs them, offline, in a fresh TCO_HOME."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pricing.schema import OFFER_COLUMNS


def test_list_h100_json_is_long_offer_rows_from_several_providers(cli: Any, tco_home: Path) -> None:
    result = cli("prices", "list", "--accelerator", "h100", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert rows and {r["provider"] for r in rows} >= {"aws", "gcp"}
    for row in rows:
        assert list(row)[: len(OFFER_COLUMNS)] == list(OFFER_COLUMNS)
        assert row["accelerator"] == "H100-80GB"
        assert row["price_usd_per_hour"] is None or row["price_usd_per_hour"] > 0
        assert row["fetched_at"] and row["snapshot"] == "embedded"
    priced = [r for r in rows if r["price_usd_per_hour"] is not None]
    assert all(r["price_usd_per_accelerator_hour"] > 0 for r in priced)
    per_acc = [r["price_usd_per_accelerator_hour"] for r in priced]
    assert per_acc == sorted(per_acc)
    assert "embedded" in result.stderr and "skypilot-catalog" in result.stderr  # where the prices came from
    assert not tco_home.exists() or not (tco_home / "prices.sqlite").exists()  # listing writes nothing


def test_list_table_pivots_on_demand_and_spot(cli: Any) -> None:
    result = cli("prices", "list", "-a", "h100", "--provider", "aws", "--region", "us-east-1")
    assert result.exit_code == 0, result.stderr
    assert "p5.48xlarge" in result.stdout and "55.040" in result.stdout and "6.880" in result.stdout
    assert "spot $/h" in result.stdout and "As of" in result.stdout


def test_filters_pricing_model_min_count_cheapest(cli: Any) -> None:
    result = cli(
        "prices", "list", "-a", "a100-80", "-m", "spot", "--min-count", "8", "--cheapest", "-f", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["pricing_model"] for r in rows} == {"spot"}
    assert all(float(r["accelerator_count"]) >= 8 for r in rows)
    assert all(r["accelerator"] == "A100-80GB" for r in rows)
    regions = {(r["provider"], r["instance_type"]): set() for r in rows}
    for r in rows:
        regions[(r["provider"], r["instance_type"])].add(r["region"])
    assert all(len(v) == 1 for v in regions.values())


def test_output_file_is_written_atomically(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "h100.json"
    result = cli("prices", "list", "-a", "h100", "-f", "json", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text().startswith("[")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_global_format_option(cli: Any) -> None:
    result = cli("--format", "csv", "prices", "list", "-a", "tpu-v5e", "--region", "us-central1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("provider,region,zone,instance_type")


def test_accelerators_lists_peaks_with_sources(cli: Any) -> None:
    result = cli("prices", "accelerators", "-f", "json")
    assert result.exit_code == 0
    rows = {r["accelerator"]: r for r in result.json()}
    assert rows["H100-80GB"]["bf16_dense_tflops"] == 989 and "sparsity" not in str(
        rows["H100-80GB"]["bf16_dense_tflops"]
    )
    assert "stas00" in rows["H100-80GB"]["peak_source"]
    assert "aws" in rows["H100-80GB"]["offered_by"]
    assert rows["K80"]["bf16_dense_tflops"] is None  # no such figure (fp32 only): missing, not zero
    table = cli("prices", "accelerators")
    assert table.exit_code == 0 and "H200-141GB" in table.stdout


# --- bad input: one line on stderr, non-zero exit, no traceback, no partial file -------------------------


def assert_one_line_error(result: Any, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_unknown_accelerator(cli: Any) -> None:
    assert_one_line_error(cli("prices", "list", "-a", "h1000"), 2, "unknown accelerator", "did you mean")


def test_unknown_provider(cli: Any) -> None:
    assert_one_line_error(cli("prices", "list", "-p", "awz"), 2, "unknown provider", "did you mean aws")


def test_negative_min_count(cli: Any) -> None:
    assert_one_line_error(cli("prices", "list", "--min-count", "-1"), 2, "--min-count")


def test_unknown_format(cli: Any) -> None:
    assert_one_line_error(cli("prices", "list", "--format", "yaml"), 2, "yaml")


def test_unknown_pricing_model(cli: Any) -> None:
    assert_one_line_error(cli("prices", "list", "-m", "cheap"), 2, "cheap")


def test_unwritable_output_leaves_no_file(cli: Any, tmp_path: Path) -> None:
    missing_dir = tmp_path / "nope" / "out.json"
    assert_one_line_error(cli("prices", "list", "-f", "json", "-o", str(missing_dir)), 1, "cannot write")
    assert not missing_dir.parent.exists()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        target = locked / "out.json"
        result = cli("prices", "list", "-f", "json", "-o", str(target))
        if result.exit_code == 0:  # running as root: permissions do not bind, so the write succeeds whole
            assert target.read_text().startswith("[")
        else:
            assert_one_line_error(result, 1, "cannot write")
            assert not target.exists()
    finally:
        locked.chmod(0o700)
    assert_one_line_error(cli("prices", "list", "-f", "json", "-o", str(tmp_path)), 1, "is a directory")


def test_unknown_command_is_usage_error(cli: Any) -> None:
    assert_one_line_error(cli("prices", "lst"), 2)


def test_debug_shows_traceback(cli: Any) -> None:
    result = cli("--debug", "prices", "list", "-a", "h100", "-r", "nowhere")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "PricingError" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: no offers in region 'nowhere'")
