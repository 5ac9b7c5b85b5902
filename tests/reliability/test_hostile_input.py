"""Hostile answers: whatever the server (or a proxy in front of it) sends, a call ends with a
model or a typed `WorkOSError` carrying the raw body (cut to a size), promptly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workos_orgs import (
    APIStatusError,
    AsyncWorkOS,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    Organization,
    PaginationError,
    ResponseValidationError,
    UnprocessableEntityError,
    WorkOSError,
)
from workos_orgs._errors import BODY_MAX_CHARS, BODY_PREVIEW_CHARS
from workos_orgs._response import MAX_RESPONSE_BYTES
from workos_orgs.emulator import Emulator

from .conftest import FAST

ORG_ID = "org_01ARZ3NDEKTSV4RRFFQ69G5FAV"
ORGANIZATION = {
    "object": "organization",
    "id": ORG_ID,
    "name": "Acme",
    "domains": [],
    "metadata": {},
    "external_id": None,
    "created_at": "2026-01-15T12:00:00.000Z",
    "updated_at": "2026-01-15T12:00:00.000Z",
}
"""The smallest organization a response may carry, as the API writes it (copy before changing)."""
PROXY_502 = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
# Room for the "cut at" note.
KEPT_MAX = BODY_MAX_CHARS + 100


@pytest.fixture
async def once(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    """A client that never retries, so one injected answer is the whole story."""
    async with AsyncWorkOS(
        api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=30, max_retries=0
    ) as client:
        yield client


def organization_json(emulator: Emulator) -> dict[str, Any]:
    (row,) = emulator.seed([{"name": "Acme", "external_id": "acme-1", "metadata": {"tier": "gold"}}])
    return row


async def test_a_proxys_html_502_is_an_internal_server_error_with_the_page(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.inject_fault(path="/organizations/*", status=502, body=PROXY_502, times=3)
    with pytest.raises(InternalServerError) as caught:
        await client.organizations.get(ORG_ID)
    error = caught.value
    assert (error.status_code, error.code, error.body, error.json) == (502, None, PROXY_502, None)
    assert error.message == PROXY_502[:200]
    assert error.headers["Content-Type"].startswith("text/html")
    assert error.attempts == 3


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, BadRequestError), (404, NotFoundError), (422, UnprocessableEntityError), (500, InternalServerError)],
)
@pytest.mark.parametrize("body", ['{"message": "trunc', "not json at all", "", "[1, 2", '{"errors": 5}'])
async def test_broken_json_on_an_error_status_is_still_the_typed_error(
    once: AsyncWorkOS, emulator: Emulator, status: int, error_class: type[APIStatusError], body: str
) -> None:
    emulator.inject_fault(path="/organizations/*", status=status, body=body, content_type="application/json")
    with pytest.raises(error_class) as caught:
        await once.organizations.get(ORG_ID)
    assert caught.value.body == body
    assert caught.value.errors == ()
    assert caught.value.message == (body.strip()[:200] or f"HTTP {status} with an empty body")


@pytest.mark.parametrize(
    "body",
    [
        '{"object": "organization", "id": "org_01ARZ3',  # truncated
        "{'object': 'organization'}",  # not JSON
        "",
        "<html><body>Maintenance</body></html>",
        "null",
        "[]",
        '"Accepted"',
        "1e999",
    ],
)
async def test_a_200_that_is_not_an_organization_is_a_response_validation_error(
    once: AsyncWorkOS, emulator: Emulator, body: str
) -> None:
    emulator.inject_fault(path="/organizations/*", status=200, body=body, content_type="application/json")
    with pytest.raises(ResponseValidationError) as caught:
        await once.organizations.get(ORG_ID)
    assert (caught.value.status_code, caught.value.body) == (200, body)
    assert caught.value.request_id  # the emulator's X-Request-ID, to report it


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"id": None}, "id"),
        ({"name": 42}, ""),
        ({"domains": "acme.com"}, ""),
        ({"domains": [None]}, ""),
        ({"metadata": ["tier"]}, ""),
        ({"created_at": 5}, ""),
        ({"created_at": "yesterday"}, ""),
        ({"updated_at": None}, ""),
    ],
)
async def test_mistyped_fields_in_a_200_are_a_response_validation_error(
    once: AsyncWorkOS, emulator: Emulator, change: dict[str, Any], detail: str
) -> None:
    body = {**organization_json(emulator), **change}
    emulator.inject_fault(path="/organizations/*", status=200, body=body)
    with pytest.raises(ResponseValidationError) as caught:
        await once.organizations.get(ORG_ID)
    assert orjson.loads(caught.value.body) == body
    assert detail in caught.value.message


@pytest.mark.parametrize("missing", ["id", "name", "created_at", "updated_at"])
async def test_a_missing_field_in_a_200_is_named(once: AsyncWorkOS, emulator: Emulator, missing: str) -> None:
    body = organization_json(emulator)
    del body[missing]
    emulator.inject_fault(path="/organizations/*", status=200, body=body)
    with pytest.raises(ResponseValidationError, match=missing):
        await once.organizations.get(ORG_ID)


async def test_a_valid_organization_under_the_wrong_content_type_is_accepted(
    once: AsyncWorkOS, emulator: Emulator
) -> None:
    # The body decides, not the label: JSON that fits the model is the model.
    body = organization_json(emulator)
    emulator.inject_fault(
        path="/organizations/*", status=200, body=orjson.dumps(body).decode(), content_type="text/html"
    )
    organization = await once.organizations.get(ORG_ID)
    assert (organization.id, organization.metadata) == (body["id"], {"tier": "gold"})


@pytest.mark.parametrize(
    "page",
    [
        None,
        [],
        {"object": "list"},
        {"object": "list", "data": None},
        {"object": "list", "data": {"id": "org_1"}},
        {"object": "list", "data": [None]},
        {"object": "list", "data": [[]], "list_metadata": {}},
        {"object": "list", "data": [], "list_metadata": []},
        {"object": "list", "data": [], "list_metadata": {"after": 7}},
    ],
)
async def test_a_list_page_that_does_not_fit_is_a_response_validation_error(
    once: AsyncWorkOS, emulator: Emulator, page: Any
) -> None:
    text = orjson.dumps(page).decode()
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=text, content_type="application/json")
    with pytest.raises(ResponseValidationError) as caught:
        [organization async for organization in once.organizations.list()]
    assert orjson.loads(caught.value.body) == page


async def test_a_cursor_that_never_advances_stops_with_pagination_error(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    rows = emulator.seed([{"name": "A"}, {"name": "B"}])
    stuck = {"object": "list", "data": rows[:1], "list_metadata": {"before": None, "after": rows[0]["id"]}}
    emulator.inject_fault(method="GET", path="/organizations", status=200, body=stuck, times=50)
    async with asyncio.timeout(30):
        with pytest.raises(PaginationError):
            [organization async for organization in client.organizations.list(limit=1)]
    assert len(emulator.requests) <= 3


async def test_a_cursor_that_cycles_stops_with_pagination_error(client: AsyncWorkOS, emulator: Emulator) -> None:
    a, b = emulator.seed([{"name": "A"}, {"name": "B"}])
    to_b = {"object": "list", "data": [a], "list_metadata": {"before": None, "after": b["id"]}}
    to_a = {"object": "list", "data": [b], "list_metadata": {"before": None, "after": a["id"]}}
    for _ in range(10):
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=to_b)
        emulator.inject_fault(method="GET", path="/organizations", status=200, body=to_a)
    seen: list[str] = []

    async def walk() -> None:
        async with asyncio.timeout(30):
            async for organization in client.organizations.list(limit=1):
                seen.append(organization.id)

    with pytest.raises(PaginationError):
        await walk()
    assert seen == [a["id"], b["id"]]


async def test_a_huge_error_body_is_kept_only_in_part(client: AsyncWorkOS, emulator: Emulator) -> None:
    huge = "<html>" + "x" * 5_000_000 + "</html>"
    emulator.inject_fault(path="/organizations/*", status=503, body=huge, times=3)
    with pytest.raises(InternalServerError) as caught:
        await client.organizations.get(ORG_ID)
    error = caught.value
    assert error.body.startswith("<html>xxx")
    assert len(error.body) <= KEPT_MAX
    assert "cut at" in error.body
    assert len(str(error)) < 1_000
    assert len(repr(error)) < BODY_PREVIEW_CHARS + 500


async def test_a_huge_json_error_keeps_its_code_but_not_the_whole_json(once: AsyncWorkOS, emulator: Emulator) -> None:
    body = {"code": "invalid_metadata", "message": "too big", "padding": "y" * 3_000_000}
    emulator.inject_fault(method="POST", path="/organizations", status=400, body=body)
    with pytest.raises(BadRequestError) as caught:
        await once.organizations.create(name="Acme")
    assert (caught.value.code, caught.value.message, caught.value.json) == ("invalid_metadata", "too big", None)
    assert len(caught.value.body) <= KEPT_MAX


async def test_a_huge_200_is_a_response_validation_error(once: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations/*", status=200, body="[" + "1," * 3_000_000 + "1]")
    with pytest.raises(ResponseValidationError) as caught:
        await once.organizations.get(ORG_ID)
    assert caught.value.body.startswith("[1,1,")
    assert len(caught.value.body) <= KEPT_MAX


async def test_an_answer_over_the_read_limit_is_cut_off_and_not_parsed(once: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations/*", status=200, body="z" * (MAX_RESPONSE_BYTES + 10))
    with pytest.raises(ResponseValidationError, match="larger than") as caught:
        await once.organizations.get(ORG_ID)
    assert len(caught.value.body) <= KEPT_MAX
    (row,) = emulator.seed([{"name": "Next"}])
    assert (await once.organizations.get(row["id"])).name == "Next"  # the client goes on


# The property: any answer at all gives a model or a typed error.

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
TEXT_BODIES = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
ORGANIZATION_KEYS = ["object", "id", "name", "domains", "metadata", "external_id", "created_at", "updated_at"]
STATUSES = st.sampled_from(
    [200, 201, 202, 204, 301, 302, 304, 307, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503]
)
CONTENT_TYPES = st.sampled_from([None, "application/json", "text/html", "text/plain", "application/octet-stream"])
CALLS: dict[str, Callable[[AsyncWorkOS], Awaitable[Any]]] = {
    "get": lambda client: client.organizations.get(ORG_ID),
    "get_by_external_id": lambda client: client.organizations.get_by_external_id("acme-1"),
    "create": lambda client: client.organizations.create(name="Acme", external_id="acme-1"),
    "update": lambda client: client.organizations.update(ORG_ID, name="Acme"),
    "list": lambda client: _walk(client),
    "first_page": lambda client: _first_page(client),
    "domain": lambda client: client.organization_domains.get("org_domain_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    "delete": lambda client: client.organizations.delete(ORG_ID),
}


async def _walk(client: AsyncWorkOS) -> list[Organization]:
    return [organization async for organization in client.organizations.list(limit=5)]


async def _first_page(client: AsyncWorkOS) -> list[Organization]:
    return list((await client.organizations.list(limit=5)).data)


@st.composite
def near_organizations(draw: st.DrawFn) -> Any:
    """A real organization with some fields dropped or replaced by arbitrary JSON."""
    body: dict[str, Any] = dict(ORGANIZATION)
    for key in draw(st.lists(st.sampled_from(ORGANIZATION_KEYS), max_size=3, unique=True)):
        if draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(JSON_VALUES)
    if draw(st.booleans()):
        return {"object": "list", "data": [body], "list_metadata": draw(JSON_VALUES)}
    return body


async def answer_with(client: AsyncWorkOS, call: str) -> Any:
    async with asyncio.timeout(30):
        try:
            return await CALLS[call](client)
        except WorkOSError as error:
            return error


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    call=st.sampled_from(sorted(CALLS)),
    status=STATUSES,
    body=JSON_VALUES | near_organizations() | TEXT_BODIES,
    content_type=CONTENT_TYPES,
)
async def test_any_answer_gives_a_model_or_a_typed_error(
    once: AsyncWorkOS, emulator: Emulator, call: str, status: int, body: Any, content_type: str | None
) -> None:
    emulator.clear_faults()
    emulator.inject_fault(status=status, body=body, content_type=content_type)
    result = await answer_with(once, call)
    if isinstance(result, APIStatusError):
        assert result.status_code == status
        assert not 200 <= status < 300  # a redirect is an error too
        assert len(result.body) <= KEPT_MAX
    elif isinstance(result, ResponseValidationError):
        assert 200 <= result.status_code == status < 300
        assert len(result.body) <= KEPT_MAX
        assert result.outcome_unknown is (call in ("create", "update", "delete"))
    elif not isinstance(result, WorkOSError):
        assert 200 <= status < 300
        if call == "delete":
            assert result is None  # done only on the API's own answer: "Accepted", or no body
            assert status == 204 or body in ("", "Accepted"), body  # a 204 sends no body at all
        elif call in ("list", "first_page"):
            assert all(isinstance(item, Organization) for item in result)
        elif call != "domain":
            assert isinstance(result, Organization)
    else:
        # Nothing else: the emulator sends whole responses, so no connection error; only a walk
        # given the same page again (every request gets this answer) stops with its own error.
        assert isinstance(result, PaginationError), repr(result)
        assert call == "list"
        assert 200 <= status < 300
