"""Realistic, reproducible sample organizations for the demo (the benchmarks generate their own, in `benchmarks/_shapes.py`)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Final

from .._bulk import OrganizationRecord
from .._contract import DomainState
from .._models import DomainData

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


def sample_records(count: int, *, seed: int = 2026) -> Iterator[OrganizationRecord]:
    """`count` distinct organizations with 1-3 domains and metadata, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible sample data, not a secret
    for number in range(count):
        brand, trade, form = rng.choice(_BRANDS), rng.choice(_TRADES), rng.choice(_FORMS)
        name = " ".join(part for part in (brand, trade, form) if part)
        # The number keeps every name and domain distinct however many are drawn.
        slug = f"{brand}{trade}".lower().replace(" ", "") + str(number)
        tld = rng.choice(_TLDS)
        domains = tuple(
            DomainData(f"{prefix}{slug}{tld}", rng.choice((DomainState.VERIFIED, DomainState.PENDING)))
            for prefix in ("", "mail.", "eu.")[: rng.randint(1, 3)]
        )
        metadata = {
            "tier": rng.choice(_TIERS),
            "region": rng.choice(_REGIONS),
            "seats": str(rng.randint(3, 5000)),
            "crm_id": f"crm_{rng.getrandbits(48):012x}",
        }
        yield OrganizationRecord(f"cust-{number:06d}", name, domains, metadata)
