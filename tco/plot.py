"""Pictures (``--plot FILE.png``): matplotlib with the Agg backend, imported inside the functions only.

Each function takes frames the library produced and writes one picture, in the format its file's suffix
names (no suffix: PNG), through :func:`tco.export.base.write_output` (staged until the command succeeded,
never a partial file); nothing is computed here.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tco.api.inputs import PLOT_SUFFIXES
from tco.errors import TcoError
from tco.export.base import write_output

if TYPE_CHECKING:
    import pandas as pd


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    # names are data: a workload called "$x^2$" is drawn as written, not parsed as mathtext
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt


def _usd(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(value: float, _pos: int) -> str:
        if abs(value) >= 1e6:
            return f"${value / 1e6:,.1f}M"
        if abs(value) >= 1e3:
            return f"${value / 1e3:,.0f}k"
        return f"${value:,.0f}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    ax.grid(axis="y", alpha=0.3)


#: Suffixes a picture may have: the one list the option layer checks (``tco.api.inputs.plot_file``).
IMAGE_SUFFIXES: Final = PLOT_SUFFIXES


def image_format(path: Path) -> str:
    """The format drawn for ``path``: its suffix when it names one, else PNG (``/dev/stdout``, a pipe)."""
    suffix = path.suffix.lower()
    return suffix.lstrip(".") if suffix in IMAGE_SUFFIXES else "png"


def _picture(fig: Any, path: Path) -> bytes:
    """``fig`` drawn in the format ``path`` names, as bytes (the figure is closed)."""
    plt = _pyplot()
    fig.tight_layout()
    picture = io.BytesIO()
    try:
        fig.savefig(picture, dpi=120, format=image_format(path))
    finally:
        plt.close(fig)
    return picture.getvalue()


def _save(fig: Any, path: Path) -> None:
    write_output(path, _picture(fig, path), f"wrote {path}")


def plan_figure(budget: pd.DataFrame, options: pd.DataFrame, path: Path, *, title: str, best: str) -> None:
    """Left: the cheapest option's monthly budget stacked by workload and item. Right: total by option."""
    _save(_plan_figure(budget, options, title=title, best=best), path)


def plan_picture(budget: pd.DataFrame, options: pd.DataFrame, path: Path, *, title: str, best: str) -> bytes:
    """:func:`plan_figure` as the bytes of a ``path``-typed file, written by the caller."""
    return _picture(_plan_figure(budget, options, title=title, best=best), path)


def _plan_figure(budget: pd.DataFrame, options: pd.DataFrame, *, title: str, best: str) -> Any:
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 2]})
    from tco.model.budget import PLAN_BUDGET_COLUMNS

    # the cost items only: not the total, nor the budget columns a plan with a budget gains
    items = [c for c in budget.columns if c not in ("month", "total_usd", *PLAN_BUDGET_COLUMNS)]
    bottom = None
    months = budget["month"].to_numpy()
    cmap = plt.get_cmap("tab20")
    for i, item in enumerate(items):
        values = budget[item].to_numpy()
        left.bar(months, values, bottom=bottom, label=item.removesuffix("_usd"), color=cmap(i % 20))
        bottom = values if bottom is None else bottom + values
    left.set_title(f"Monthly budget by workload: {best}")
    left.set_xlabel("month")
    left.set_ylabel("cost (USD per month)")
    left.set_xticks(months)
    left.legend(fontsize=8, loc="upper left")
    _usd(left)
    shown = options.head(10).iloc[::-1]
    colors = ["tab:green" if o == best else "tab:gray" for o in shown["option"]]
    right.barh(shown["option"], shown["total_usd"], color=colors)
    right.set_title("Total cost over the horizon by option (top 10)")
    right.set_xlabel("total cost (USD)")
    from matplotlib.ticker import FuncFormatter

    right.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"${v / 1e3:,.0f}k"))
    right.tick_params(axis="y", labelsize=8)
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    return fig


def procurement_figure(
    scale: pd.DataFrame, cumulative: pd.DataFrame, path: Path, *, title: str, accelerator: str
) -> None:
    """Left: monthly cost vs accelerator count per option. Right: cumulative cost by month (break-even)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6))
    for option, part in scale.groupby("option", sort=False):
        left.plot(part["accelerators"], part["usd_per_month"], label=str(option), marker=".", markersize=3)
    left.set_title(f"Monthly cost vs fleet size ({accelerator}, busy at the stated utilisation)")
    left.set_xlabel(f"{accelerator} accelerators")
    left.set_ylabel("cost (USD per month)")
    left.legend(fontsize=8)
    _usd(left)
    for option, part in cumulative.groupby("option", sort=False):
        right.plot(part["month"], part["cumulative_usd"], label=str(option))
    right.set_title("Cumulative cost: where owning breaks even")
    right.set_xlabel("month")
    right.set_ylabel("cumulative cost (USD)")
    right.legend(fontsize=8)
    _usd(right)
    fig.suptitle(title)
    _save(fig, path)


def frameworks_figure(frame: pd.DataFrame, path: Path, *, title: str) -> None:
    """Throughput and cost per run by framework (measured rows only)."""
    plt = _pyplot()
    measured = frame[frame["throughput"].notna()]
    if measured.empty:
        raise TcoError("nothing to plot: no framework has a calibration on this target")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.bar(measured["framework"], measured["throughput"], color="tab:blue")
    left.set_title("Measured throughput")
    left.set_ylabel(str(measured["throughput_unit"].iloc[0]))
    right.bar(measured["framework"], measured["cost_per_run_usd"], color="tab:orange")
    right.set_title("Cost per run")
    right.set_ylabel("USD per run")
    _usd(right)
    fig.suptitle(title)
    _save(fig, path)
