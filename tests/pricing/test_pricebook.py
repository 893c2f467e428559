"""A team's price book: read (CSV, JSON, XLSX), checked row by row, stored as a snapshot, applied by
load_catalog with provenance, compared with list prices."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from pricing.catalog import load_catalog
from pricing.diff import resolve_pairs
from pricing.errors import PricingError
from pricing.pricebook import (
    BOOK_DIFF_COLUMNS,
    PriceBookError,
    book_vs_list,
    import_price_book,
    load_book,
    read_price_book,
)
from pricing.store import BOOK_PROVIDER, MIGRATIONS, PriceStore

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
HEADER = (
    "kind,provider,instance_type,region,pricing_model,price_usd_per_hour,price_usd_per_accelerator_hour,"
    "discount_pct,term_months,accelerator,accelerator_count,note"
)

GOOD_ROWS = [
    # a provider-wide discount on on-demand list prices
    "discount,lambda,*,*,on_demand,,,20,,,,enterprise agreement",
    # a narrower discount wins over the provider-wide one
    "discount,lambda,gpu_8x_b200_sxm6,,on_demand,,,30,,,,",
    # a negotiated price beats any discount
    "price,lambda,gpu_1x_h100_pcie,us-east-1,on_demand,2.00,,,,,,",
    # a per-instance price and a per-accelerator price
    "price,aws,p5.48xlarge,us-east-1,on_demand,40,,,,,,private offer",
    "price,oci,BM.GPU.H100.8,*,on_demand,,7.5,,,,,",
    # reserved capacity for a year, which Lambda's list does not price
    "quote,lambda,gpu_8x_h100_sxm5,us-east-1,,,2.2,,12,,,Q-1234",
    # an offer the catalog does not list at all
    "price,lambda,gpu_64x_h100_cluster,us-east-1,on_demand,,1.9,,,h100,64,private cluster",
]


@pytest.fixture
def store(tmp_path: Path) -> PriceStore:
    return PriceStore(tmp_path / "home" / "prices.sqlite")


def write(path: Path, *rows: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def one(offers: pd.DataFrame, provider: str, instance_type: str, region: str, model: str) -> pd.Series:
    rows = offers[
        offers["provider"].eq(provider)
        & offers["instance_type"].eq(instance_type)
        & offers["region"].eq(region)
        & offers["pricing_model"].eq(model)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_import_stores_a_snapshot_named_after_the_file_and_date(store: PriceStore, tmp_path: Path) -> None:
    result = import_price_book(store, write(tmp_path / "team.csv", *GOOD_ROWS), now=NOW)
    assert result.source == "price book team.csv imported 2026-12-01"
    assert result.rules_by_kind == {"price": 4, "discount": 2, "quote": 1}
    assert result.new_offers == 2  # the reserved_1y quote and the private cluster
    [snapshot] = store.snapshots()
    assert snapshot.provider == BOOK_PROVIDER and snapshot.source == result.source
    assert snapshot.fetched_at == "2026-12-01T09:30:00Z" and snapshot.offer_count == len(GOOD_ROWS)
    assert snapshot.meta["file"] == "team.csv" and len(snapshot.meta["sha256"]) == 64
    assert snapshot.label == f"price book #{snapshot.id} 2026-12-01T09:30:00Z"
    book = load_book(store)
    assert book is not None and [r.line for r in book.rules] == list(range(2, 2 + len(GOOD_ROWS)))
    assert store.latest() == {}  # a book is not a provider's prices


def test_catalog_applies_the_book_with_provenance(store: PriceStore, tmp_path: Path) -> None:
    import_price_book(store, write(tmp_path / "team.csv", *GOOD_ROWS), now=NOW)
    catalog = load_catalog(store)
    offers = catalog.offers
    listed = catalog.list_offers
    assert listed is not None and catalog.book is not None

    h100 = one(offers, "lambda", "gpu_8x_h100_sxm5", "us-east-1", "on_demand")
    assert h100.price_usd_per_hour == pytest.approx(31.92 * 0.8)
    assert h100.source.startswith("price book team.csv imported 2026-12-01; list price $31.9200/h (skypilot")
    assert "book" in h100["flags"].split(";") and "listed_all_regions" in h100["flags"].split(";")
    assert (
        "book line 2: discount 20% on lambda every lambda type on_demand (enterprise agreement)" in h100.note
    )
    assert h100.effective_date == "2026-12-01" and h100.snapshot == catalog.book.label
    b200 = one(offers, "lambda", "gpu_8x_b200_sxm6", "us-west-1", "on_demand")
    assert b200.price_usd_per_hour == pytest.approx(53.52 * 0.7)  # the narrower discount, not both
    pcie = one(offers, "lambda", "gpu_1x_h100_pcie", "us-east-1", "on_demand")
    assert pcie.price_usd_per_hour == 2.0  # the price, not 3.29 x 0.8
    assert one(
        offers, "lambda", "gpu_1x_h100_pcie", "us-west-1", "on_demand"
    ).price_usd_per_hour == pytest.approx(3.29 * 0.8)
    p5 = one(offers, "aws", "p5.48xlarge", "us-east-1", "on_demand")
    assert (p5.price_usd_per_hour, p5.price_usd_per_accelerator_hour) == (40.0, 5.0)
    assert "list price $55.0400/h" in p5.source and "(private offer)" in p5.note
    oci = offers[offers["instance_type"].eq("BM.GPU.H100.8") & offers["pricing_model"].eq("on_demand")]
    assert len(oci) == 44 and (oci["price_usd_per_hour"] == 60.0).all()
    quote = one(offers, "lambda", "gpu_8x_h100_sxm5", "us-east-1", "reserved_1y")
    assert quote.price_usd_per_hour == pytest.approx(17.6) and "no list price" in quote.source
    assert quote.accelerator == "H100-80GB" and "12-month term" in quote.note and "Q-1234" in quote.note
    cluster = one(offers, "lambda", "gpu_64x_h100_cluster", "us-east-1", "on_demand")
    assert cluster.accelerator == "H100-80GB" and cluster.accelerator_count == 64
    assert cluster.price_usd_per_hour == pytest.approx(1.9 * 64)
    # what the book does not cover keeps its list price, and the list stays visible
    gcp = offers[offers["provider"].eq("gcp")]
    assert not gcp["flags"].fillna("").str.contains("book").any()
    pd.testing.assert_frame_equal(
        gcp.reset_index(drop=True), listed[listed["provider"].eq("gcp")].reset_index(drop=True)
    )
    assert len(offers) == len(listed) + 2
    assert one(listed, "aws", "p5.48xlarge", "us-east-1", "on_demand").price_usd_per_hour == 55.04
    assert catalog.snapshots["lambda"].price_book == "price book team.csv imported 2026-12-01"
    assert catalog.snapshots["gcp"].price_book == ""
    plain = load_catalog(store, price_book=False)
    assert plain.book is None and plain.list_offers is None
    assert one(plain.offers, "aws", "p5.48xlarge", "us-east-1", "on_demand").price_usd_per_hour == 55.04


def test_book_vs_list(store: PriceStore, tmp_path: Path) -> None:
    import_price_book(store, write(tmp_path / "team.csv", *GOOD_ROWS), now=NOW)
    diff = book_vs_list(load_catalog(store, ("aws", "lambda")))
    assert list(diff.columns) == list(BOOK_DIFF_COLUMNS)
    assert set(diff["provider"]) == {"aws", "lambda"}  # oci was not loaded
    p5 = diff[diff["instance_type"].eq("p5.48xlarge")].iloc[0]
    assert (p5.list_price_usd_per_hour, p5.book_price_usd_per_hour) == (55.04, 40.0)
    assert p5.delta_usd_per_hour == pytest.approx(-15.04) and p5.delta_pct == pytest.approx(
        -15.04 / 55.04 * 100
    )
    assert p5.rule.startswith("line 5: price 40 $/h for aws p5.48xlarge in us-east-1 on_demand")
    assert p5.book_source == "price book team.csv imported 2026-12-01"
    quote = diff[diff["pricing_model"].eq("reserved_1y")].iloc[0]
    assert pd.isna(quote.list_price_usd_per_hour) and quote.book_price_usd_per_hour == pytest.approx(17.6)
    impact = diff["delta_usd_per_hour"].abs().fillna(diff["book_price_usd_per_hour"])
    assert impact.is_monotonic_decreasing
    assert book_vs_list(load_catalog(store, ("gcp",))).empty


def test_json_and_xlsx_books_read_like_csv(store: PriceStore, tmp_path: Path) -> None:
    rules = [
        {"kind": "discount", "provider": "lambda", "pricing_model": "on_demand", "discount_pct": 20},
        {
            "provider": "aws",
            "instance_type": "p5.48xlarge",
            "region": "us-east-1",
            "pricing_model": "on_demand",
            "price_usd_per_hour": 40,
        },
    ]
    (tmp_path / "a.json").write_text(json.dumps(rules, indent=2))
    (tmp_path / "b.json").write_text(json.dumps({"name": "team", "rules": rules}))
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Provider", "Instance Type", "Region", "Pricing Model", "Price USD per hour", "Discount %"])
    sheet.append(["lambda", None, None, "on_demand", None, 20])
    sheet.append(["aws", "p5.48xlarge", "us-east-1", "on_demand", 40.0, None])
    workbook.save(tmp_path / "c.xlsx")
    for name in ("a.json", "b.json", "c.xlsx"):
        book = read_price_book(tmp_path / name)
        assert [
            (r.kind, r.provider, r.instance_type, r.price_usd_per_hour, r.discount_fraction)
            for r in book.rules
        ] == [
            ("discount", "lambda", "*", None, 0.2),
            ("price", "aws", "p5.48xlarge", 40.0, None),
        ], name
    assert [r.line for r in read_price_book(tmp_path / "a.json").rules] == [2, 8]
    assert [r.line for r in read_price_book(tmp_path / "c.xlsx").rules] == [2, 3]
    import_price_book(store, tmp_path / "c.xlsx", now=NOW)
    assert (
        store.latest_book() is not None
        and store.latest_book().source == "price book c.xlsx imported 2026-12-01"
    )  # type: ignore[union-attr]


# --- bad rows: one line each, file:line, what is wrong and the fix; nothing stored --------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("price,lambad,gpu_1x_a10,,on_demand,1,,,,,,", "unknown provider 'lambad' (did you mean lambda?)"),
        (
            "price,lambda,gpu_1x_a10,,on-demnd,1,,,,,,",
            "unknown pricing model 'on_demnd' (did you mean on_demand?)",
        ),
        ("prise,lambda,gpu_1x_a10,,on_demand,1,,,,,,", "kind 'prise' is not one of price, discount, quote"),
        ("price,lambda,gpu_1x_a10,,on_demand,-1,,,,,,", "price_usd_per_hour -1 must be positive"),
        ("price,lambda,gpu_1x_a10,,on_demand,one,,,,,,", "price_usd_per_hour 'one' is not a number"),
        ("price,lambda,gpu_1x_a10,,on_demand,1,0.5,,,,,", "needs exactly one of price_usd_per_hour"),
        ("price,lambda,gpu_1x_a10,,on_demand,,,,,,,", "needs exactly one of price_usd_per_hour"),
        ("price,lambda,*,,on_demand,1,,,,,,", "a price is for one instance type: name it"),
        ("price,lambda,gpu_1x_a10,,,1,,,,,,", "a price needs pricing_model"),
        ("price,lambda,gpu_1x_a10,,on_demand,1,,,12,,,", "term_months belongs to kind quote"),
        ("price,lambda,gpu_1x_a10,,on_demand,1,,10,,,,", "discount_pct belongs to kind discount, not price"),
        ("discount,lambda,,,on_demand,,,120,,,,", "discount_pct 120 must be between 0 and 100"),
        ("discount,lambda,,,on_demand,,,,,,,", "a discount needs discount_pct"),
        ("discount,lambda,,,,,,10,,,,", "a discount needs pricing_model"),
        ("discount,lambda,,,on_demand,2,,10,,,,", "a discount takes discount_pct, not a price"),
        ("discount,lambda,,,on_demand,,,10,12,,,", "a discount has no term_months"),
        ("discount,lambda,,,on_demand,,,10,,h100,8,", "leave accelerator and accelerator_count blank"),
        (
            "quote,lambda,gpu_1x_a10,,,,1,,6,,,",
            "term_months 6: tco models 1- and 3-year commitments; use 12 or 36",
        ),
        ("quote,lambda,gpu_1x_a10,,,,1,,,,,", "a quote needs term_months (12 or 36)"),
        ("quote,lambda,gpu_1x_a10,,on_demand,,1,,12,,,", "pricing_model on_demand is not one"),
        (
            "quote,lambda,gpu_1x_a10,,reserved_3y,,1,,12,,,",
            "term_months 12 does not match pricing_model reserved_3y",
        ),
        (
            "price,lambda,gpu_9x,us-east-1,on_demand,1,,,,h100,,",
            "accelerator and accelerator_count go together",
        ),
        ("price,lambda,gpu_9x,us-east-1,on_demand,1,,,,h1000,8,", "unknown accelerator 'h1000'"),
        ("price,lambda,gpu_9x,us-east-1,on_demand,1,,,,a100,8,", "accelerator 'a100' means A100-40GB"),
        ("price,lambda,gpu_9x,us-east-1,on_demand,1,,,,h100,0,", "accelerator_count 0 must be positive"),
        # catalog-level
        (
            "price,lambda,gpu_8x_h100_sxm,,on_demand,1,,,,,,",
            "'gpu_8x_h100_sxm' is not a lambda instance type (did you mean gpu_8x_h100_sxm5",
        ),
        (
            "price,lambda,gpu_1x_a10,us-east-9,on_demand,1,,,,,,",
            "gpu_1x_a10 has no offer in region 'us-east-9' (did you mean us-east-",
        ),
        (
            "discount,lambda,,,spot,,,10,,,,",
            "the discount covers no lambda spot offer; listed models: on_demand",
        ),
        ("price,lambda,gpu_9x,,on_demand,1,,,,h100,8,", "so '*' covers no region; name the region"),
    ],
)
def test_each_bad_row_is_one_line_with_the_fix(
    store: PriceStore, tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path / "team.csv", "price,aws,p5.48xlarge,us-east-1,on_demand,40,,,,,,", row)
    with pytest.raises(PriceBookError) as info:
        import_price_book(store, path, now=NOW)
    assert len(info.value.errors) == 1, info.value.errors
    assert info.value.errors[0].startswith("team.csv:3: ") and message in info.value.errors[0], (
        info.value.errors
    )
    assert "nothing imported" in str(info.value)
    assert store.snapshots() == []


def test_every_problem_of_a_file_is_reported_and_nothing_stored(store: PriceStore, tmp_path: Path) -> None:
    path = write(
        tmp_path / "team.csv",
        "price,aws,p5.48xlarge,us-east-1,on_demand,40,,,,,,",
        "# a comment line is skipped",
        "",
        "price,lambad,gpu_1x_a10,,on_demand,1,,,,,,",
        "price,aws,p5.48xlarge,us-east-1,on_demand,41,,,,,,",
        "price,lambda,gpu_1x_a10,,on_demand,1,,,,,,,extra",
        "discount,lambda,,,on_demand,,,10,,,,",
        "discount,lambda,,,on_demand,,,12,,,,",
        'price,lambda,gpu_1x_a10,us-east-1,on_demand,"1,0",,,,,,"quoted, with a comma"',
        "price,gcp,a2-highgpu-1g,us-central1,on_demand,3,,,,,,,",
        "price,lambda,gpu_8x_h100,,on_demand,1,,,,,,",
    )
    with pytest.raises(PriceBookError) as info:
        import_price_book(store, path, now=NOW)
    assert info.value.errors == [
        "team.csv:5: unknown provider 'lambad' (did you mean lambda?); providers: "
        + ", ".join(
            [
                "aws",
                "gcp",
                "azure",
                "oci",
                "lambda",
                "nebius",
                "cudo",
                "hyperbolic",
                "fluidstack",
                "paperspace",
                "shadeform",
                "primeintellect",
            ]
        ),
        "team.csv:6: repeats line 2 (same provider, instance type, region and pricing model); keep one",
        "team.csv:7: more cells than header columns; remove the extra cells",
        "team.csv:9: repeats line 8 (same provider, instance type, region and pricing model); keep one",
        "team.csv:12: 'gpu_8x_h100' is not a lambda instance type (did you mean gpu_8x_h100_sxm5, "
        "gpu_8x_v100, gpu_8x_a100?); for an offer the catalog lacks, give accelerator and accelerator_count",
    ]
    assert store.snapshots() == []


def test_header_problems(store: PriceStore, tmp_path: Path) -> None:
    with pytest.raises(PriceBookError) as info:
        read_price_book(write(tmp_path / "t.csv", "aws,p5.48xlarge,40", header="provder,instance_type,prise"))
    assert info.value.errors[0].startswith("t.csv:1: unknown column 'provder' (did you mean provider?)")
    assert "t.csv:1: unknown column 'prise'" in info.value.errors[1]
    assert info.value.errors[2] == "t.csv:1: no 'provider' column; the header row must name the columns"
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(PriceBookError, match="1 problem"):
        read_price_book(tmp_path / "empty.csv")
    with pytest.raises(PriceBookError) as info:
        read_price_book(write(tmp_path / "none.csv"))
    assert info.value.errors == ["none.csv:1: no rules; add at least one row under the header"]
    with pytest.raises(PriceBookError) as info:
        read_price_book(
            write(
                tmp_path / "eur.csv",
                "aws,p5,x,on_demand,40,EUR",
                header="provider,instance_type,region,pricing_model,price_usd_per_hour,currency",
            )
        )
    assert info.value.errors == [
        "eur.csv:2: currency EUR: tco prices in USD; convert the price to USD (and leave currency USD)"
    ]


def test_json_problems_name_the_line_of_the_rule(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[\n  {"provider": "aws",\n   "price_usd_per_hour": 40}\n  ,\n')
    with pytest.raises(PriceBookError) as info:
        read_price_book(tmp_path / "bad.json")
    assert info.value.errors[0].startswith("bad.json:5: not valid JSON (")
    (tmp_path / "rules.json").write_text(
        '{\n "rules": [\n'
        '  {"provider": "aws", "instance_type": "p5.48xlarge", "pricing_model": "on_demand",\n'
        '   "price_usd_per_hour": 40},\n'
        '  {"provider": "aws", "instance_typ": "p5.48xlarge"},\n'
        "  3\n ],\n"
        ' "owner": "x"\n}\n'
    )
    with pytest.raises(PriceBookError) as info:
        read_price_book(tmp_path / "rules.json")
    assert info.value.errors[0].startswith(
        "rules.json:5: unknown field 'instance_typ' (did you mean instance_type?)"
    )
    assert "rules.json:6: a rule must be a JSON object, not int" in info.value.errors
    assert any(e.startswith("rules.json:8: unknown key 'owner'") for e in info.value.errors)
    assert any(e.startswith("rules.json:5: a price is for one instance type") for e in info.value.errors)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(
        PricingError, match=r"cannot read a price book from book\.txt \(give a \.csv, \.json, \.xlsx file\)"
    ):
        read_price_book(tmp_path / "book.txt")
    with pytest.raises(PricingError, match="no such price book"):
        read_price_book(tmp_path / "missing.csv")
    (tmp_path / "latin1.csv").write_bytes("provider,note\naws,caf\xe9\n".encode("latin-1"))
    with pytest.raises(PricingError, match="is not UTF-8 text"):
        read_price_book(tmp_path / "latin1.csv")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(PricingError, match=r"cannot read fake\.xlsx"):
        read_price_book(tmp_path / "fake.xlsx")


def test_the_newest_book_applies_and_books_are_not_diffed_as_pulls(store: PriceStore, tmp_path: Path) -> None:
    first = import_price_book(
        store, write(tmp_path / "old.csv", "price,aws,p5.48xlarge,us-east-1,on_demand,40,,,,,,"), now=NOW
    )
    second = import_price_book(
        store, write(tmp_path / "new.csv", "price,aws,p5.48xlarge,us-east-1,on_demand,38,,,,,,"), now=NOW
    )
    catalog = load_catalog(store, ("aws",))
    assert one(catalog.offers, "aws", "p5.48xlarge", "us-east-1", "on_demand").price_usd_per_hour == 38.0
    assert catalog.book is not None and catalog.book.snapshot_id == second.snapshot.id
    older = load_book(store, first.snapshot)
    assert older is not None and older.rules[0].price_usd_per_hour == 40.0
    with pytest.raises(PricingError, match="no pulled snapshots to compare"):
        resolve_pairs(store, None, None)
    with pytest.raises(PricingError, match=f"snapshot #{first.snapshot.id} is a price book"):
        resolve_pairs(store, str(first.snapshot.id), None)


def test_a_store_from_before_price_books_migrates(tmp_path: Path) -> None:
    path = tmp_path / "prices.sqlite"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
    store = PriceStore(path)
    snapshot = store.write_book("price book x.csv imported 2026-12-01", "2026-12-01T00:00:00Z", [], {})
    assert store.latest_book() == snapshot
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
