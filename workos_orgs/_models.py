"""The API's objects as frozen, slotted attrs classes, and the one converter that builds them.

Unknown fields are ignored and unknown enum values are kept as plain strings, because the
API grows: a new domain state must not break an old client.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

import attrs
import cattrs
from cattrs.preconf.orjson import make_converter

from ._contract import DomainState, DomainVerificationStrategy


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset.UNSET
"""Leave a field alone: the default of every optional argument that may also be ``None``.

``update(org_id, external_id=None)`` sends ``"external_id": null`` (clearing it); leaving
the argument out (it stays ``UNSET``) sends nothing and keeps the current value.
"""

Unset = Literal[_Unset.UNSET]
"""The type of `UNSET`, for annotations: ``external_id: str | None | Unset = UNSET``."""


@attrs.frozen
class DomainData:
    """A domain to attach to an organization on create or update.

    ``state`` is ``"pending"`` (verify it by DNS later) or ``"verified"`` (you vouch for it)::

        DomainData("acme.com", DomainState.VERIFIED)
    """

    domain: str
    state: DomainState | str = DomainState.PENDING


@attrs.frozen
class OrganizationDomain:
    """A domain that belongs to an organization.

    ``state`` and ``verification_strategy`` are `DomainState` / `DomainVerificationStrategy`
    members, or the plain string when the API sends a value this SDK does not know yet.
    """

    id: str
    organization_id: str
    domain: str
    created_at: datetime
    updated_at: datetime
    state: DomainState | str | None = None
    verification_strategy: DomainVerificationStrategy | str | None = None
    verification_token: str | None = None
    verification_prefix: str | None = None


@attrs.frozen
class Organization:
    """An organization: a customer of yours, with its domains and metadata."""

    id: str
    name: str
    domains: tuple[OrganizationDomain, ...]
    metadata: Mapping[str, str]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    stripe_customer_id: str | None = None
    allow_profiles_outside_organization: bool | None = None


@attrs.frozen
class ListMetadata:
    """The cursors of a page: pass one back as ``before=`` or ``after=`` for the adjacent page."""

    before: str | None = None
    after: str | None = None


class HasId(Protocol):
    """Anything with an ``id``: what a page holds."""

    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: ``data`` and the ``list_metadata`` cursors."""

    data: tuple[T, ...]
    list_metadata: ListMetadata


# The hooks below run once per field of every object on a page, so they stay minimal.


def _timestamp(value: Any, _: Any) -> datetime:
    parsed = datetime.fromisoformat(value)  # a TypeError for a non-string
    # The API always sends UTC; a timestamp without an offset is read as UTC, never naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _optional_string(value: Any, _: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise TypeError(f"expected a string or null, got {type(value).__name__}")


def _string_map(value: Any, _: Any) -> Mapping[str, str]:
    if value.__class__ is not dict or not all(item.__class__ is str for item in value.values()):
        raise TypeError("expected an object of strings")
    return value


# The two page-sized classes get hand-written hooks, registered on the converter below:
# cattrs' generated code gathers optional fields into a **kwargs dict and dispatches each
# Optional field; with it, decoding a 100-organization page took ~5.7x as long as
# orjson.loads alone, and written out it takes about 4x (most of the rest is attrs' frozen
# __init__).

_DOMAIN_STATES: Final[Mapping[Any, Any]] = {None: None, **{state.value: state for state in DomainState}}
_DOMAIN_VERIFICATION_STRATEGIES: Final[Mapping[Any, Any]] = {
    None: None,
    **{strategy.value: strategy for strategy in DomainVerificationStrategy},
}


def _lenient(members: Mapping[Any, Any]) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if value is not None and value.__class__ is not str:
            raise TypeError(f"expected a string or null, got {type(value).__name__}")
        return members.get(value, value)

    return structure


def _organization_domain(value: Any, _: Any) -> OrganizationDomain:
    get = value.get
    state, strategy = get("state"), get("verification_strategy")
    token, prefix = get("verification_token"), get("verification_prefix")
    if not (
        (state is None or state.__class__ is str)
        and (strategy is None or strategy.__class__ is str)
        and (token is None or token.__class__ is str)
        and (prefix is None or prefix.__class__ is str)
    ):
        raise TypeError("expected state, verification_strategy, verification_token and verification_prefix as strings")
    return OrganizationDomain(
        str(value["id"]),
        str(value["organization_id"]),
        str(value["domain"]),
        _timestamp(value["created_at"], None),
        _timestamp(value["updated_at"], None),
        # A value this SDK does not know yet is kept as the plain string.
        _DOMAIN_STATES.get(state, state),
        _DOMAIN_VERIFICATION_STRATEGIES.get(strategy, strategy),
        token,
        prefix,
    )


def _organization(value: Any, _: Any) -> Organization:
    get = value.get
    domains = value["domains"]
    if domains.__class__ is not list:
        raise TypeError("expected an array of organization domains")
    allow_profiles = get("allow_profiles_outside_organization")
    if allow_profiles is not None and allow_profiles.__class__ is not bool:
        raise TypeError("expected allow_profiles_outside_organization to be a boolean")
    return Organization(
        str(value["id"]),
        str(value["name"]),
        tuple([_organization_domain(domain, None) for domain in domains]),
        _string_map(value["metadata"], None),
        _optional_string(value["external_id"], None),
        _timestamp(value["created_at"], None),
        _timestamp(value["updated_at"], None),
        _optional_string(get("stripe_customer_id"), None),
        allow_profiles,
    )


def _make_converter() -> cattrs.Converter:
    converter = make_converter(forbid_extra_keys=False, detailed_validation=False)
    converter.register_structure_hook(datetime, _timestamp)
    # Generic aliases and unions are not classes, so these match by equality.
    exact_hooks: dict[Any, Any] = {
        str | None: _optional_string,
        Mapping[str, str]: _string_map,
        DomainState | str | None: _lenient(_DOMAIN_STATES),
        DomainVerificationStrategy | str | None: _lenient(_DOMAIN_VERIFICATION_STRATEGIES),
    }
    for type_, hook in exact_hooks.items():
        converter.register_structure_hook_func(_equal_to(type_), hook)
    converter.register_structure_hook(OrganizationDomain, _organization_domain)
    converter.register_structure_hook(Organization, _organization)
    return converter


def _equal_to(type_: Any) -> Any:
    def predicate(candidate: Any) -> bool:
        return bool(candidate == type_)

    return predicate


CONVERTER: Final = _make_converter()
"""The one converter from JSON values to models; its hooks are generated once, below."""

structure_organization: Final = CONVERTER.get_structure_hook(Organization)
structure_organization_domain: Final = CONVERTER.get_structure_hook(OrganizationDomain)
structure_list_metadata: Final = CONVERTER.get_structure_hook(ListMetadata)
