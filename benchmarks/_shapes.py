"""The two page shapes the benchmarks measure, as emulator seed entries and as create inputs.

- **lean**: what real accounts have most, each organization with one verified domain and two
  metadata keys (about 61 KB per 100-organization page; a verified domain carries no
  verification token or prefix);
- **rich**: 1-3 domains, each verified or pending, and four metadata keys (about 107 KB per
  page), the shape the benchmarks used before issue 14.

Generated here rather than taken from the package's sample data, so the shapes stay the same
whatever the package does with its demo data.  The same seed gives the same organizations.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Final

import attrs

LEAN: Final = "lean"
RICH: Final = "rich"
SHAPES: Final = (LEAN, RICH)
DESCRIPTIONS: Final = {
    LEAN: "one verified domain and two metadata keys per organization",
    RICH: "1-3 domains, verified or pending, and four metadata keys per organization",
}

_BRANDS: Final = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne",
    "Aperture", "Wonka", "Oceanic", "Monarch", "Stark", "Wayne", "Gringotts", "Duff", "Nakatomi",
    "Pied Piper", "Prestige", "Massive Dynamic", "Blue Sun", "Weyland", "Octan", "Virtucon", "Zorg",
    "Sirius", "Krusty", "Nordwind", "Altamira", "Kestrel", "Borealis", "Lumen", "Halcyon", "Quill",
)  # fmt: skip
_TRADES: Final = (
    "Analytics", "Robotics", "Health", "Logistics", "Labs", "Systems", "Foods", "Energy", "Capital",
    "Media", "Software", "Bio", "Aerospace", "Retail", "Security", "Networks", "Learning", "Travel",
)  # fmt: skip
_FORMS: Final = ("Inc.", "LLC", "GmbH", "Ltd", "S.A.", "Co.", "AG", "B.V.", "")
_TLDS: Final = (".com", ".com", ".com", ".io", ".co", ".dev", ".ai", ".net", ".de", ".co.uk")
_TIERS: Final = ("free", "team", "business", "enterprise")
_REGIONS: Final = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
_STATES: Final = ("verified", "pending")


@attrs.frozen
class SampleOrganization:
    """One organization to seed or create: the same for every client."""

    name: str
    external_id: str
    domains: tuple[tuple[str, str], ...]  # (domain, state)
    metadata: dict[str, str]

    def seed_entry(self) -> dict[str, Any]:
        """The organization as an emulator seed entry."""
        return {
            "name": self.name,
            "external_id": self.external_id,
            "metadata": dict(self.metadata),
            "domains": [{"domain": domain, "state": state} for domain, state in self.domains],
        }


def organizations(shape: str, count: int, *, seed: int = 2026) -> Iterator[SampleOrganization]:
    """`count` distinct organizations of `shape`, the same for the same seed."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    rng = random.Random(seed)  # reproducible sample data, not a secret
    for number in range(count):
        brand, trade, form = rng.choice(_BRANDS), rng.choice(_TRADES), rng.choice(_FORMS)
        name = " ".join(part for part in (brand, trade, form) if part)
        # The number keeps every name and domain distinct however many are drawn.
        slug = f"{brand}{trade}".lower().replace(" ", "") + str(number)
        tld = rng.choice(_TLDS)
        if shape == LEAN:
            domains: tuple[tuple[str, str], ...] = ((f"{slug}{tld}", "verified"),)
        else:
            prefixes = ("", "mail.", "eu.")[: rng.randint(1, 3)]
            domains = tuple((f"{prefix}{slug}{tld}", rng.choice(_STATES)) for prefix in prefixes)
        metadata = {"tier": rng.choice(_TIERS), "region": rng.choice(_REGIONS)}
        if shape == RICH:
            metadata |= {"seats": str(rng.randint(3, 5000)), "crm_id": f"crm_{rng.getrandbits(48):012x}"}
        yield SampleOrganization(name, f"cust-{number:06d}", domains, metadata)


def create_inputs(count: int, tag: str) -> list[SampleOrganization]:
    """`count` rich organizations to create; `tag` keeps external ids and domains unique per batch."""
    return [
        SampleOrganization(
            item.name,
            f"bench-{tag}-{item.external_id}",
            tuple((f"{tag}.{domain}", state) for domain, state in item.domains),
            item.metadata,
        )
        for item in organizations(RICH, count, seed=7)
    ]
