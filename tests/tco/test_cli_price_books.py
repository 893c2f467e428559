"""`tco prices import|books|diff --book|snapshots|list`: a team's price book at the command layer, and every
command using it with its provenance (issue #14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "price_book.csv"
BOOK = "price book price_book.csv imported"
HEADER = "kind,provider,instance_type,region,pricing_model,price_usd_per_hour,discount_pct\n"


def p5_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    [row] = [
        r
        for r in rows
        if r["instance_type"] == "p5.48xlarge"
        and r["region"] == "us-east-1"
        and r["pricing_model"] == "on_demand"
    ]
    return row


def test_import_stores_the_book_and_says_what_it_covers(cli: Any) -> None:
    result = cli("prices", "import", str(EXAMPLE), "-f", "json")
    assert result.exit_code == 0, result.stderr
    [book] = result.json()
    assert book["file"] == "price_book.csv" and book["in_use"] is True and book["rules"] == 4
    assert (book["price_rules"], book["discount_rules"], book["quote_rules"]) == (1, 2, 1)
    assert book["offers_covered"] > 0 and book["new_offers"] == 1  # the Nebius reserved quote
    assert book["providers"] == "aws, lambda, nebius"
    assert "stored price book #1: price book price_book.csv imported" in result.stderr
    assert "rules: price 1, discount 2, quote 1" in result.stderr


def test_a_book_with_errors_stores_nothing_and_names_each_line(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "team.csv"
    bad.write_text(
        HEADER
        + "discount,lamda,*,*,on_demand,,20\n"
        + "price,aws,p5.48xlarg,us-east-1,on_demand,40,\n"
        + "price,aws,p5.48xlarge,us-east-1,on_demand,40,\n"
        + "price,aws,p5.48xlarge,us-east-1,on_demand,-3,\n"
    )
    result = cli("prices", "import", str(bad))
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("team.csv:2: unknown provider 'lamda' (did you mean lambda?)")
    assert lines[1].startswith(
        "team.csv:3: 'p5.48xlarg' is not a aws instance type (did you mean p5.48xlarge"
    )
    assert lines[2].startswith("team.csv:5: price_usd_per_hour -3 must be positive")
    assert lines[3] == (
        "error: price book team.csv: 3 problems, nothing imported (fix the lines listed and import again)"
    )
    assert len(lines) == 4  # the good row 4 is not a problem, and no traceback
    assert cli("prices", "books", "-f", "json").json() == []
    assert cli("prices", "import", str(tmp_path / "missing.csv")).exit_code == 1


def test_every_command_uses_the_book_with_provenance(cli: Any, tmp_path: Path) -> None:
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    train = "estimate train --model llama-2-7b -a h100 -n 64 --provider aws --pricing-model on_demand --top 0"
    rows = cli(*train.split(), "--all-instances", "--all-regions", "-f", "json").json()
    p5 = p5_row(rows)
    assert p5["price_usd_per_accelerator_hour"] == pytest.approx(38.5 / 8)
    assert p5["price_source"].startswith(BOOK) and "list price $55.0400/h" in p5["price_source"]
    other = [r for r in rows if r["instance_type"] == "p5.48xlarge" and r["region"] == "us-west-2"]
    assert other and other[0]["price_usd_per_accelerator_hour"] == pytest.approx(55.04 * 0.88 / 8)
    # the list price again, for one command
    plain = p5_row(
        cli("--no-price-book", *train.split(), "--all-instances", "--all-regions", "-f", "json").json()
    )
    assert plain["price_usd_per_accelerator_hour"] == pytest.approx(55.04 / 8)
    assert not plain["price_source"].startswith("price book")
    table = cli(*train.split(), "--region", "us-east-1")
    assert "on-demand (book)" in table.stdout and f"(book): {BOOK}" in table.stdout
    assert f"prices: aws embedded (as of 2025-06-05 or later) + {BOOK}" in table.stderr
    explained = cli(*train.split(), "--region", "us-east-1", "--explain", "-f", "json").json()
    assert f"per accelerator-hour (usage; {BOOK}" in explained[0]["explain"]
    serve = cli(
        "estimate", "serve", "--model", "llama-2-7b", "-a", "h100", "--provider", "lambda",
        "--pricing-model", "on_demand", "-f", "json",
    ).json()  # fmt: skip
    assert serve and all(r["price_source"].startswith(BOOK) for r in serve)
    out = tmp_path / "train.xlsx"
    assert cli(*train.split(), "--region", "us-east-1", "-f", "xlsx", "-o", str(out)).exit_code == 0
    cells = [c.value for ws in openpyxl.load_workbook(out) for row in ws.iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith(BOOK) for v in cells)
    procurement = cli(
        "compare", "procurement", "--acc-hours", "20000", "-a", "H100-80GB", "-p", "aws", "-f", "json"
    ).json()
    [option] = [r for r in procurement if r["option"] == "aws us-east-1 on_demand"]
    assert option["source"].startswith(BOOK) and option["price_usd_per_accelerator_hour"] == 38.5 / 8


def test_plan_uses_the_book(cli: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "team.toml"
    scenario.write_text(
        '[scenario]\nname = "t"\nhorizon_months = 2\n\n[[training]]\nname = "run"\nparameters = 1e9\n'
        'tokens = 1e10\naccelerators = ["H100-80GB"]\naccelerator_count = 8\nruns_per_month = 1\n'
        'framework = "torch"\ninterruptible = false\n\n[options]\nproviders = ["aws"]\n'
        'regions = ["us-east-1"]\npricing_models = ["on_demand"]\n'
    )
    before = cli("plan", str(scenario), "-f", "json").json()
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    result = cli("plan", str(scenario), "-f", "json")
    after = result.json()
    assert after[0]["total_usd"] == pytest.approx(before[0]["total_usd"] * 38.5 / 55.04)
    assert BOOK in result.stderr  # the cheapest line names the price source


def test_books_lists_and_removes(cli: Any, tmp_path: Path) -> None:
    assert "no price book imported" in cli("prices", "books").stderr
    second = tmp_path / "second.csv"
    second.write_text(HEADER + "discount,aws,*,*,on_demand,,50\n")
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    assert cli("prices", "import", str(second)).exit_code == 0
    books = cli("prices", "books", "-f", "json").json()
    assert [(b["book"], b["file"], b["in_use"]) for b in books] == [
        (2, "second.csv", True),
        (1, "price_book.csv", False),
    ]
    query = ("prices", "list", "-a", "h100", "-p", "aws", "-r", "us-east-1", "-f", "json")

    def p5_price() -> float:
        return float(p5_row(cli(*query).json())["price_usd_per_hour"])

    assert p5_price() == pytest.approx(55.04 * 0.5)  # the newest book applies, alone
    removed = cli("prices", "books", "--remove", "2")
    assert removed.exit_code == 0 and "removed price book #2" in removed.stderr
    assert p5_price() == pytest.approx(38.5)  # the one before applies again
    assert cli("prices", "books", "--remove", "9").exit_code == 1
    assert cli("prices", "books", "--remove", "all").exit_code == 0
    assert p5_price() == pytest.approx(55.04)
    assert cli("prices", "books", "--remove", "x").stderr.startswith("error: --remove 'x'")


def test_diff_book_against_list_prices(cli: Any) -> None:
    missing = cli("prices", "diff", "--book")
    assert missing.exit_code == 1 and "no price book covers these offers" in missing.stderr
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    rows = cli("prices", "diff", "--book", "-p", "aws", "-f", "json").json()
    assert {r["provider"] for r in rows} == {"aws"}
    p5 = p5_row(rows)
    assert (p5["list_price_usd_per_hour"], p5["book_price_usd_per_hour"]) == (55.04, 38.5)
    assert p5["rule"].startswith("line 5: price 38.5 $/h for aws p5.48xlarge in us-east-1 on_demand")
    table = cli("prices", "diff", "--book", "-n", "3")
    assert "Price book against list prices" in table.stdout and "3 of " in table.stdout
    assert cli("prices", "diff", "--book", "1").exit_code == 2
    assert cli("--no-price-book", "prices", "diff", "--book").exit_code == 1


def test_snapshots_say_how_each_provider_refreshes_and_list_books(cli: Any) -> None:
    rows = {r["provider"]: r for r in cli("prices", "snapshots", "-f", "json").json()}
    assert rows["aws"]["refresh"].startswith("`tco prices pull -p aws` refreshes them")
    assert rows["oci"]["refresh"].startswith("`tco prices pull -p oci`")
    assert rows["lambda"]["refresh"].startswith(
        "embedded only: a price API exists but needs an account's API key"
    )
    assert rows["lambda"]["fetched_at"] == "2025-01-01"  # the as-of date
    assert "price book" not in rows
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    books = [r for r in cli("prices", "snapshots", "-f", "json").json() if r["provider"] == "price book"]
    assert len(books) == 1 and books[0]["in_use"] and books[0]["source"].startswith(BOOK)
    only_gcp = cli("prices", "snapshots", "-p", "gcp", "-f", "json").json()
    assert {r["provider"] for r in only_gcp} == {"gcp"}  # the book covers no gcp offer


def test_list_shows_sellers_side_by_side_with_filters(cli: Any) -> None:
    rows = cli("prices", "list", "-a", "h100", "-f", "json").json()
    kinds = {r["provider"]: (r["seller_kind"], r["reseller"]) for r in rows}
    assert kinds["aws"] == ("hyperscaler", False) and kinds["lambda"] == ("gpu_cloud", False)
    assert kinds["shadeform"] == ("marketplace", True)
    kept = {
        r["provider"] for r in cli("prices", "list", "-a", "h100", "--exclude-resellers", "-f", "json").json()
    }
    assert kept == set(kinds) - {"shadeform", "primeintellect"}
    hyper = cli("prices", "list", "-a", "h100", "--seller", "hyperscaler", "-f", "json").json()
    assert {r["provider"] for r in hyper} == {"aws", "gcp", "azure", "oci"}
    table = cli("prices", "list", "-a", "h100", "--cheapest")
    assert "Seller" in table.stdout and "marketplace, resold" in table.stdout and "GPU cloud" in table.stdout
    assert cli("prices", "list", "--seller", "cloud").exit_code == 2
    assert cli("prices", "import", str(EXAMPLE)).exit_code == 0
    listed = cli("prices", "list", "-a", "h100", "-p", "aws", "-r", "us-east-1")
    [line] = [x for x in listed.stdout.splitlines() if "p5.48xlarge" in x]
    assert (
        "price book" in line and json.dumps(line).count("2025-06-05") == 0
    )  # as of the import, not the list
