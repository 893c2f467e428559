"""Who sells the compute: every provider tco prices, what kind of seller it is, and whether its prices can be
pulled live or ship only in the embedded snapshot.

Facts per seller come from pricing/data/SOURCES.md ("Live price APIs", "Reading them right"): which price APIs
answer without an account, which sellers are marketplaces reselling other clouds, and which tables list every
instance type in every region whether capacity exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

SellerKind = Literal["hyperscaler", "gpu_cloud", "marketplace"]


@dataclass(frozen=True, slots=True)
class Seller:
    """One provider as tco knows it."""

    name: str  # the provider key in offer rows
    label: str  # how people write it
    kind: SellerKind
    #: a marketplace: its offers run on other clouds (named in each row's note), at its own prices
    reseller: bool
    #: the public price API ``tco prices pull`` reads, or "" when the prices are embedded only
    live_api: str
    #: why there is no live pull (empty when there is one)
    no_api_reason: str = ""
    #: what a listed price does not promise (e.g. capacity in every listed region)
    availability_note: str = ""

    @property
    def embedded_only(self) -> bool:
        return not self.live_api


_KEYED: Final = "a price API exists but needs an account's API key"
_EVERYWHERE: Final = (
    "its table lists every instance type in every region at one price: a listed region is not a promise of "
    "capacity there"
)

SELLERS: Final[dict[str, Seller]] = {
    s.name: s
    for s in (
        Seller("aws", "AWS", "hyperscaler", False, "AWS Price List Query API + EC2 spot price history"),
        Seller("gcp", "Google Cloud", "hyperscaler", False, "Cloud Billing Catalog API"),
        Seller("azure", "Azure", "hyperscaler", False, "Azure Retail Prices API (no credentials)"),
        Seller(
            "oci",
            "Oracle Cloud (OCI)",
            "hyperscaler",
            False,
            "OCI price list (apexapps.oracle.com cetools, no credentials; pay-as-you-go only)",
            availability_note=_EVERYWHERE,
        ),
        Seller(
            "lambda",
            "Lambda",
            "gpu_cloud",
            False,
            "",
            f"{_KEYED} (cloud.lambda.ai/api/v1/instance-types)",
            _EVERYWHERE,
        ),
        Seller(
            "nebius",
            "Nebius",
            "gpu_cloud",
            False,
            "",
            "no price API found; its API takes service credentials",
        ),
        Seller("cudo", "Cudo Compute", "gpu_cloud", False, "", f"{_KEYED} (machine-type-prices)"),
        Seller("hyperbolic", "Hyperbolic", "gpu_cloud", False, "", f"{_KEYED} (GPU marketplace listing)"),
        Seller(
            "fluidstack",
            "FluidStack",
            "gpu_cloud",
            False,
            "",
            "no public price endpoint found; SkyPilot stopped refreshing its table (catalog v6)",
        ),
        Seller(
            "paperspace",
            "Paperspace",
            "gpu_cloud",
            False,
            "",
            f"{_KEYED} (machine types); SkyPilot stopped refreshing its table (catalog v6)",
        ),
        Seller("shadeform", "Shadeform", "marketplace", True, "", f"{_KEYED} (instances/types)"),
        Seller(
            "primeintellect",
            "Prime Intellect",
            "marketplace",
            True,
            "",
            f"{_KEYED} (availability/gpu-summary)",
        ),
    )
}


def seller(provider: str) -> Seller:
    """The seller behind ``provider`` (a key of :data:`SELLERS`); KeyError for an unknown one."""
    return SELLERS[provider]


def embedded_only() -> tuple[str, ...]:
    """Providers whose prices ship only in the embedded snapshot (no price API answers without an account)."""
    return tuple(name for name, s in SELLERS.items() if s.embedded_only)


__all__ = ["SELLERS", "Seller", "SellerKind", "embedded_only", "seller"]
