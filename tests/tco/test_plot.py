"""--plot writes real PNGs (Agg), and the CLI stays free of matplotlib until asked."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def test_plan_and_procurement_plots(cli, tmp_path: Path) -> None:
    budget = tmp_path / "budget.png"
    result = cli("plan", str(ROOT / "examples" / "llm_team.toml"), "--plot", str(budget), "-f", "csv")
    assert result.exit_code == 0, result.stderr
    curve = tmp_path / "breakeven.png"
    result = cli("compare", "procurement", "--acc-hours", "10000", "--plot", str(curve), "-f", "csv")
    assert result.exit_code == 0, result.stderr
    for path in (budget, curve):
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000


def test_plot_to_missing_directory_fails_before_work(cli, tmp_path: Path) -> None:
    result = cli("plan", str(ROOT / "examples" / "llm_team.toml"), "--plot", str(tmp_path / "no" / "x.png"))
    assert result.exit_code == 1 and "does not exist" in result.stderr
