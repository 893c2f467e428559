"""Hypothesis strategies for hostile values: what a careless user, a broken file or a hostile server hands
over. Shared by the library-level fuzz tests of every package (pricing, calibrate, tco.track, tco.model).

Each fuzz test asserts the same contract: no exception but the package's own error family, and nothing
written when the call fails.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

#: Text that means something to a terminal, a spreadsheet or a parser.
NASTY_TEXT = (
    "",
    " ",
    "[bold]x[/]",
    "[/]",
    "[link=file:///etc/passwd]x[/link]",
    '=HYPERLINK("http://example.com","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "a\rb",
    "a\nb",
    "\x00",
    "\ud800",  # a lone surrogate: not encodable as UTF-8
    "nan",
    "inf",
    "-1e999",
    "1e999",
    "9" * 400,
    "x" * 5000,
    "ü∂ƒ漢字",
)

#: Numbers at the edges: NaN, infinities, zero, negatives, the float limits, integers beyond float range.
NASTY_NUMBERS = (
    math.nan,
    math.inf,
    -math.inf,
    0.0,
    -0.0,
    -1.0,
    1e-308,
    5e-324,
    1e308,
    -1e308,
    2**53 + 1,
    2**63,
    -(2**63),
    10**30,
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(NASTY_NUMBERS),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=12),
)

#: Any JSON-like value (what ``json.loads`` of a hostile file can give, NaN and Infinity included).
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)

#: Numbers as a model input may get them.
numbers = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-3, max_value=1e6),
)


def mutate(document: Any, data: st.DataObject, edits: int = 3) -> Any:
    """``document`` (a JSON-like tree) with up to ``edits`` values at drawn paths replaced by hostile ones
    (drawn through ``data``, so Hypothesis shrinks them)."""
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(min_value=1, max_value=edits), label="edits")):
        paths = list(_paths(document))
        path = data.draw(st.sampled_from(paths), label="path")
        value = data.draw(json_values, label="value")
        if not path:
            document = value
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
    return document


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Any:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def file_bytes(document: Any) -> bytes:
    """``document`` as a file's bytes: JSON with NaN/Infinity written as Python does, and text that is not
    valid Unicode (a lone surrogate) written as the bytes a careless writer leaves (surrogatepass)."""
    return json.dumps(document, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


#: Files that are not JSON documents at all.
broken_files = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"[" * 50_000 + b"]" * 50_000,
            b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
            b"\xff\xfe\x00\x00",
            b'{"format": "\xc3\x28"}',
            b"NaN",
            b"9" * 5000,
            b"",
        ]
    ),
)
