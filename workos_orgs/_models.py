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


@attrs.frozen(weakref_slot=False)
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


@attrs.frozen(weakref_slot=False)
class Organization:
    """An organization: a customer of yours, with its domains and metadata."""

    # No __weakref__ slot on the two classes a page holds by the hundred: 8 bytes each.

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


def _timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)  # a TypeError for a non-string
    # The API always sends UTC; a timestamp without an offset is read as UTC, never naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _optional_string(value: Any, _: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    raise TypeError(f"expected a string or null, got {type(value).__name__}")


# The two page-sized classes get hand-written hooks, registered on the converter below:
# cattrs' generated code gathers optional fields into a **kwargs dict and dispatches each
# Optional field; with it, decoding a 100-organization page took ~5.7x as long as
# orjson.loads alone.  Written out, the hooks check each field's JSON type once, take
# strings as orjson made them (no str() copies), and parse each distinct timestamp of an
# organization once: until it is updated, an organization's created_at and updated_at are
# the same instant, and domains added with it share that instant too.  Equal timestamps
# then share one (immutable) datetime, and a domain's organization_id shares the
# organization's id string, which also saves memory when many organizations are held.
# What remains is mostly attrs' frozen __init__ (see benchmarks/RESULTS.md).

_DOMAIN_STATES: Final[Mapping[Any, Any]] = {None: None, **{state.value: state for state in DomainState}}
_DOMAIN_VERIFICATION_STRATEGIES: Final[Mapping[Any, Any]] = {
    None: None,
    **{strategy.value: strategy for strategy in DomainVerificationStrategy},
}


def _parse_timestamp(value: Any, parsed: dict[Any, datetime]) -> datetime:
    timestamp = parsed[value] = _timestamp(value)
    return timestamp


def _domain(value: Any, organization_id: str | None, parsed: dict[Any, datetime]) -> OrganizationDomain:
    get = value.get
    id_, owner, domain = value["id"], value["organization_id"], value["domain"]
    created, updated = value["created_at"], value["updated_at"]
    state, strategy = get("state"), get("verification_strategy")
    token, prefix = get("verification_token"), get("verification_prefix")
    if not (
        id_.__class__ is str
        and owner.__class__ is str
        and domain.__class__ is str
        and (state is None or state.__class__ is str)
        and (strategy is None or strategy.__class__ is str)
        and (token is None or token.__class__ is str)
        and (prefix is None or prefix.__class__ is str)
    ):
        raise TypeError(
            "expected id, organization_id and domain as strings, and state, verification_strategy,"
            " verification_token and verification_prefix as strings or null"
        )
    return OrganizationDomain(
        id_,
        organization_id if owner == organization_id else owner,
        domain,
        parsed.get(created) or _parse_timestamp(created, parsed),
        parsed.get(updated) or _parse_timestamp(updated, parsed),
        # A value this SDK does not know yet is kept as the plain string.
        _DOMAIN_STATES.get(state, state),
        _DOMAIN_VERIFICATION_STRATEGIES.get(strategy, strategy),
        token,
        prefix,
    )


def _organization_domain(value: Any, _: Any) -> OrganizationDomain:
    return _domain(value, None, {})


def _organization(value: Any, _: Any) -> Organization:
    get = value.get
    id_, name, domains, metadata = value["id"], value["name"], value["domains"], value["metadata"]
    external_id, created, updated = value["external_id"], value["created_at"], value["updated_at"]
    stripe_customer_id, allow_profiles = get("stripe_customer_id"), get("allow_profiles_outside_organization")
    if not (
        id_.__class__ is str
        and name.__class__ is str
        and domains.__class__ is list
        and metadata.__class__ is dict
        and (external_id is None or external_id.__class__ is str)
        and (stripe_customer_id is None or stripe_customer_id.__class__ is str)
        and (allow_profiles is None or allow_profiles.__class__ is bool)
    ):
        raise TypeError(
            "expected id and name as strings, domains as an array, metadata as an object, external_id and"
            " stripe_customer_id as strings or null, and allow_profiles_outside_organization as a boolean or null"
        )
    for item in metadata.values():
        if item.__class__ is not str:
            raise TypeError("expected metadata as an object of strings")
    parsed: dict[Any, datetime] = {}
    created_at = _parse_timestamp(created, parsed)
    return Organization(
        id_,
        name,
        tuple([_domain(domain, id_, parsed) for domain in domains]),
        metadata,
        external_id,
        created_at,
        parsed.get(updated) or _parse_timestamp(updated, parsed),
        stripe_customer_id,
        allow_profiles,
    )


def _make_converter() -> cattrs.Converter:
    converter = make_converter(forbid_extra_keys=False, detailed_validation=False)
    # ListMetadata's cursors; a union is not a class, so the hook matches by equality.
    converter.register_structure_hook_func(_equal_to(str | None), _optional_string)
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
