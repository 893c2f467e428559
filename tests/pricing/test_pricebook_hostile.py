"""Price-book imports of files a hostile or careless user hands over: each is one PricingError that names the
file (a PriceBookError lists the lines), and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from pricing import pricebook
from pricing.errors import PricingError
from pricing.pricebook import PriceBookError, import_price_book, read_price_book
from pricing.store import PriceStore

RULE = '[{"provider": "aws", "instance_type": "p5.48xlarge", "pricing_model": "on_demand", '
HEADER = b"provider,instance_type,pricing_model,price_usd_per_hour,note\n"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("deep-rules.json", b'{"rules": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        ("inf.json", (RULE + '"price_usd_per_hour": 1e999}]').encode(), "is not a number"),
        ("nan.json", (RULE + '"price_usd_per_hour": NaN}]').encode(), "NaN is not a JSON number"),
        ("digits.json", (RULE + '"price_usd_per_hour": ' + "9" * 5000 + "}]").encode(), "Exceeds the limit"),
        ("types.json", b'[{"provider": ["aws"], "price_usd_per_hour": [1]}]', "is not a number"),
        ("digits.csv", HEADER + b"aws,p5.48xlarge,on_demand," + b"9" * 5000 + b",\n", "is not a number"),
        ("negative.csv", HEADER + b"aws,p5.48xlarge,on_demand,-2,\n", "must be positive"),
    ],
)
def test_bad_values_are_listed_problems(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(
        PriceBookError, match=rf"price book {name}: \d+ problems?, nothing imported"
    ) as caught:
        read_price_book(path)
    assert any(message in line and line.startswith(f"{name}:") for line in caught.value.errors), (
        caught.value.errors
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("latin1.csv", HEADER + b"aws,p5.48xlarge,on_demand,2,caf\xe9\n", r"latin1.csv is not UTF-8 text"),
        ("latin1.json", b'[{"provider": "\xff"}]', r"latin1.json is not UTF-8 text"),
        (
            "wide.csv",
            b"provider,note\naws," + b"x" * 200_000 + b"\n",
            r"cannot read wide.csv as CSV: field larger",
        ),
        ("fake.xlsx", b"PK\x03\x04garbage", r"cannot read fake.xlsx: .*really a .xlsx workbook"),
    ],
)
def test_unreadable_files_are_one_line(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(PricingError, match=message) as caught:
        read_price_book(path)
    assert "\n" not in str(caught.value)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pricebook, "MAX_BOOK_BYTES", 1000)
    path = tmp_path / "huge.csv"
    path.write_bytes(HEADER + b"aws,p5.48xlarge,on_demand,2,x\n" * 100)
    store = PriceStore(tmp_path / "home" / "prices.sqlite")
    with pytest.raises(PricingError, match=r"price book .*huge.csv is 0 MiB, more than a price book holds"):
        import_price_book(store, path)
    assert store.snapshots() == []


def test_hostile_text_is_kept_as_data(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    notes = ['=HYPERLINK("http://x")', "[bold]x[/]", "+cmd|' /C calc'!A0", "@SUM(A1)"]
    rows = [
        f"aws,p5.48xlarge,{region},on_demand,2,{note}"
        for region, note in zip(["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"], notes, strict=True)
    ]
    path.write_text("provider,instance_type,region,pricing_model,price_usd_per_hour,note\n" + "\n".join(rows))
    book = read_price_book(path)
    assert [r.note for r in book.rules] == notes
