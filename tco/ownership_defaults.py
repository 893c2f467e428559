"""Owned-hardware (on-prem / colo) assumptions: every default named, with its source, overridable.

Numbers come from ../shared/reference/projection_model.md §5 (secondary sources, flagged as such there) and
§8 (the recommended CLI defaults). They are inputs, not facts: every one can be overridden on the command
line (``tco compare procurement --set pue=1.4``) or in a scenario's ``[ownership]`` table.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, fields, replace
from typing import Final

from tco.errors import TcoError

HOURS_PER_YEAR: Final = 8760.0
HOURS_PER_MONTH: Final = 730.0

REF = "reference/projection_model.md"


@dataclass(frozen=True, slots=True)
class Ownership:
    """What owning one server costs. Units are in the names.

    Formulas (projection_model.md §5.1; straight-line depreciation, no resale value counted):
        capex_per_year       = capex_usd_per_server / life_years
        energy_usd_per_year  = server_kw · load_factor · pue · 8760 · usd_per_kwh
        colo_usd_per_year    = server_kw · colo_usd_per_kw_month · 12   (contracted kW = server max kW)
        maint_usd_per_year   = maintenance_fraction_per_year · capex_usd_per_server
        owned_usd_per_year   = capex_per_year + energy + colo + maint + staff_usd_per_server_year
        owned_usd_per_acc_h  = owned_usd_per_year / (accelerators_per_server · 8760 · utilisation)
    """

    accelerator: str = "H100-80GB"
    accelerators_per_server: float = 8.0
    capex_usd_per_server: float = 325_000.0
    server_kw: float = 10.2
    load_factor: float = 0.6
    pue: float = 1.2
    usd_per_kwh: float = 0.10
    colo_usd_per_kw_month: float = 200.0
    maintenance_fraction_per_year: float = 0.10
    staff_usd_per_server_year: float = 10_000.0
    life_years: float = 4.0
    utilisation: float = 0.70

    def with_overrides(self, overrides: dict[str, float]) -> Ownership:
        known = {f.name for f in fields(self) if f.name != "accelerator"}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=2)
                hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(sorted(known))}"
                raise TcoError(f"unknown ownership assumption {key!r}", hint=hint)
        out = replace(self, **overrides)  # type: ignore[arg-type]
        out.validate()
        return out

    def validate(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "accelerator":
                continue
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                raise TcoError(f"ownership assumption {f.name} must be a number >= 0, got {value!r}")
        for name in ("accelerators_per_server", "life_years", "utilisation", "pue"):
            if getattr(self, name) <= 0:
                raise TcoError(f"ownership assumption {name} must be > 0, got {getattr(self, name)!r}")
        if self.utilisation > 1:
            raise TcoError(f"ownership assumption utilisation is a fraction (0-1], got {self.utilisation!r}")


#: Where each default comes from (shown beside every number in tables and the Assumptions sheet).
SOURCES: Final[dict[str, str]] = {
    "accelerators_per_server": "8-GPU HGX/DGX node (assumption)",
    "capex_usd_per_server": (
        f"8xH100 node $300-350k, midpoint (secondary: v2-pseo-ai, alpineblockchain; {REF} §5.2)"
    ),
    "server_kw": f"8xH100 node max power 10.2 kW (NVIDIA DGX H100 datasheet, recalled; {REF} §5.2)",
    "load_factor": f"typical IT load 6.2 kW of 10.2 kW max, ~0.6 ({REF} §5.2)",
    "pue": f"PUE 1.2 (recommended default; hyperscale 1.1-1.2, colo 1.3-1.5; {REF} §8, Uptime 2024)",
    "usd_per_kwh": f"$0.10/kWh industrial (recommended default; range 0.06-0.12; {REF} §8)",
    "colo_usd_per_kw_month": f"$200/kW-month colocation (range 150-250; v2-pseo-ai; {REF} §8)",
    "maintenance_fraction_per_year": f"~10%/yr of hardware (alpineblockchain; {REF} §5.2)",
    "staff_usd_per_server_year": f"staff share $10k/yr per node (worked example, {REF} §5.3)",
    "life_years": f"4-year straight-line depreciation (recommended default; 3-5 years; {REF} §8)",
    "utilisation": f"70% sustained utilisation (recommended default; {REF} §8)",
}

#: Low/high values for the sensitivity (tornado) table: the ranges the reference gives.
RANGES: Final[dict[str, tuple[float, float]]] = {
    "capex_usd_per_server": (300_000.0, 430_000.0),
    "pue": (1.1, 1.5),
    "usd_per_kwh": (0.06, 0.19),
    "colo_usd_per_kw_month": (150.0, 250.0),
    "maintenance_fraction_per_year": (0.05, 0.15),
    "staff_usd_per_server_year": (5_000.0, 20_000.0),
    "life_years": (3.0, 5.0),
    "utilisation": (0.5, 0.9),
}

#: Per-accelerator server defaults (capex is only given where the reference has a number).
SERVER_DEFAULTS: Final[dict[str, dict[str, float]]] = {
    "H100-80GB": {"accelerators_per_server": 8.0, "capex_usd_per_server": 325_000.0, "server_kw": 10.2},
}


def default_for(accelerator: str) -> Ownership:
    """The default ownership assumptions for ``accelerator``; raises when the reference has no capex."""
    server = SERVER_DEFAULTS.get(accelerator)
    if server is None:
        raise TcoError(
            f"no default server price for {accelerator}",
            hint="give one: --set capex_usd_per_server=... --set server_kw=... "
            "--set accelerators_per_server=...",
        )
    return replace(Ownership(), accelerator=accelerator, **server)


def owned_usd_per_year(o: Ownership) -> float:
    """Annual cost of one server (capex annualised straight-line + energy + colo + maintenance + staff)."""
    return (
        o.capex_usd_per_server / o.life_years
        + o.server_kw * o.load_factor * o.pue * HOURS_PER_YEAR * o.usd_per_kwh
        + o.server_kw * o.colo_usd_per_kw_month * 12.0
        + o.maintenance_fraction_per_year * o.capex_usd_per_server
        + o.staff_usd_per_server_year
    )


def opex_usd_per_year(o: Ownership) -> float:
    """The running cost of one server per year (everything but the capex)."""
    return owned_usd_per_year(o) - o.capex_usd_per_server / o.life_years


def owned_usd_per_accelerator_hour(o: Ownership) -> float:
    """Effective $/accelerator-hour at the stated utilisation."""
    return owned_usd_per_year(o) / (o.accelerators_per_server * HOURS_PER_YEAR * o.utilisation)
