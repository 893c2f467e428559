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


def test_plan_plot_shows_the_budget_it_prints(cli, tmp_path: Path, monkeypatch) -> None:
    """The stacked bars add up to the printed monthly totals, one layer per budget item, and the option
    bars are the option totals: a chart of the wrong numbers fails here, not only a missing file."""
    import csv
    import io

    import tco.plot

    figures = []
    real_picture = tco.plot._picture
    monkeypatch.setattr(
        tco.plot, "_picture", lambda fig, path: (figures.append(fig), real_picture(fig, path))[1]
    )
    result = cli(
        "plan", str(ROOT / "examples" / "llm_team.toml"), "--plot", str(tmp_path / "b.png"), "-f", "csv"
    )
    assert result.exit_code == 0, result.stderr
    budget = list(csv.DictReader(io.StringIO(result.stdout)))
    [figure] = figures
    left, right = figure.axes[:2]
    tops: dict[float, float] = {}
    for patch in left.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0.0), patch.get_y() + patch.get_height())
    assert sorted(tops) == [int(row["month"]) for row in budget]
    for row in budget:
        assert abs(tops[int(row["month"])] - float(row["total_usd"])) < 0.01
    items = [c.removesuffix("_usd") for c in budget[0] if c not in ("month", "total_usd")]
    assert [t.get_text() for t in left.get_legend().get_texts()] == items
    # the budget is the cheapest option's: its horizon total is the shortest option bar
    cheapest = min(p.get_width() for p in right.patches)
    assert abs(cheapest - sum(float(row["total_usd"]) for row in budget)) < 0.01


def test_plan_plot_with_a_budget_stacks_the_cost_items_only(cli, tmp_path: Path, monkeypatch) -> None:
    """A plan with a budget gains budget columns (text, flags, cumulative sums): they are not cost items
    to stack (issue 15: found by tests/tco/test_cli_properties.py, a TypeError before)."""
    import tco.plot

    figures = []
    real_picture = tco.plot._picture
    monkeypatch.setattr(
        tco.plot, "_picture", lambda fig, path: (figures.append(fig), real_picture(fig, path))[1]
    )
    picture = tmp_path / "b.png"
    result = cli(
        "plan",
        str(ROOT / "examples" / "llm_team.toml"),
        "--budget-usd",
        "100k",
        "--plot",
        str(picture),
        "-f",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    assert picture.read_bytes().startswith(PNG)
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert labels and not [label for label in labels if "budget" in label or "cumulative" in label]
