"""What counts as a control character: one definition for every check of input and every renderer.

A control character changes how text is shown, split or ordered instead of being shown: the C0 controls,
DEL, the C1 controls, the Unicode line and paragraph separators (which some readers take as line breaks)
and the bidirectional formatting characters, which make a terminal or an editor show text in another order
than it is stored ("Trojan Source", CVE-2021-42574: U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C).

Input (option values, scenario text) holding one is refused (:func:`first_control`); output shows each as
a visible symbol (:data:`SHOWN_AS_SYMBOL`, used by :func:`tco.export.base.printable`), keeping tab and
newline, which are layout.
"""

from __future__ import annotations

import re
from typing import Final

_SEPARATORS_AND_BIDI: Final = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"

#: Every control character (input checks).
CONTROL: Final = re.compile(f"[\x00-\x1f\x7f-\x9f{_SEPARATORS_AND_BIDI}]")

#: The control characters a renderer replaces by a visible symbol: all but tab and newline.
SHOWN_AS_SYMBOL: Final = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_SEPARATORS_AND_BIDI}]")


def first_control(text: str) -> str | None:
    """The first control character in ``text``, or None."""
    found = CONTROL.search(text)
    return found.group() if found else None
