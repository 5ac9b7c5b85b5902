"""Whatever a caller passes, and whatever status comes back, a call ends with a `WorkOSError`.

Bad arguments raise `InvalidArgumentError` before anything is sent -- never ``ValueError``,
``TypeError`` or ``UnicodeEncodeError``, and nothing is silently dropped from them.  A status
that is not a success (a redirect among them) is an error, never taken for one.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from workos_orgs import APIStatusError, AsyncWorkOS, InvalidArgumentError, OrganizationRecord, SyncEvent
from workos_orgs.emulator import Emulator

from .conftest import FAST

Call = Callable[[AsyncWorkOS, str], Awaitable[Any]]


@pytest.fixture
async def once(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    async with AsyncWorkOS(
        api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=30, max_retries=0
    ) as client:
        yield client


async def walk(client: AsyncWorkOS, **query: Any) -> list[Any]:
    return [organization async for organization in client.organizations.list(**query)]


BAD_CALLS: dict[str, Call] = {
    "CR/LF in an extra header's value": lambda c, org: c.organizations.get(
        org, extra_headers={"X-Trace": "a\r\nX-Injected: 1"}
    ),
    "LF in an extra header's name": lambda c, org: c.organizations.get(org, extra_headers={"X-Trace\nX-B": "a"}),
    "a colon in an extra header's name": lambda c, org: c.organizations.get(org, extra_headers={"X-A: b": "a"}),
    "a non-string extra header value": lambda c, org: c.organizations.get(org, extra_headers={"X-Count": 5}),
    "a non-string extra header name": lambda c, org: c.organizations.get(org, extra_headers={5: "a"}),
    "extra headers as a string, not a mapping": lambda c, org: c.organizations.get(org, extra_headers="X-A: b"),
    "extra headers as pairs, not a mapping": lambda c, org: c.organizations.get(org, extra_headers=[("X-A", "b")]),
    "a lone surrogate in an extra header": lambda c, org: c.organizations.get(org, extra_headers={"X-A": "\udcff"}),
    "CR/LF in the idempotency key": lambda c, org: c.organizations.create(name="A", idempotency_key="k\r\nX-B: 1"),
    "a NUL in the idempotency key": lambda c, org: c.organizations.create(name="A", idempotency_key="k\0"),
    "a lone surrogate in an id": lambda c, org: c.organizations.get("org_\udcff"),
    "a lone surrogate in an id to delete": lambda c, org: c.organizations.delete("org_\ud800"),
    "a lone surrogate in an external id": lambda c, org: c.organizations.get_by_external_id("ext\udcff"),
    "a lone surrogate in a name": lambda c, org: c.organizations.create(name="Ac\udcffme"),
    "a lone surrogate in an update's name": lambda c, org: c.organizations.update(org, name="Ac\udcffme"),
    "a lone surrogate in metadata": lambda c, org: c.organizations.update(org, metadata={"tier": "g\udcff"}),
    "a lone surrogate in a metadata key": lambda c, org: c.organizations.update(org, metadata={"t\udcff": "g"}),
    "a lone surrogate in a domain to add": lambda c, org: c.organization_domains.create(
        organization_id=org, domain="evil\udcff.com"
    ),
    "a lone surrogate in search": lambda c, org: walk(c, search="Ac\udcffme"),
    "a lone surrogate in domains": lambda c, org: walk(c, domains=["evil\udcff.com"]),
    "an int metadata value": lambda c, org: c.organizations.create(name="A", metadata={"tier": 5}),
    "a list metadata value": lambda c, org: c.organizations.update(org, metadata={"tier": ["gold"]}),
    "a non-string metadata key": lambda c, org: c.organizations.update(org, metadata={5: "gold"}),
    # An option no call takes: Python's TypeError named BaseClient._request, not the method.
    "an unknown option to get": lambda c, org: c.organizations.get(org, bogus=1),
    "an unknown option to update": lambda c, org: c.organizations.update(org, name="B", time_out=3),
    "an unknown option to delete": lambda c, org: c.organization_domains.delete("org_domain_x", retries=1),
    "an unknown option to list": lambda c, org: walk(c, timeuot=3),
    # Types the API would refuse, or would be sent as something else: refused here, naming the fix.
    "an int external id to create": lambda c, org: c.organizations.create(name="A", external_id=5),
    "a bytes external id to create": lambda c, org: c.organizations.create(name="A", external_id=b"x"),
    "a blank external id to create": lambda c, org: c.organizations.create(name="A", external_id="  "),
    "an empty external id to update": lambda c, org: c.organizations.update(org, external_id=""),
    "a bytes stripe customer id": lambda c, org: c.organizations.update(org, stripe_customer_id=b"cus"),
    "a blank stripe customer id": lambda c, org: c.organizations.update(org, stripe_customer_id=" "),
    "a string allow_profiles": lambda c, org: c.organizations.create(
        name="A", allow_profiles_outside_organization="yes"
    ),
    "a None allow_profiles": lambda c, org: c.organizations.update(org, allow_profiles_outside_organization=None),
    "domains as a number": lambda c, org: walk(c, domains=5),
    "domains as bytes": lambda c, org: walk(c, domains=b"acme.com"),
    "a None among domains": lambda c, org: walk(c, domains=[None]),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
async def test_a_bad_argument_is_an_invalid_argument_error_and_nothing_is_sent(
    once: AsyncWorkOS, emulator: Emulator, case: str
) -> None:
    (row,) = emulator.seed([{"name": "Acme", "metadata": {"tier": "gold"}}])
    with pytest.raises(InvalidArgumentError) as caught:
        await BAD_CALLS[case](once, row["id"])
    assert caught.value.__cause__ is None or isinstance(caught.value.__cause__, InvalidArgumentError)
    assert emulator.requests == []
    assert "\r" not in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("call", "example"),
    [
        (lambda c: c.organizations.get_by_external_id(42), "str(customer.id)"),
        (lambda c: c.organizations.create(name="A", external_id=42), "str(customer.id)"),
        (lambda c: c.organization_domains.get(123), "'org_domain_01H...'"),
        (lambda c: c.organizations.get(123), "'org_01H...'"),
        (lambda c: walk(c, domains=[5]), "'acme.com'"),
        (lambda c: walk(c, domains=5), "['acme.com']"),
        (lambda c: walk(c, domains=b"acme.com"), "got bytes"),
    ],
)
async def test_a_wrong_type_is_named_with_an_example_of_the_right_one(
    once: AsyncWorkOS, call: Callable[[AsyncWorkOS], Awaitable[Any]], example: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await call(once)
    assert example in str(caught.value)


async def test_clearing_an_external_id_takes_none(once: AsyncWorkOS, emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme", "external_id": "acme-1"}])
    with pytest.raises(InvalidArgumentError, match="pass None to clear it"):
        await once.organizations.update(row["id"], external_id="")
    assert (await once.organizations.update(row["id"], external_id=None)).external_id is None


async def test_metadata_may_still_remove_a_key_with_none(once: AsyncWorkOS, emulator: Emulator) -> None:
    (row,) = emulator.seed([{"name": "Acme", "metadata": {"tier": "gold", "region": "eu"}}])
    updated = await once.organizations.update(row["id"], metadata={"tier": None})
    assert dict(updated.metadata) == {"region": "eu"}


async def test_valid_unicode_everywhere_still_goes_through(once: AsyncWorkOS, emulator: Emulator) -> None:
    created = await once.organizations.create(
        name="Ærø 🏢", metadata={"città": "Zürich 🇨🇭"}, extra_headers={"X-Note": "tab\tok"}, idempotency_key="k-1"
    )
    assert (created.name, dict(created.metadata)) == ("Ærø 🏢", {"città": "Zürich 🇨🇭"})
    assert [organization.id for organization in await walk(once, search="Ærø")] == [created.id]


# Statuses that are not a success.


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 307, 308])
@pytest.mark.parametrize("which", ["organization", "domain"])
async def test_a_redirected_delete_is_an_error_and_deletes_nothing(
    once: AsyncWorkOS, emulator: Emulator, status: int, which: str
) -> None:
    (row,) = emulator.seed([{"name": "Acme", "domains": ["acme.com"]}])
    organization = await once.organizations.get(row["id"])
    emulator.inject_fault(method="DELETE", status=status, body="")
    delete = (
        once.organizations.delete(organization.id)
        if which == "organization"
        else once.organization_domains.delete(organization.domains[0].id)
    )
    with pytest.raises(APIStatusError) as caught:
        await delete
    assert caught.value.status_code == status
    assert "redirect" in caught.value.message.lower() or str(status) in caught.value.message
    assert caught.value.outcome_unknown is False
    assert (await once.organizations.get(row["id"])).domains == organization.domains  # still there


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_a_redirect_carrying_an_organization_is_not_taken_for_it(
    once: AsyncWorkOS, emulator: Emulator, status: int
) -> None:
    (row,) = emulator.seed([{"name": "Acme"}])
    emulator.inject_fault(method="GET", status=status, body=row)
    with pytest.raises(APIStatusError) as caught:
        await once.organizations.get(row["id"])
    assert caught.value.status_code == status
    emulator.inject_fault(method="DELETE", status=status)
    with pytest.raises(APIStatusError):
        await once.organizations.with_raw_response.delete(row["id"])
    assert (await once.organizations.get(row["id"])).id == row["id"]


async def test_an_unknown_option_names_itself_and_the_options_there_are(once: AsyncWorkOS) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        await once.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", time_out=3)  # type: ignore[call-arg]
    message = str(caught.value)
    assert "time_out" in message
    assert "timeout, attempt_timeout, max_retries, extra_headers" in message
    assert "_request" not in message


class _Key(enum.StrEnum):
    TIER = "tier"


class _Text(str):
    """A str subclass, as some ORMs and enum libraries hand out."""


async def test_metadata_keys_that_are_str_subclasses_are_sent_as_their_text(once: AsyncWorkOS) -> None:
    # orjson takes only exact str keys: a StrEnum key raised a bare TypeError from create and
    # update, and out of sync, which lost its report.
    created = await once.organizations.create(name="B", metadata={_Key.TIER: "gold", _Text("plan"): _Text("pro")})
    assert dict(created.metadata) == {"tier": "gold", "plan": "pro"}
    updated = await once.organizations.update(created.id, metadata={_Key.TIER: "silver"})
    assert dict(updated.metadata) == {"tier": "silver", "plan": "pro"}
    report = await once.organizations.sync([{"external_id": "x1", "name": "X", "metadata": {_Key.TIER: "gold"}}])
    assert (report.created, report.failed) == (1, 0)
    assert dict((await once.organizations.get_by_external_id("x1")).metadata) == {"tier": "gold"}


class _MixedKey(str, enum.Enum):  # noqa: UP042  # the old spelling is what is tested
    """An enum mixed with str (before StrEnum), whose format() is its name on Python 3.11."""

    TIER = "tier"


async def test_a_sync_names_a_str_subclass_metadata_key_by_its_text(once: AsyncWorkOS) -> None:
    # The change was named "metadata._MixedKey.TIER", though "tier" was sent.
    events: list[SyncEvent] = []
    report = await once.organizations.sync(
        [OrganizationRecord("x1", "X", metadata={_MixedKey.TIER: _Text("gold")})], on_event=events.append
    )
    assert report.created == 1
    assert [(change.field, change.new) for change in events[0].changes if change.field.startswith("metadata")] == [
        ("metadata.tier", "gold")
    ]
    assert {type(key) for key in OrganizationRecord("x", "X", metadata={_MixedKey.TIER: "a"}).metadata} == {str}


class _Distinct(str):
    """A str subclass whose keys with the same text stay distinct in a dict."""

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def test_a_record_whose_metadata_keys_share_their_text_is_refused() -> None:
    # Made plain str, the two keys became one, and the last value won without a word.
    with pytest.raises(InvalidArgumentError, match="metadata names 'tier' more than once"):
        OrganizationRecord("x", "X", metadata={_Distinct("tier"): "a", _Distinct("tier"): "b"})
