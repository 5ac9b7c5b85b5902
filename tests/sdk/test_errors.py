"""Every error class, raised by real responses from the emulator."""

from __future__ import annotations

import pickle
from collections.abc import Awaitable

import pytest

from workos_orgs import (
    APIStatusError,
    AsyncWorkOS,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DomainData,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    WorkOSError,
)
from workos_orgs.emulator import Emulator

from .conftest import FAST


async def test_422_names_each_bad_field(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(UnprocessableEntityError) as caught:
        await client.organizations.create(
            name="Acme", external_id="é-not-ascii", domain_data=[DomainData("gmail.com", "verified")]
        )
    error = caught.value
    assert (error.status_code, error.code, error.message) == (422, "invalid_request_parameters", "Validation failed")
    assert {field.field for field in error.errors} == {"external_id", "domain_data[0].domain"}
    assert error.request_id == emulator.requests[-1].request_id
    assert error.request_id in str(error)
    assert "external_id" in str(error)
    assert '"invalid_request_parameters"' in error.body


async def test_404_for_an_unknown_organization(client: AsyncWorkOS) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert caught.value.code == "entity_not_found"
    assert caught.value.message == "Organization not found: 'org_01ARZ3NDEKTSV4RRFFQ69G5FAV'."
    assert str(caught.value).startswith("HTTP 404 entity_not_found: Organization not found")


async def test_409_for_a_duplicate_domain(client: AsyncWorkOS) -> None:
    with pytest.raises(ConflictError) as caught:
        await client.organizations.create(name="Acme", domain_data=[DomainData("a.com"), DomainData("a.com")])
    assert caught.value.code == "domain_already_exists"


async def test_400_for_a_used_external_id(client: AsyncWorkOS) -> None:
    await client.organizations.create(name="First", external_id="acme")
    with pytest.raises(BadRequestError) as caught:
        await client.organizations.create(name="Second", external_id="acme")
    assert (caught.value.status_code, caught.value.code) == (400, "external_id_already_used")


async def test_400_for_metadata_over_the_limit(client: AsyncWorkOS) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.organizations.create(name="Acme", metadata={f"k{i}": "v" for i in range(51)})
    assert caught.value.code == "invalid_metadata"


async def test_400_for_an_idempotency_key_reused_with_another_body(client: AsyncWorkOS) -> None:
    await client.organizations.create(name="A", idempotency_key="same")
    with pytest.raises(BadRequestError, match="Another idempotency key"):
        await client.organizations.create(name="B", idempotency_key="same")


async def test_401_for_a_wrong_key_is_not_retried(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key="sk_test_wrong", base_url=emulator.url, backoff=FAST) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert (caught.value.status_code, caught.value.message) == (401, "Unauthorized")
    assert "sk_test_wrong" not in str(caught.value) + repr(caught.value)


async def test_403_from_the_api(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(method="PUT", path="/organizations/*", status=403, body={"message": "Forbidden."})
    with pytest.raises(PermissionDeniedError) as caught:
        await client.organizations.update("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", name="x")
    assert caught.value.message == "Forbidden."
    assert len(emulator.requests) == 1


async def test_429_beyond_the_retry_after_cap_raises_at_once(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations", status=429, retry_after=30)
    with pytest.raises(RateLimitError) as caught:
        await client.organizations.create(name="Acme")
    assert caught.value.retry_after == 30.0
    assert caught.value.code == "rate_limit_exceeded"
    assert len(emulator.requests) == 1


async def test_429_after_the_retries_are_spent(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations", status=429, retry_after=0, times=3)
    with pytest.raises(RateLimitError) as caught:
        await client.organizations.create(name="Acme")
    assert caught.value.retry_after == 0.0
    assert len(emulator.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_after_the_retries_are_spent(client: AsyncWorkOS, emulator: Emulator, status: int) -> None:
    emulator.inject_fault(path="/organizations/*", status=status, times=3)
    with pytest.raises(InternalServerError) as caught:
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert caught.value.status_code == status
    assert [request.status for request in emulator.requests] == [status] * 3


async def test_an_html_error_page_still_gives_a_typed_error(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations/*", status=502, body="<html><h1>Bad Gateway</h1></html>", times=3)
    with pytest.raises(InternalServerError) as caught:
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert caught.value.code is None
    assert caught.value.body == "<html><h1>Bad Gateway</h1></html>"


async def test_an_unknown_4xx_is_a_plain_status_error(client: AsyncWorkOS, emulator: Emulator) -> None:
    emulator.inject_fault(path="/organizations/*", status=418, body={"message": "I'm a teapot"})
    with pytest.raises(APIStatusError) as caught:
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert type(caught.value) is APIStatusError
    assert len(emulator.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"id": "org_1", "name": 42},
        {"unexpected": True},
        "<html>not json</html>",
        {"id": "org_1", "name": "A", "domains": [], "metadata": {}, "external_id": None, "created_at": "yesterday"},
    ],
)
async def test_a_success_body_that_does_not_fit_is_a_response_validation_error(
    client: AsyncWorkOS, emulator: Emulator, body: object
) -> None:
    emulator.inject_fault(path="/organizations/*", status=200, body=body)
    with pytest.raises(ResponseValidationError) as caught:
        await client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    error = caught.value
    assert error.status_code == 200
    assert error.request_id == emulator.requests[-1].request_id
    assert error.body  # the raw body, for a bug report
    assert isinstance(error, WorkOSError)


@pytest.mark.parametrize(
    ("path", "status"), [("/organizations/*", 200), ("/organizations/*", 202), ("/organization_domains/*", 200)]
)
async def test_a_delete_answered_by_another_page_is_not_taken_as_done(
    client: AsyncWorkOS, emulator: Emulator, path: str, status: int
) -> None:
    # A proxy answering in the API's place with a page of its own: the delete was taken as done
    # (its body was never looked at), and a bulk sync's prune counted the organization deleted.
    organization = await client.organizations.create(name="Acme", domain_data=[DomainData("acme.com")])
    emulator.inject_fault(
        method="DELETE", path=path, status=status, body="<html>proxy</html>", content_type="text/html"
    )
    delete = (
        client.organizations.delete(organization.id)
        if path.startswith("/organizations/")
        else client.organization_domains.delete(organization.domains[0].id)
    )
    with pytest.raises(ResponseValidationError) as caught:
        await delete
    assert caught.value.status_code == status
    assert caught.value.outcome_unknown is True  # a success came back: it may have been done
    assert "<html>proxy</html>" in caught.value.body
    # Nothing here was meant to fit a model: the message says what a delete's answer must be.
    assert str(caught.value).startswith(
        f"HTTP {status} response could not be read: expected no body, or 'Accepted', in answer to a delete"
    )
    # The API's own answers are done: 202 "Accepted", and 204 with no body.
    await client.organization_domains.delete(organization.domains[0].id)
    await client.organizations.delete(organization.id)
    assert [request.status for request in emulator.requests[-2:]] == [204, 202]


async def test_a_list_page_that_does_not_fit_is_a_response_validation_error(
    client: AsyncWorkOS, emulator: Emulator
) -> None:
    emulator.inject_fault(method="GET", path="/organizations", status=200, body={"object": "list", "data": {}})
    with pytest.raises(ResponseValidationError):
        await client.organizations.list()


async def test_unknown_fields_and_enum_values_are_kept_or_ignored(client: AsyncWorkOS, emulator: Emulator) -> None:
    organization = await client.organizations.create(name="Acme", domain_data=[DomainData("acme.com")])
    future = {
        "object": "organization_domain",
        "id": organization.domains[0].id,
        "organization_id": organization.id,
        "domain": "acme.com",
        "state": "quarantined",
        "verification_strategy": "carrier_pigeon",
        "brand_new_field": {"nested": [1, 2]},
        "created_at": "2026-01-15T12:00:00.000Z",
        "updated_at": "2026-01-15T12:00:00.000Z",
    }
    emulator.inject_fault(method="GET", path="/organization_domains/*", status=200, body=future)
    domain = await client.organization_domains.get(organization.domains[0].id)
    assert domain.state == "quarantined"
    assert domain.verification_strategy == "carrier_pigeon"
    assert domain.verification_token is None


async def test_every_kind_of_error_survives_pickling(client: AsyncWorkOS, emulator: Emulator) -> None:
    # A ProcessPoolExecutor, multiprocessing or Celery's prefork pool sends a job's error back
    # pickled: one that cannot be rebuilt breaks the pool (BrokenProcessPool) instead.
    errors: list[WorkOSError] = []

    async def caught(call: Awaitable[object]) -> None:
        with pytest.raises(WorkOSError) as raised:
            await call
        errors.append(raised.value)

    await caught(client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"))  # NotFoundError
    await caught(client.organizations.create(name="Acme", external_id="é"))  # UnprocessableEntityError
    emulator.inject_fault(method="GET", path="/organizations/*", status=429, retry_after=7)
    await caught(client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", max_retries=0))  # RateLimitError
    emulator.inject_fault(method="GET", path="/organizations/*", status=200, body=[1])
    await caught(client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"))  # ResponseValidationError
    emulator.inject_fault(method="GET", path="/organizations/*", drop="before", times=3)
    await caught(client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV", max_retries=0))  # APIConnectionError
    await caught(client.organizations.get(""))  # InvalidArgumentError
    await caught(client.organizations.get("org_1", time_out=3))  # type: ignore[call-arg]  # UnexpectedOptionError
    async with AsyncWorkOS(api_key="sk_test_not_this_emulators", base_url=emulator.url) as stranger:
        await caught(stranger.organizations.sync([{"external_id": "a", "name": "A"}]))  # SyncStoppedError
    with pytest.raises(WorkOSError) as configuration:
        AsyncWorkOS(api_key="sk_test_x", base_url="ftp://example.com")
    errors.append(configuration.value)
    kinds = [type(error).__name__ for error in errors]
    assert kinds == [
        "NotFoundError",
        "UnprocessableEntityError",
        "RateLimitError",
        "ResponseValidationError",
        "APIConnectionError",
        "InvalidArgumentError",
        "UnexpectedOptionError",
        "SyncStoppedError",
        "ConfigurationError",
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (str(copy), repr(copy), copy.args) == (str(error), repr(error), error.args)
        assert vars(copy).keys() == vars(error).keys()
        for name, value in vars(error).items():
            if name != "report":  # a SyncReport, compared by what it says
                assert getattr(copy, name) == value, name
    rate_limited = errors[2]
    assert isinstance(rate_limited, RateLimitError)
    assert pickle.loads(pickle.dumps(rate_limited)).retry_after == 7.0
    stopped = pickle.loads(pickle.dumps(errors[7]))
    assert str(stopped.report) == str(errors[7].report)  # type: ignore[attr-defined]
