"""The reference tables behind the estimates: model presets and every named default (``--set``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd

#: The ``--set`` groups ``tco estimate train|serve`` read (``tco estimate assumptions`` lists them).
ESTIMATE_GROUPS: Final = ("training", "spot", "hardware", "ownership", "line_items", "serving")
#: The ``--set`` groups ``tco compare procurement`` reads.
PROCUREMENT_GROUPS: Final = ("ownership", "procurement")


def model_presets() -> pd.DataFrame:
    """The model presets ``--model`` accepts: shapes, training tokens, sources (``tco/data/models.csv``)."""
    from tco.presets import load_models

    return load_models()


def named_defaults(groups: tuple[str, ...] = ESTIMATE_GROUPS) -> pd.DataFrame:
    """Every named default of ``groups``: name, group, unit, meaning, default and its source."""
    import pandas as pd

    from tco.model.settings import registry

    return pd.DataFrame(
        [
            {"name": s.name, "group": s.group, "unit": s.unit, "meaning": s.meaning, "default": s.default}
            for s in registry().values()
            if s.group in groups
        ]
    )
