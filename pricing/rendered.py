"""Offer text kept in parts, rendered where it is read: AWS notes (templates and amounts) and SKUs (the
product's SKU and the offer term's code).

An AWS reserved row's note is a fixed text with its hourly and upfront amounts in it (``payment=no_upfront;
standard 1yr: 3.2 $/h + upfront 0 $ / 8760 h``), and its SKU the product's SKU, a dot and the term's code.
Formatting the numbers was a fifth of the ingest's Python time, and the notes and SKUs two thirds of the
bytes a pull wrote, so the AWS client leaves them in parts: its offer frame, and the snapshots stored from
it, hold

- in ``note`` a *template* per row and the amounts beside it in :data:`NOTE_AMOUNT_COLUMNS` (the presence of
  those columns is what says that ``note`` holds templates);
- in ``source_sku`` the product's SKU and beside it, in :data:`SKU_TERM_COLUMN`, the term's code (null for a
  row of no term: the SKU is then the product's alone).

A template is a :meth:`str.format` text whose only fields are ``{hourly_usd:g}`` and ``{upfront_usd:g}``
(``"%g" % amount``), any literal brace doubled (:func:`note_template`). Nothing else is interpreted: a
template with another field, spec or conversion is refused (ValueError), never evaluated.

:func:`with_rendered_text` (:func:`render_notes`, :func:`render_skus`) turns them into the text every reader
sees (the price store renders on read: ``pricing.store.decode_columns``), the same text as before (tests
compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from string import Formatter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np

#: The amounts a note template's fields name, as columns beside ``note`` (float64; NaN where unused).
NOTE_AMOUNT_COLUMNS: Final = ("note_hourly_usd", "note_upfront_usd")
#: The offer term's code beside ``source_sku`` (text; null where the SKU is the product's alone).
SKU_TERM_COLUMN: Final = "source_sku_term"
#: Every column of parts, after the offer columns.
PART_COLUMNS: Final = (*NOTE_AMOUNT_COLUMNS, SKU_TERM_COLUMN)
_FIELDS: Final = {"hourly_usd": 0, "upfront_usd": 1}


def note_template(text: str) -> str:
    """The template of a note without amounts: ``text`` with its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _compiled(template: str) -> tuple[str, tuple[int, ...]]:
    """A template as a ``%`` format and the amounts it takes, in order (0: hourly, 1: upfront); ValueError
    when it is not a template (:mod:`pricing.rendered`)."""
    parts: list[str] = []
    order: list[int] = []
    for literal, field, spec, conversion in Formatter().parse(template):
        parts.append(literal.replace("%", "%%"))
        if field is None:
            continue
        if field not in _FIELDS or spec != "g" or conversion is not None:
            raise ValueError(
                f"a note template has a field other than {{hourly_usd:g}} and {{upfront_usd:g}}: {field!r}"
            )
        parts.append("%g")
        order.append(_FIELDS[field])
    return "".join(parts), tuple(order)


def check_templates(templates: Sequence[Any]) -> None:
    """ValueError unless every one is a note template (text, or None for no note)."""
    for template in templates:
        if template is not None:
            if type(template) is not str:
                raise ValueError(f"a note template is not text: {type(template).__name__}")
            _compiled(template)


def render_notes(
    templates: Sequence[Any], codes: np.ndarray, hourly: np.ndarray, upfront: np.ndarray
) -> np.ndarray:
    """The notes' text (an object array, None for no note) of rows whose template is ``templates[code]``
    (-1: no note) and whose amounts are ``hourly`` and ``upfront``: ``"%g" % amount`` in each field, as the
    AWS client formatted them before templates. ValueError for a template that is not one."""
    import numpy as np

    out = np.empty(len(codes), dtype=object)
    for code, template in enumerate(templates):
        if template is None:
            continue
        if type(template) is not str:
            raise ValueError(f"a note template is not text: {type(template).__name__}")
        form, order = _compiled(template)
        rows = np.flatnonzero(codes == code)
        if not len(rows):
            continue
        if not order:
            out[rows] = form % ()
            continue
        amounts = (hourly[rows].tolist(), upfront[rows].tolist())
        if order == (0, 1):
            out[rows] = [form % pair for pair in zip(*amounts, strict=True)]
        elif len(order) == 1:
            out[rows] = [form % amount for amount in amounts[order[0]]]
        else:
            out[rows] = [form % values for values in zip(*(amounts[i] for i in order), strict=True)]
    return out


def render_skus(skus: np.ndarray, terms: Sequence[Any], codes: np.ndarray) -> np.ndarray:
    """The SKUs (an object array) of rows whose product SKU is ``skus`` and whose term is ``terms[code]``
    (-1: none): ``sku + "." + term``, or the product's SKU alone. ValueError for a term that is not text, or
    a term beside a product SKU that is not text."""
    import numpy as np

    out = np.array(skus, dtype=object)  # (a copy)
    for code, term in enumerate(terms):
        if type(term) is not str:
            raise ValueError(f"an offer term code is not text: {type(term).__name__}")
        rows = np.flatnonzero(codes == code)
        if not len(rows):
            continue
        suffix = "." + term
        products = out[rows].tolist()
        if not all(type(sku) is str for sku in products):
            raise ValueError("an offer term code beside a SKU that is not text")
        out[rows] = [sku + suffix for sku in products]
    return out


def _coded(values: Any) -> tuple[list[Any], np.ndarray]:
    """(distinct values, a code per row: -1 for null) of a categorical or any column."""
    import numpy as np
    import pandas as pd

    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return values.cat.categories.tolist(), values.cat.codes.to_numpy()
    array = np.asarray(values, dtype=object)
    blank = pd.isna(array)
    if blank.any():
        array = array.copy()
        array[blank] = None
    codes, uniques = pd.factorize(array, use_na_sentinel=True)
    return uniques.tolist(), codes


def with_rendered_text(frame: Any) -> Any:
    """``frame`` with its notes and SKUs as text (:data:`PART_COLUMNS` rendered and dropped); a frame
    without them as it is."""
    import numpy as np
    import pandas as pd

    parts = [name for name in PART_COLUMNS if name in frame.columns]
    if not parts:
        return frame
    out = frame.drop(columns=parts)
    if set(NOTE_AMOUNT_COLUMNS) <= set(parts):
        hourly, upfront = (frame[name].to_numpy(dtype=np.float64) for name in NOTE_AMOUNT_COLUMNS)
        templates, codes = _coded(frame["note"])
        out["note"] = pd.Series(
            render_notes(templates, codes, hourly, upfront), index=frame.index, dtype=object
        )
    if SKU_TERM_COLUMN in parts:
        terms, codes = _coded(frame[SKU_TERM_COLUMN])
        skus = render_skus(frame["source_sku"].to_numpy(dtype=object), terms, codes)
        out["source_sku"] = pd.Series(skus, index=frame.index, dtype=object)
    return out
