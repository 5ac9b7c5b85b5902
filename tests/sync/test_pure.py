"""The pure parts of bulk sync: what differs, how fast to go, how progress reads."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from workos_orgs import (
    ConfigurationError,
    DomainData,
    DomainState,
    Organization,
    OrganizationDomain,
    OrganizationRecord,
    RateLimiter,
)
from workos_orgs._bulk import plan_update
from workos_orgs._throttle import TokenBucket, bucket_for
from workos_orgs.cli._progress import Progress, render

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


def organization(name: str = "Acme", metadata: dict[str, str] | None = None, **domains: str) -> Organization:
    return Organization(
        id="org_01EHWNCE74X7JSDV0X3SZ3KJNY",
        name=name,
        domains=tuple(
            OrganizationDomain(f"org_domain_{n}", "org_x", domain.replace("_", "."), NOW, NOW, DomainState(state))
            for n, (domain, state) in enumerate(domains.items())
        ),
        metadata=metadata or {},
        external_id="acme",
        created_at=NOW,
        updated_at=NOW,
    )


def test_an_equal_record_plans_nothing() -> None:
    record = OrganizationRecord("acme", "Acme", ["acme.com"], {"tier": "gold"})
    assert plan_update(record, organization(metadata={"tier": "gold"}, acme_com="pending")) == {}


def test_name_and_metadata_changes_spell_out_removed_keys() -> None:
    record = OrganizationRecord("acme", "Acme Corp", metadata={"tier": "gold"})
    plan = plan_update(record, organization(metadata={"tier": "silver", "old": "x"}))
    assert plan == {"name": "Acme Corp", "metadata": {"old": None, "tier": "gold"}}


def test_domain_set_changes_replace_the_set_keeping_verified_states() -> None:
    record = OrganizationRecord("acme", "Acme", ["acme.com", "ACME.dev"])
    plan = plan_update(record, organization(acme_com="verified", acme_io="pending"))
    assert plan == {
        "domain_data": [DomainData("acme.com", DomainState.VERIFIED), DomainData("acme.dev", DomainState.PENDING)]
    }


@pytest.mark.parametrize(
    ("wanted", "current", "changes"),
    [
        (DomainState.PENDING, "verified", False),  # never downgrade
        (DomainState.PENDING, "failed", False),
        (DomainState.VERIFIED, "legacy_verified", False),
        (DomainState.VERIFIED, "pending", True),  # upgrade on request
    ],
)
def test_domain_state_rules(wanted: DomainState, current: str, changes: bool) -> None:
    record = OrganizationRecord("acme", "Acme", [DomainData("acme.com", wanted)])
    assert bool(plan_update(record, organization(acme_com=current))) is changes


def test_records_from_mappings_say_what_is_wrong() -> None:
    record = OrganizationRecord.from_mapping({"external_id": "a", "name": "A", "domains": ["a.com"], "metadata": {}})
    assert record.domains == (DomainData("a.com"),)
    for bad, message in [
        ({"name": "A"}, "external_id is required"),
        ({"external_id": "a", "name": " "}, "name is required"),
        ({"external_id": "a", "name": "A", "domains": "a.com"}, "domains must be a list"),
        ({"external_id": "a", "name": "A", "metadata": {"n": 1}}, "metadata must map strings to strings"),
        ({"external_id": "a", "name": "A", "domains": [7]}, "each domain must be a name"),
        # A misspelt key was dropped, and the domain made pending.
        (
            {"external_id": "a", "name": "A", "domains": [{"domain": "a.com", "sate": "verified"}]},
            "each domain has a key the API does not take: 'sate'",
        ),
    ]:
        with pytest.raises(ValueError, match=message):
            OrganizationRecord.from_mapping(bad)


def test_a_record_with_metadata_hashes_as_an_organization_does() -> None:
    # A frozen record promised a hash, and raised TypeError: unhashable type: 'dict'.
    record = OrganizationRecord("a", "A", metadata={"k": "v"})
    assert hash(record) == hash(OrganizationRecord("a", "A", metadata={"k": "other"}))
    assert record != OrganizationRecord("a", "A", metadata={"k": "other"})
    assert {record, OrganizationRecord("a", "A", metadata={"k": "v"})} == {record}


def test_token_bucket_queues_callers_in_order() -> None:
    bucket = TokenBucket(rate=10.0, capacity=2.0)
    assert [bucket.reserve(0.0) for _ in range(4)] == [0.0, 0.0, pytest.approx(0.1), pytest.approx(0.2)]
    assert bucket.reserve(10.0) == 0.0  # refilled (to capacity, no more)
    assert bucket.reserve(10.0) == 0.0
    assert bucket.reserve(10.0) == pytest.approx(0.1)


@pytest.mark.parametrize(("limit", "burst"), [(6000, None), (50, 1), (600, 5)])
def test_no_window_ever_sees_more_than_the_allowed_share(limit: int, burst: float | None) -> None:
    bucket = bucket_for(limit, 60.0, headroom=0.9, burst=burst)
    times = sorted(bucket.reserve(0.0) for _ in range(limit * 3))
    busiest = max(
        sum(1 for moment in times if start <= moment < start + 60.0) for start in times[:: max(1, len(times) // 200)]
    )
    assert busiest <= 0.9 * limit


def test_progress_line_reads_well() -> None:
    assert render(1200, 5000, 2.0, "created 12", "synced") == "synced 1,200/5,000 (24%) · 600/s · ETA 0:06 · created 12"
    assert render(7, None, 0.0, label="exported") == "exported 7 · 0/s"


def test_progress_draws_on_a_terminal_only() -> None:
    ticks = iter(range(100))
    quiet, loud = io.StringIO(), io.StringIO()
    for stream, enabled in ((quiet, False), (loud, True)):
        progress = Progress(stream, label="synced", total=3, enabled=enabled, clock=lambda: float(next(ticks)))
        for _ in range(3):
            progress.advance()
        progress.finish("done")
    assert quiet.getvalue() == ""
    assert loud.getvalue().count("\r") == 4
    assert loud.getvalue().endswith("\r\x1b[Ksynced 3/3 (100%) · 1/s · ETA 0:00 · done\n")


@pytest.mark.parametrize(
    "settings",
    [{"headroom": 0}, {"headroom": 1.5}, {"requests_per_minute": 600, "burst": 600}, {"requests_per_minute": 0}],
)
def test_rate_limiter_settings_that_cannot_work_are_configuration_errors(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"requests_per_minute": "6000"}, "requests_per_minute"),
        ({"requests_per_minute": True}, "requests_per_minute"),
        ({"requests_per_minute": -5}, "requests_per_minute"),
        ({"requests_per_minute": math.nan}, "requests_per_minute"),
        ({"requests_per_minute": math.inf}, "requests_per_minute"),
        ({"organization_deletes_per_minute": 1}, "organization_deletes_per_minute"),
        ({"organization_deletes_per_minute": "50"}, "organization_deletes_per_minute"),
        ({"burst": math.nan}, "burst"),
        ({"requests_per_minute": 1, "burst": 0.5}, "burst"),
        ({"burst": "10"}, "burst"),
        ({"headroom": math.nan}, "headroom"),
        ({"headroom": "0.9"}, "headroom"),
    ],
)
def test_each_rate_limiter_setting_is_checked_and_named_in_the_error(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RateLimiter(**settings)
    assert str(caught.value).startswith(f"{named} ")
    assert repr(settings[named]) in str(caught.value)


def test_a_record_without_domains_or_metadata_plans_no_change_to_them() -> None:
    record = OrganizationRecord("acme", "Acme")
    assert plan_update(record, organization(metadata={"tier": "gold"}, acme_com="pending")) == {}
    cleared = OrganizationRecord("acme", "Acme", domains=[], metadata={})
    assert plan_update(cleared, organization(metadata={"tier": "gold"}, acme_com="pending")) == {
        "metadata": {"tier": None},
        "domain_data": [],
    }


def test_a_verified_domain_the_api_sent_in_capitals_stays_verified() -> None:
    # Compared by the name as the API stores it: "Acme.com" from the API is the record's
    # "acme.com", not a new pending domain in place of a verified one.
    plan = plan_update(OrganizationRecord("acme", "Acme", ["acme.com"]), organization(Acme_com="verified"))
    assert plan == {}


def test_metadata_changes_send_only_the_keys_that_change() -> None:
    record = OrganizationRecord("acme", "Acme", metadata={"tier": "gold", "region": "eu", "new": "1"})
    plan = plan_update(record, organization(metadata={"tier": "gold", "region": "us", "old": "x"}))
    assert plan == {"metadata": {"old": None, "region": "eu", "new": "1"}}
