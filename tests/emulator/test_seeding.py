"""Seeding: from a file, from data, with pinned IDs, all or nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest

from workos_orgs.emulator import Emulator, SeedError
from workos_orgs.emulator._ids import ulid_milliseconds

from ..clock import ManualClock

ACME_ID = "org_01EHWNCE74X7JSDV0X3SZ3KJNY"
# 01EHWNCE74 is the ULID time part: 1599763527908 ms after the epoch.
ACME_CREATED_AT = "2020-09-10T18:45:27.908Z"
FUTURE_ID = "org_3ZZZZZZZZZAAAAAAAAAAAAAAAA"  # a timestamp in the year 8888 or so
DOMAIN_ID = "org_domain_01EHWNCE74X7JSDV0X3SZ3KJNZ"
ORGANIZATION_ID = re.compile(r"org_[0-9A-HJKMNP-TV-Z]{26}")
TOKEN = re.compile(r"[A-Za-z0-9]{25}")


def session(emulator: Emulator) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=emulator.url, headers={"Authorization": f"Bearer {emulator.api_key}"})


async def get_json(http: aiohttp.ClientSession, path: str, **params: str) -> Any:
    async with http.get(path, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def listed(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    return list((await get_json(http, "/organizations", order="asc", limit="100"))["data"])


# Where seeds come from.


@pytest.mark.parametrize("as_string", [False, True])
async def test_seed_file_given_to_the_constructor(tmp_path: Path, as_string: bool) -> None:
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps(
            {
                "organizations": [
                    {"id": ACME_ID, "name": "Acme Inc.", "external_id": "acme", "metadata": {"tier": "diamond"}},
                    {"name": "Beta", "domains": ["beta.com"]},
                ]
            }
        )
    )
    async with Emulator(seed=str(path) if as_string else path) as emulator, session(emulator) as http:
        organizations = await listed(http)
        assert [(o["name"], o["external_id"], o["metadata"]) for o in organizations] == [
            ("Acme Inc.", "acme", {"tier": "diamond"}),
            ("Beta", None, {}),
        ]
        assert organizations[0]["id"] == ACME_ID
        assert [domain["domain"] for domain in organizations[1]["domains"]] == ["beta.com"]


@pytest.mark.parametrize("existing", [False, True], ids=["no file", "empty file"])
async def test_a_seed_given_with_a_db_file_is_loaded_only_into_a_new_database(tmp_path: Path, existing: bool) -> None:
    db = tmp_path / "orgs.db"
    if existing:
        db.touch()  # an empty file is an empty database, as a temporary file made for it is
    seed = [{"name": "Acme", "external_id": "acme"}, {"name": "Beta"}]
    async with Emulator(db=db, seed=seed) as emulator, session(emulator) as http:
        assert [o["name"] for o in await listed(http)] == ["Acme", "Beta"]
        async with http.post("/organizations", json={"name": "Made later"}) as response:
            assert response.status == 201
    # Opened again with the same seed: what the file holds is kept as it is, not seeded twice
    # (which refused the seed's own external_id, and without one doubled every organization).
    for _ in range(2):
        async with Emulator(db=db, seed=seed) as emulator, session(emulator) as http:
            assert [o["name"] for o in await listed(http)] == ["Acme", "Beta", "Made later"]


async def test_a_seed_refused_for_a_new_db_file_is_loaded_once_fixed(tmp_path: Path) -> None:
    # The seed is checked before the file is made: made first, the file would not be new for the fixed seed.
    db = tmp_path / "orgs.db"
    with pytest.raises(SeedError, match=r"^organizations\[0\]: name is required\.$"):
        Emulator(db=db, seed=[{"external_id": "acme"}])
    async with Emulator(db=db, seed=[{"name": "Acme", "external_id": "acme"}]) as emulator, session(emulator) as http:
        assert [o["name"] for o in await listed(http)] == ["Acme"]


async def test_seed_data_given_to_the_constructor() -> None:
    async with Emulator(seed=[{"name": "Inline"}]) as emulator, session(emulator) as http:
        assert [o["name"] for o in await listed(http)] == ["Inline"]


@pytest.mark.parametrize("wrap", [True, False], ids=["organizations-key", "bare-list"])
async def test_seed_method_returns_what_the_api_shows(
    emulator: Emulator, http: aiohttp.ClientSession, wrap: bool
) -> None:
    entries = [{"name": "One", "external_id": "one"}, {"name": "Two", "allow_profiles_outside_organization": True}]
    seeded = emulator.seed({"organizations": entries} if wrap else entries)
    assert [organization["name"] for organization in seeded] == ["One", "Two"]
    assert all(ORGANIZATION_ID.fullmatch(organization["id"]) for organization in seeded)
    assert await listed(http) == seeded
    for organization in seeded:
        assert await get_json(http, f"/organizations/{organization['id']}") == organization
    assert seeded[1]["allow_profiles_outside_organization"] is True
    assert seeded[0]["external_id"] == "one"


async def test_seeding_adds_to_what_is_there(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed([{"name": "First"}])
    emulator.seed([{"name": "Second"}])
    assert [o["name"] for o in await listed(http)] == ["First", "Second"]


async def test_empty_seed(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    assert emulator.seed({"organizations": []}) == []
    assert emulator.seed([]) == []
    assert await listed(http) == []


# Pinned IDs and times.


async def test_pinned_id_is_kept_and_new_ids_sort_after_it(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed([{"id": FUTURE_ID, "name": "From the future"}, {"id": ACME_ID, "name": "Acme"}])
    async with http.post("/organizations", json={"name": "Created later"}) as response:
        assert response.status == 201
        created = await response.json()
    # The new ID sorts after every pinned one, even one whose clock is far ahead.
    assert created["id"] > FUTURE_ID > ACME_ID
    assert [o["id"] for o in await listed(http)] == [ACME_ID, FUTURE_ID, created["id"]]
    newest_first = await get_json(http, "/organizations")
    assert [o["name"] for o in newest_first["data"]] == ["Created later", "From the future", "Acme"]


async def test_unpinned_seed_ids_sort_after_pinned_ones_in_the_same_seed(emulator: Emulator) -> None:
    seeded = emulator.seed([{"id": FUTURE_ID, "name": "Pinned"}, {"name": "Unpinned"}])
    assert seeded[1]["id"] > FUTURE_ID


async def test_created_at_comes_from_the_pinned_ulid(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    seeded = emulator.seed([{"id": ACME_ID, "name": "Acme", "domains": [{"domain": "acme.com", "id": DOMAIN_ID}]}])
    organization = await get_json(http, f"/organizations/{ACME_ID}")
    assert organization == seeded[0]
    assert organization["created_at"] == ACME_CREATED_AT
    assert organization["updated_at"] == ACME_CREATED_AT
    domain = organization["domains"][0]
    assert domain["id"] == DOMAIN_ID
    assert domain["created_at"] == ACME_CREATED_AT
    assert await get_json(http, f"/organization_domains/{DOMAIN_ID}") == domain


async def test_explicit_times_are_kept(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed(
        [
            {
                "id": ACME_ID,
                "name": "Acme",
                "created_at": "2021-01-02T03:04:05.678Z",
                "updated_at": "2022-01-02T03:04:05.678Z",
            }
        ]
    )
    organization = await get_json(http, f"/organizations/{ACME_ID}")
    assert (organization["created_at"], organization["updated_at"]) == (
        "2021-01-02T03:04:05.678Z",
        "2022-01-02T03:04:05.678Z",
    )


async def test_an_id_not_pinned_is_made_from_a_pinned_created_at_so_listings_follow_it() -> None:
    # Listings are ordered by ID: IDs made from the clock listed an organization seeded as made
    # in 2019 as newer than one seeded before it as made in 2025; domains within one likewise.
    async with Emulator(clock=ManualClock()) as emulator, session(emulator) as http:
        seeded = emulator.seed(
            [
                {
                    "name": "2025",
                    "created_at": "2025-06-01T00:00:00.000Z",
                    "domains": [
                        {"domain": "later.com", "created_at": "2025-06-02T00:00:00.000Z"},
                        {"domain": "sooner.com", "created_at": "2025-06-01T12:00:00.000Z"},
                    ],
                },
                {"name": "2019", "created_at": "2019-01-01T00:00:00.000Z"},
                {"name": "2019 too", "created_at": "2019-01-01T00:00:00.000Z"},  # the same moment: seed order
            ]
        )
        async with http.post("/organizations", json={"name": "Made now"}) as response:
            assert response.status == 201
        newest_first = (await get_json(http, "/organizations"))["data"]
        assert [o["name"] for o in newest_first] == ["Made now", "2025", "2019 too", "2019"]
        assert [d["domain"] for d in newest_first[1]["domains"]] == ["sooner.com", "later.com"]
        for made in [*seeded, *seeded[0]["domains"]]:
            moment = datetime.fromisoformat(made["created_at"])
            assert ulid_milliseconds(made["id"].rsplit("_", 1)[1]) == round(moment.timestamp() * 1000)


async def test_records_seeded_at_one_moment_keep_the_seed_order_whatever_comes_between_them() -> None:
    # Only the last moment used was remembered: with another moment seeded in between, two
    # records of the same moment took random places (about half the time, out of order).
    first, second = "2019-01-01T00:00:00.000Z", "2025-06-01T00:00:00.000Z"
    entries = [{"name": f"{moment[:4]} #{n}", "created_at": moment} for n in range(20) for moment in (first, second)]
    async with Emulator(clock=ManualClock()) as emulator, session(emulator) as http:
        emulator.seed(entries)
        oldest_first = (await get_json(http, "/organizations?order=asc&limit=100"))["data"]
    assert [o["name"] for o in oldest_first] == [f"2019 #{n}" for n in range(20)] + [f"2025 #{n}" for n in range(20)]


# Domains.


async def test_domains_as_strings_or_objects(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.seed(
        [
            {
                "id": ACME_ID,
                "name": "Acme",
                "domains": [
                    "plain.com",
                    {"domain": "verified.com", "state": "verified"},
                    {"domain": "legacy.com", "state": "legacy_verified"},
                    {"domain": "pinned.com", "id": DOMAIN_ID, "verification_token": "A" * 25},
                    {"domain": "failed.com", "state": "failed", "verification_prefix": "acme-domain-verification-abc"},
                ],
            }
        ]
    )
    domains = {domain["domain"]: domain for domain in (await get_json(http, f"/organizations/{ACME_ID}"))["domains"]}
    assert set(domains) == {"plain.com", "verified.com", "legacy.com", "pinned.com", "failed.com"}
    assert all(domain["organization_id"] == ACME_ID for domain in domains.values())
    plain = domains["plain.com"]
    assert (plain["state"], plain["verification_strategy"]) == ("pending", "dns")
    assert TOKEN.fullmatch(plain["verification_token"])
    assert plain["verification_prefix"]
    verified = domains["verified.com"]
    assert (verified["state"], verified["verification_strategy"]) == ("verified", "manual")
    assert not {"verification_token", "verification_prefix"} & set(verified)
    assert domains["legacy.com"]["state"] == "legacy_verified"
    assert domains["pinned.com"]["id"] == DOMAIN_ID
    assert domains["pinned.com"]["verification_token"] == "A" * 25
    assert domains["failed.com"]["state"] == "failed"
    assert domains["failed.com"]["verification_prefix"] == "acme-domain-verification-abc"
    # Seeded domains behave like any other: the pending ones verify, the filter finds them.
    emulator.publish_dns_record(plain["id"])
    async with http.post(f"/organization_domains/{plain['id']}/verify") as response:
        assert response.status == 201
        assert (await response.json())["state"] == "verified"
    found = await get_json(http, "/organizations", domains="pinned.com")
    assert [o["id"] for o in found["data"]] == [ACME_ID]


async def test_an_organization_as_returned_reseeds_identically(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {
        "name": "Round Trip",
        "external_id": "round-trip",
        "metadata": {"tier": "gold", "region": "eu"},
        "allow_profiles_outside_organization": False,
        "domain_data": [{"domain": "pending.com", "state": "pending"}, {"domain": "verified.com", "state": "verified"}],
    }
    async with http.post("/organizations", json=body) as response:
        assert response.status == 201
        created = await response.json()
    async with http.put(f"/organizations/{created['id']}", json={"stripe_customer_id": "cus_123"}) as response:
        assert response.status == 200
    original = await get_json(http, f"/organizations/{created['id']}")
    async with http.post(f"/organization_domains/{original['domains'][0]['id']}/verify") as response:
        assert response.status == 201
    original = await get_json(http, f"/organizations/{created['id']}")
    emulator.reset()
    assert await listed(http) == []
    assert emulator.seed([original]) == [original]
    assert await get_json(http, f"/organizations/{original['id']}") == original
    for domain in original["domains"]:
        assert await get_json(http, f"/organization_domains/{domain['id']}") == domain


async def test_a_whole_list_page_reseeds_identically(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    for number in range(3):
        async with http.post(
            "/organizations",
            json={"name": f"Org {number}", "domain_data": [{"domain": f"o{number}.com", "state": "pending"}]},
        ) as response:
            assert response.status == 201
    before = await get_json(http, "/organizations", order="asc")
    emulator.reset()
    emulator.seed(before["data"])
    assert await get_json(http, "/organizations", order="asc") == before


# Bad seeds: refused whole, naming the entry.


GOOD = {"name": "Good", "external_id": "good"}

BAD_SEEDS = {
    "missing name": ([GOOD, {"external_id": "x"}], r"organizations\[1\].*name"),
    "empty name": ([GOOD, {"name": ""}], r"organizations\[1\].*name"),
    "name not a string": ([GOOD, {"name": 5}], r"organizations\[1\].*name"),
    "entry not an object": ([GOOD, "Acme"], r"organizations\[1\]"),
    "invalid pinned id": ([GOOD, {"name": "B", "id": "org_123"}], r"organizations\[1\]\.id"),
    "domain id as organization id": ([GOOD, {"name": "B", "id": DOMAIN_ID}], r"organizations\[1\]\.id"),
    "duplicate pinned id": (
        [{"id": ACME_ID, "name": "A"}, {"id": ACME_ID, "name": "B"}],
        r"organizations\[1\]\.id.*" + ACME_ID,
    ),
    "duplicate external_id": ([GOOD, {"name": "B", "external_id": "good"}], r"organizations\[1\].*external_id"),
    "duplicate stripe_customer_id": (
        [{"name": "A", "stripe_customer_id": "cus_1"}, {"name": "B", "stripe_customer_id": "cus_1"}],
        r"organizations\[1\].*stripe_customer_id",
    ),
    "domain listed twice": (
        [GOOD, {"name": "B", "domains": ["b.com", {"domain": "b.com", "state": "verified"}]}],
        r"organizations\[1\]\.domains\[1\].*b\.com",
    ),
    "bad domain state": (
        [GOOD, {"name": "B", "domains": [{"domain": "b.com", "state": "sideways"}]}],
        r"organizations\[1\]\.domains\[0\]\.state",
    ),
    "invalid domain name": (
        [GOOD, {"name": "B", "domains": ["not a domain"]}],
        r"organizations\[1\]\.domains\[0\]",
    ),
    "consumer domain": ([GOOD, {"name": "B", "domains": ["gmail.com"]}], r"organizations\[1\]\.domains\[0\]"),
    "domain object without domain": (
        [GOOD, {"name": "B", "domains": [{"state": "verified"}]}],
        r"organizations\[1\]\.domains\[0\]",
    ),
    "domains not a list": ([GOOD, {"name": "B", "domains": "b.com"}], r"organizations\[1\]\.domains"),
    # A misspelt key was dropped without a word: the organization came without its external id.
    "unknown key": (
        [GOOD, {"name": "B", "extrenal_id": "b"}],
        r"organizations\[1\] has a key a seed entry does not take: 'extrenal_id' \(it takes allow_profiles",
    ),
    "unknown domain key": (
        [GOOD, {"name": "B", "domains": [{"domain": "b.com", "sate": "verified"}]}],
        r"organizations\[1\]\.domains\[0\] has a key a seed domain does not take: 'sate'",
    ),
    "metadata not an object": ([GOOD, {"name": "B", "metadata": ["x"]}], r"organizations\[1\].*metadata"),
    "metadata over the limit": (
        [GOOD, {"name": "B", "metadata": {f"k{n}": "v" for n in range(51)}}],
        r"organizations\[1\].*[Mm]etadata",
    ),
    "external_id too long": ([GOOD, {"name": "B", "external_id": "x" * 129}], r"organizations\[1\].*external_id"),
    "created_at not a timestamp": (
        [GOOD, {"name": "B", "created_at": "yesterday"}],
        r"organizations\[1\].*created_at",
    ),
    "created_at a number": ([GOOD, {"name": "B", "created_at": 1700000000}], r"organizations\[1\].*created_at"),
    "domain updated_at not a timestamp": (
        [GOOD, {"name": "B", "domains": [{"domain": "b.com", "updated_at": "2024-13-45"}]}],
        r"organizations\[1\]\.domains\[0\].*updated_at",
    ),
    "bad pinned domain id": (
        [GOOD, {"name": "B", "domains": [{"domain": "b.com", "id": "org_domain_x"}]}],
        r"organizations\[1\]\.domains\[0\]\.id",
    ),
}


@pytest.mark.parametrize(("entries", "pattern"), BAD_SEEDS.values(), ids=BAD_SEEDS.keys())
async def test_bad_entry_is_refused_whole_with_a_message_naming_it(
    emulator: Emulator, http: aiohttp.ClientSession, entries: list[Any], pattern: str
) -> None:
    existing = emulator.seed([{"name": "Already here", "external_id": "already"}])
    with pytest.raises(SeedError, match=pattern):
        emulator.seed({"organizations": entries})
    # Nothing from the bad seed was stored; what was there stays.
    assert await listed(http) == existing
    # And the emulator still takes a good seed afterwards.
    emulator.seed([GOOD])
    assert [o["name"] for o in await listed(http)] == ["Already here", "Good"]


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ({"name": "Clash", "id": ACME_ID}, r"organizations\[0\]\.id " + ACME_ID + " is already taken"),
        ({"name": "Clash", "external_id": "acme"}, r"organizations\[0\].*external_id 'acme' is already used"),
        (
            {"name": "Clash", "domains": [{"domain": "x.com", "id": DOMAIN_ID}]},
            r"organizations\[0\]\.domains\[0\]\.id " + DOMAIN_ID + " is already taken",
        ),
    ],
)
async def test_seed_clashing_with_stored_data_is_refused(
    emulator: Emulator, http: aiohttp.ClientSession, entry: dict[str, Any], pattern: str
) -> None:
    existing = emulator.seed(
        [{"id": ACME_ID, "name": "Acme", "external_id": "acme", "domains": [{"domain": "acme.com", "id": DOMAIN_ID}]}]
    )
    with pytest.raises(SeedError, match=pattern):
        emulator.seed([entry])
    assert await listed(http) == existing


@pytest.mark.parametrize("data", [{"orgs": []}, 42, True, {"organizations": {"name": "Acme"}}, None])
async def test_seed_data_of_the_wrong_shape(emulator: Emulator, data: Any) -> None:
    with pytest.raises(SeedError, match="organizations"):
        emulator.seed(data)


def test_seed_error_is_a_value_error() -> None:
    assert issubclass(SeedError, ValueError)


# Seed files that cannot be used.

LOADERS: dict[str, Callable[[Emulator, Path], object]] = {
    "constructor": lambda _, path: Emulator(seed=path),
    "method": lambda emulator, path: emulator.seed(str(path)),
}


@pytest.mark.parametrize("through", LOADERS)
async def test_seed_file_that_is_not_json(emulator: Emulator, tmp_path: Path, through: str) -> None:
    path = tmp_path / "seed.json"
    path.write_text("organizations:\n  - name: Acme\n")
    with pytest.raises(SeedError, match=r"not valid JSON") as caught:
        LOADERS[through](emulator, path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("through", LOADERS)
async def test_seed_file_that_does_not_exist(emulator: Emulator, tmp_path: Path, through: str) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(SeedError, match=r"Cannot read seed file") as caught:
        LOADERS[through](emulator, path)
    assert str(path) in str(caught.value)


async def test_seed_file_with_a_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"organizations": [{"name": "Fine"}, {"name": "Dup", "id": "nope"}]}))
    with pytest.raises(SeedError, match=r"organizations\[1\]\.id"):
        Emulator(seed=path)


# What `seed` takes: a mapping, a list, JSON text, or a path.


async def test_seed_takes_json_text_and_does_not_mistake_it_for_a_path(emulator: Emulator) -> None:
    [seeded] = emulator.seed('{"organizations": [{"name": "From Text"}]}')
    assert seeded["name"] == "From Text"
    [listed] = emulator.seed('  [{"name": "From A List"}]')
    assert listed["name"] == "From A List"
    with pytest.raises(SeedError, match="not valid JSON"):
        emulator.seed('{"organizations": [')


async def test_seed_takes_any_mapping(emulator: Emulator) -> None:
    data = MappingProxyType({"organizations": [{"name": "Proxied"}]})
    assert [organization["name"] for organization in emulator.seed(data)] == ["Proxied"]


async def test_seed_takes_a_path_as_a_string_or_a_path(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text('{"organizations": [{"name": "From File"}]}')
    assert [o["name"] for o in emulator.seed(path)] == ["From File"]
    assert [o["name"] for o in emulator.seed(str(path))] == ["From File"]


async def test_domains_given_as_the_create_body_names_them(emulator: Emulator) -> None:
    # A seed entry takes the create body's fields: domain_data was silently ignored.
    (seeded,) = emulator.seed(
        [{"name": "Acme", "domain_data": [{"domain": "acme.com", "state": "verified"}, {"domain": "acme.dev"}]}]
    )
    assert [(d["domain"], d["state"]) for d in seeded["domains"]] == [("acme.com", "verified"), ("acme.dev", "pending")]
    with pytest.raises(SeedError, match=r"organizations\[0\]: give domains or domain_data, not both"):
        emulator.seed([{"name": "Both", "domains": ["a.com"], "domain_data": [{"domain": "b.com"}]}])
