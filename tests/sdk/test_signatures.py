"""Runtime signatures tell the truth: what `inspect.signature` and `help()` show is what the
annotations say, and the return types are the ones a call really gives."""

from __future__ import annotations

import inspect
import pydoc
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from workos_orgs import (
    APIResponse,
    AsyncPager,
    AsyncWorkOS,
    Organization,
    OrganizationDomain,
    OrganizationDomains,
    OrganizationDomainsWithRawResponse,
    Organizations,
    OrganizationsWithRawResponse,
    Page,
    SyncEvent,
    SyncFailure,
    WorkOSError,
)
from workos_orgs.emulator import Emulator

# list() and with_raw_response send nothing, so no server is needed.
CLIENT = AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9")


def public_methods(owner: object) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name in dir(owner):
        value = getattr(owner, name)
        if not name.startswith("_") and callable(value) and not isinstance(value, type):
            yield name, value


OWNERS: list[object] = [
    CLIENT,
    CLIENT.organizations,
    CLIENT.organization_domains,
    CLIENT.organizations.with_raw_response,
    CLIENT.organization_domains.with_raw_response,
    CLIENT.organizations.list(),
]
METHODS = [(f"{type(owner).__name__}.{name}", method) for owner in OWNERS for name, method in public_methods(owner)]


def hint(annotation: Any) -> Any:
    """An annotation as `typing.get_type_hints` gives it (``None`` becomes ``NoneType``)."""
    return type(None) if annotation is None else annotation


@pytest.mark.parametrize(("name", "method"), METHODS, ids=[name for name, _ in METHODS])
def test_the_signature_matches_the_annotations(name: str, method: Callable[..., Any]) -> None:
    signature = inspect.signature(method, eval_str=True)
    hints = typing.get_type_hints(method)
    for parameter in signature.parameters.values():
        if parameter.annotation is not inspect.Parameter.empty:
            assert hint(parameter.annotation) == hints[parameter.name], (name, parameter.name)
    assert hint(signature.return_annotation) == hints["return"], name


def returns(method: Callable[..., Any]) -> Any:
    return inspect.signature(method, eval_str=True).return_annotation


def test_public_methods_return_models() -> None:
    organizations, domains = CLIENT.organizations, CLIENT.organization_domains
    assert returns(organizations.list) == AsyncPager[Organization]
    organization_calls: list[Callable[..., Any]] = [
        organizations.create,
        organizations.get,
        organizations.get_by_external_id,
        organizations.update,
    ]
    assert [returns(method) for method in organization_calls] == [Organization] * 4
    domain_calls: list[Callable[..., Any]] = [domains.create, domains.get, domains.verify]
    assert [returns(method) for method in domain_calls] == [OrganizationDomain] * 3
    assert returns(organizations.delete) is None
    assert returns(domains.delete) is None


def test_raw_methods_return_responses_and_take_the_same_arguments() -> None:
    for resource in (CLIENT.organizations, CLIENT.organization_domains):
        for name, raw in public_methods(resource.with_raw_response):
            public = getattr(resource, name)
            raw_parameters = inspect.signature(raw, eval_str=True).parameters
            assert raw_parameters == inspect.signature(public, eval_str=True).parameters, name
            expected = returns(public)
            if typing.get_origin(expected) is AsyncPager:
                expected = Page[typing.get_args(expected)[0]]  # type: ignore[misc]
            assert returns(raw) == APIResponse[expected], name  # type: ignore[valid-type]
            assert raw.__doc__ == public.__doc__, name


@pytest.mark.parametrize("resource", [Organizations, OrganizationDomains])
def test_every_call_of_a_resource_has_a_raw_twin(resource: type[Organizations | OrganizationDomains]) -> None:
    instance = resource(CLIENT)
    calls = {
        name
        for name, method in public_methods(instance)
        if name != "sync" and (inspect.iscoroutinefunction(method) or returns(method) == AsyncPager[Organization])
    }
    assert calls == {name for name, _ in public_methods(instance.with_raw_response)}


def test_help_on_the_raw_response_classes_shows_their_methods() -> None:
    # pydoc listed `get = <RawResponseMethod object>`, and inspect.signature on the class's
    # attribute raised TypeError; the blocking client's raw views showed them in full.
    text = pydoc.render_doc(OrganizationsWithRawResponse, renderer=pydoc.plaintext)
    assert "RawResponseMethod" not in text
    assert "get(self, id: str, **options:" in text
    assert "Get an organization by its ID" in text
    get = OrganizationsWithRawResponse.get
    assert list(inspect.signature(get).parameters) == ["self", "id", "options"]
    assert typing.get_type_hints(get)["return"] == APIResponse[Organization]
    assert "RawResponseMethod" not in pydoc.render_doc(OrganizationDomainsWithRawResponse, renderer=pydoc.plaintext)


async def test_a_raw_method_taken_from_its_class_is_called_with_the_view(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        created = await client.organizations.create(name="Acme")
        response = await OrganizationsWithRawResponse.get(client.organizations.with_raw_response, created.id)
        assert (response.status_code, response.parse()) == (200, created)


def test_a_sync_event_and_failure_say_their_error_is_a_workos_error() -> None:
    # Every error a sync reports is one; typed Exception, a handler reading `.message` or
    # `.outcome_unknown` off it did not type-check.
    assert typing.get_type_hints(SyncFailure)["error"] is WorkOSError
    assert typing.get_type_hints(SyncEvent)["error"] == WorkOSError | None
    assert inspect.signature(SyncEvent).parameters["error"].annotation == "WorkOSError | None"
