"""The native Price List reader (``pricing/_pricelist.c``, issue 14 item 5) answers only where it is exact:

- it is built wherever a C compiler is (``pip install`` compiles it; it is optional so that an install
  without a compiler still works, on the msgspec structs alone);
- on every product in the regular shape it returns the digest the msgspec structs give
  (``pricing.providers.aws.digest``), whatever the key order, spacing, unknown fields, nulls and defaults;
- on anything else (not JSON, not ASCII, escapes in what it reads, a field twice, a price that is not a
  plain decimal, another type, deep nesting, ...) it returns None, and the structs read the product as
  before (so a malformed page is still refused and a malformed product still skipped and counted);
- under random edits of a product's text it never answers where the structs would refuse or read
  otherwise.
"""

from __future__ import annotations

import copy
import json
import shutil
import sysconfig
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing.providers import aws
from tests.pricing.servers.data import aws_items

SCAN = aws._SCAN
needs_native = pytest.mark.skipif(SCAN is None, reason="the native reader was not built (no C compiler)")


def structs_digest(text: str) -> aws.Digest:
    """What the msgspec structs make of ``text`` (the fast ones, then the exact ones)."""
    try:
        return aws.digest(aws._FAST_DECODER.decode(text))
    except msgspec.ValidationError:
        return aws.digest(aws._as_fast(aws._DECODER.decode(text)))


def p5() -> dict[str, Any]:
    return copy.deepcopy(aws_items()[0])


def reordered(value: Any) -> Any:
    """``value`` with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


def test_the_native_reader_is_built_where_a_c_compiler_is() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None and shutil.which("cc") is None:
        pytest.skip(f"no C compiler ({compiler}) here: the msgspec structs read every product")
    assert SCAN is not None, "pricing/_pricelist.c was not compiled: run `pip install -e .` (make deps-test)"


def regular_variants() -> list[tuple[str, str]]:
    """Products in the regular shape, written in every way JSON allows that the reader takes."""
    out: list[tuple[str, str]] = []
    for number, item in enumerate(aws_items()):
        out.append((f"fixture {number}", json.dumps(item)))
        out.append((f"fixture {number} compact", json.dumps(item, separators=(",", ":"))))
    item = p5()
    out.append(("indented", json.dumps(item, indent=2)))
    out.append(("keys reversed", json.dumps(reordered(item))))
    out.append(("tabs and newlines", json.dumps(item).replace(": ", ":\t\r\n ")))

    def variant(name: str, change: Any) -> None:
        edited = p5()
        change(edited)
        out.append((name, json.dumps(edited)))

    def attributes(item: dict[str, Any]) -> dict[str, Any]:
        return item["product"]["attributes"]  # type: ignore[no-any-return]

    def first_reserved(item: dict[str, Any]) -> dict[str, Any]:
        return next(iter(item["terms"]["Reserved"].values()))  # type: ignore[no-any-return]

    def first_on_demand(item: dict[str, Any]) -> dict[str, Any]:
        return next(iter(item["terms"]["OnDemand"].values()))  # type: ignore[no-any-return]

    def dimension(term: dict[str, Any]) -> dict[str, Any]:
        return next(iter(term["priceDimensions"].values()))  # type: ignore[no-any-return]

    def on_demand_price(usd: str) -> Any:
        return lambda i: dimension(first_on_demand(i))["pricePerUnit"].update(USD=usd)

    def extra_fields(item: dict[str, Any]) -> None:
        item.update(extra=[1, {"a": None}])
        attributes(item).update(x="y")

    variant("unknown fields everywhere", extra_fields)
    variant("preInstalledSw absent (its default)", lambda i: attributes(i).pop("preInstalledSw"))
    variant("preInstalledSw null", lambda i: attributes(i).update(preInstalledSw=None))
    variant("attributes null", lambda i: attributes(i).update(tenancy=None, memory=None, regionCode=None))
    variant("no attributes read", lambda i: i["product"].update(attributes={}))
    variant("no terms", lambda i: i.pop("terms"))
    variant("empty terms", lambda i: i.update(terms={}))
    variant("no on-demand term", lambda i: i["terms"].update(OnDemand={}))
    variant("no reserved terms", lambda i: i["terms"].pop("Reserved"))
    variant("two on-demand terms", lambda i: i["terms"]["OnDemand"].update(other=first_on_demand(i)))
    variant("unit null", lambda i: dimension(first_reserved(i)).update(unit=None))
    variant("unit Hours", lambda i: dimension(first_on_demand(i)).update(unit="Hours"))
    variant("unit other", lambda i: dimension(first_on_demand(i)).update(unit="GB-Mo"))
    variant("USD null", lambda i: dimension(first_reserved(i))["pricePerUnit"].update(USD=None))
    variant("no USD", lambda i: dimension(first_reserved(i)).update(pricePerUnit={}))
    variant("no pricePerUnit", lambda i: dimension(first_on_demand(i)).pop("pricePerUnit"))
    variant("no dimensions", lambda i: first_reserved(i).update(priceDimensions={}))
    variant("no term attributes", lambda i: first_reserved(i).pop("termAttributes"))
    variant("class null", lambda i: first_reserved(i)["termAttributes"].update(OfferingClass=None))
    variant("effectiveDate null", lambda i: first_reserved(i).update(effectiveDate=None))
    variant("no offerTermCode", lambda i: first_reserved(i).pop("offerTermCode"))
    variant("2**53 as digits", on_demand_price("90071992.54740992"))
    variant("22 decimals", on_demand_price("0.0000000000000000000001"))
    variant("whole dollars, 10 decimals", on_demand_price("311236.0000000000"))
    variant("whole dollars", on_demand_price("7"))
    variant("zero", on_demand_price("0"))
    variant(
        "non-ASCII escaped in a skipped string", lambda i: attributes(i).update(location="S\u00e3o Paulo")
    )
    variant("a surrogate pair escaped in a skipped value", lambda i: i.update(x="\U0001f600"))
    return out


@needs_native
@pytest.mark.parametrize(("name", "text"), regular_variants(), ids=[n for n, _ in regular_variants()])
def test_a_regular_product_is_read_natively_as_the_structs_read_it(name: str, text: str) -> None:
    assert text.isascii()
    got = SCAN(text)  # type: ignore[misc]
    assert got is not None, f"{name}: not read natively"
    expected = structs_digest(text)
    assert got == expected
    assert [type(value) for value in got] == [type(value) for value in expected]


def odd_texts() -> list[tuple[str, str]]:
    base = json.dumps(p5())
    od = json.dumps(p5()["terms"]["OnDemand"])
    price = json.loads(od)
    price_text = json.dumps(
        next(iter(next(iter(price.values()))["priceDimensions"].values()))["pricePerUnit"]
    )

    def with_price(value: str) -> str:
        return base.replace(price_text, '{"USD": ' + value + "}", 1)

    assert with_price('"1"') != base
    deep = "[" * 100 + "]" * 100
    cases = [
        ("not JSON", base[:-1]),
        ("trailing text", base + " x"),
        ("two values", base + " {}"),
        ("not an object", json.dumps([p5()])),
        ("not ASCII", base.replace('"Shared"', '"Sh\u00e4red"')),
        ("control character in a string", base.replace("Shared", "Sha\tred")),
        ("bad escape", base.replace("Shared", "Sha\\xred")),
        ("lone high surrogate escaped in a skipped value", base[:-1] + ', "x": "\\ud800"}'),
        ("high surrogate then another escape", base[:-1] + ', "x": "\\ud800\\n"}'),
        ("lone low surrogate escaped in a skipped value", base[:-1] + ', "x": "\\udc00x"}'),
        ("short unicode escape", base.replace("Shared", "Sha\\u12")),
        ("escape in a value read", base.replace('"Shared"', '"Sha\\u0072ed"')),
        ("escape in a key read", base.replace('"tenancy"', '"tenan\\u0063y"')),
        ("escape in a dictionary key", base.replace('"Reserved": {"', '"Reserved": {"\\u0041', 1)),
        ("field twice", base.replace('"tenancy": "Shared"', '"tenancy": "Shared", "tenancy": "Shared"')),
        ("product twice", base[:-1] + ', "product": {}}'),
        ("term twice", base.replace('"Reserved": {', '"Reserved": {"k": {}, "k": {}, ', 1)),
        ("vcpu a number", base.replace('"vcpu": "192"', '"vcpu": 192')),
        ("sku null", base.replace(f'"sku": "{p5()["product"]["sku"]}"', '"sku": null', 1)),
        ("no product", json.dumps({"terms": p5()["terms"]})),
        ("terms null", json.dumps({**p5(), "terms": None})),
        ("OnDemand null", json.dumps({**p5(), "terms": {"OnDemand": None}})),
        ("nested too deep", base[:-1] + ', "deep": ' + deep + "}"),
        ("bad number", base[:-1] + ', "n": 01}'),
        ("bad literal", base[:-1] + ', "n": nul}'),
        ("price a number", with_price("1.5")),
        ("price with a sign", with_price('"-0"')),
        ("price with a plus", with_price('"+1.5"')),
        ("price with an exponent", with_price('"1e5"')),
        ("price with a space", with_price('" 1.5"')),
        ("price with a leading zero", with_price('"01.5"')),
        ("price without a whole part", with_price('".5"')),
        ("price with a bare point", with_price('"5."')),
        ("price of digits over 2**53", with_price('"90071992.54740993"')),
        ("price of 20 digits", with_price('"1.0000000000000000000"')),
        ("price of 23 decimals", with_price('"0.00000000000000000000001"')),
        ("price the text null", with_price('"null"')),
        ("price empty", with_price('""')),
        ("another currency", with_price('"1", "EUR": "2"')),
        ("price twice", with_price('"1", "USD": "2"')),
    ]
    return cases


@needs_native
@pytest.mark.parametrize(("name", "text"), odd_texts(), ids=[n for n, _ in odd_texts()])
def test_anything_else_is_left_to_the_structs(name: str, text: str) -> None:
    assert SCAN(text) is None  # type: ignore[misc]


def test_what_the_reader_leaves_is_read_by_the_structs_as_before() -> None:
    """A page's odd products take the structs' way: a price with a sign or in another currency is read
    exactly (the same rows with or without the reader), an item that is not a product refuses the page."""
    with_sign = p5()
    first = next(iter(with_sign["terms"]["OnDemand"].values()))
    next(iter(first["priceDimensions"].values()))["pricePerUnit"]["USD"] = "+2.5"
    digests = list(aws.iter_digests([json.dumps(with_sign)], aws.SkipCounter()))
    assert digests == [structs_digest(json.dumps(with_sign))]
    assert digests[0][12] == (1, first["effectiveDate"], 2.5)
    with pytest.raises(aws.PageError):
        list(aws.iter_digests([json.dumps(p5()), "[1, 2]"], aws.SkipCounter()))


EDITS = st.lists(
    st.tuples(
        st.integers(min_value=0),
        st.sampled_from(["delete", "insert", "replace"]),
        st.sampled_from(list('{}[]":,\\ 0123456789.-eEnulltrfasUSD\t')),
    ),
    min_size=1,
    max_size=3,
)


@needs_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, which=st.integers(min_value=0, max_value=18))
def test_under_random_edits_the_reader_answers_only_as_the_structs_do(
    edits: list[tuple[int, str, str]], which: int
) -> None:
    text = json.dumps(aws_items()[which])
    for position, edit, char in edits:
        at = position % (len(text) + 1)
        if edit == "delete":
            text = text[:at] + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + char + text[at:]
        else:
            text = text[:at] + char + text[at + 1 :]
    got = SCAN(text)  # type: ignore[misc]
    if got is None:
        return
    assert got == aws.digest(aws._FAST_DECODER.decode(text))  # (the fast structs take what it takes)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "0", "1.5", "Hrs", "Quantity", "standard", "null", "1yr", "No Upfront"])
    | st.sampled_from(["\ud800", "\udc00x", "\U0001f600", "a\ud83d"])  # (json.dumps escapes them)
    | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into ``value``'s objects and arrays."""
    out = [at]
    if isinstance(value, dict):
        for key, child in value.items():
            out.extend(paths(child, (*at, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.extend(paths(child, (*at, index)))
    return out


@needs_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.integers(min_value=0, max_value=18))
def test_with_any_value_anywhere_the_reader_answers_only_as_the_structs_do(data: Any, which: int) -> None:
    item = copy.deepcopy(aws_items()[which])
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.sampled_from(paths(item)[1:]))
        parent = item
        for key in at[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[at[-1]]
        else:
            parent[at[-1]] = data.draw(JSON_VALUES)
    text = json.dumps(item)
    got = SCAN(text)  # type: ignore[misc]
    if got is None:
        return
    assert got == aws.digest(aws._FAST_DECODER.decode(text))
