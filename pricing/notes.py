"""Offer notes kept as templates and amounts, rendered to text where they are read.

An AWS reserved row's note is a fixed text with its hourly and upfront amounts in it (``payment=no_upfront;
standard 1yr: 3.2 $/h + upfront 0 $ / 8760 h``). Formatting those numbers was a fifth of the ingest's Python
time and the note text half the bytes a pull wrote, so the AWS client leaves them unformatted: its offer
frame, and the snapshots stored from it, hold in ``note`` a *template* per row and the amounts beside it
in :data:`NOTE_AMOUNT_COLUMNS`. The presence of those columns is what says that ``note`` holds templates.

A template is a :meth:`str.format` text whose only fields are ``{hourly_usd:g}`` and ``{upfront_usd:g}``
(``"%g" % amount``), any literal brace doubled (:func:`note_template`). Nothing else is interpreted: a
template with another field, spec or conversion is refused (ValueError), never evaluated.

:func:`render_notes` is the one function that turns them into the text every reader sees (the price store
renders on read: ``pricing.store.decode_columns``), the same text as before templates (tests compare them).
"""

from __future__ import annotations

from collections.abc import Sequence
from string import Formatter
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np

#: The amounts a note template's fields name, as columns beside ``note`` (float64; NaN where unused).
NOTE_AMOUNT_COLUMNS: Final = ("note_hourly_usd", "note_upfront_usd")
_FIELDS: Final = {"hourly_usd": 0, "upfront_usd": 1}


def note_template(text: str) -> str:
    """The template of a note without amounts: ``text`` with its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _compiled(template: str) -> tuple[str, tuple[int, ...]]:
    """A template as a ``%`` format and the amounts it takes, in order (0: hourly, 1: upfront); ValueError
    when it is not a template (:mod:`pricing.notes`)."""
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


def rendered_notes(notes: Any, hourly: Any, upfront: Any) -> np.ndarray:
    """:func:`render_notes` of a column of templates (a pandas categorical, or any sequence of text and
    None) and its amount columns."""
    import numpy as np
    import pandas as pd

    hourly = np.asarray(hourly, dtype=np.float64)
    upfront = np.asarray(upfront, dtype=np.float64)
    if isinstance(getattr(notes, "dtype", None), pd.CategoricalDtype):
        return render_notes(notes.cat.categories.tolist(), notes.cat.codes.to_numpy(), hourly, upfront)
    values = np.asarray(notes, dtype=object)
    blank = pd.isna(values)
    if blank.any():
        values = values.copy()
        values[blank] = None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return render_notes(uniques.tolist(), codes, hourly, upfront)


def with_rendered_notes(frame: Any) -> Any:
    """``frame`` with its note templates rendered to text in ``note`` and the amount columns dropped (a
    frame without them as it is)."""
    import pandas as pd

    if not set(NOTE_AMOUNT_COLUMNS) <= set(frame.columns):
        return frame
    hourly, upfront = (frame[name] for name in NOTE_AMOUNT_COLUMNS)
    out = frame.drop(columns=list(NOTE_AMOUNT_COLUMNS))
    out["note"] = pd.Series(rendered_notes(frame["note"], hourly, upfront), index=frame.index, dtype=object)
    return out
