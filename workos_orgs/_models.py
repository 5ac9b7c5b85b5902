"""The API's objects as frozen, slotted attrs classes, and the one converter between them and JSON.

Unknown fields are ignored and unknown enum values are kept as plain strings, because the
API grows: a new domain state must not break an old client.  Each model turns back into the
API's own JSON shape with ``to_dict()`` / ``to_json()``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Generic, Literal, Protocol, TypeVar

import attrs
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ._contract import DomainState, DomainVerificationStrategy, format_timestamp, normalize_cursor


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


class _Model:
    """What every model that comes from the API shares: the way back to its JSON."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This object in the API's own JSON shape: wire field names, timestamps as the API
        writes them, enum members as their strings; keys the API leaves out when they have
        no value are left out.  Safe to return from a web handler or to change."""
        data: dict[str, Any] = CONVERTER.unstructure(self)
        return data

    def to_json(self) -> str:
        """`to_dict` as a compact JSON string."""
        return CONVERTER.dumps(self).decode()


@attrs.frozen(weakref_slot=False)
class OrganizationDomain(_Model):
    """A domain that belongs to an organization.

    ``state`` and ``verification_strategy`` are `DomainState` / `DomainVerificationStrategy`
    members, or the plain string when the API sends a value this SDK does not know yet.
    ``organization_id`` and the timestamps are None where the API left them out (it did in
    the domains of organizations recorded before 2025).

    ::

        domain = await client.organization_domains.get("org_domain_01HE...")
        domain.to_dict()["state"]  # "pending"
    """

    id: str
    organization_id: str | None
    domain: str
    created_at: datetime | None
    updated_at: datetime | None
    state: DomainState | str | None = None
    verification_strategy: DomainVerificationStrategy | str | None = None
    verification_token: str | None = None
    verification_prefix: str | None = None


@attrs.frozen(weakref_slot=False)
class Organization(_Model):
    """An organization: a customer of yours, with its domains and metadata.

    Frozen and hashable; ``metadata`` is read-only by its type (`Mapping`), and is left out of
    the hash (two organizations that differ only in it are still unequal)::

        organization = await client.organizations.get("org_01EHZNVPK3SFK441A1RGBFSHRT")
        organization.to_dict()["domains"][0]["domain"]  # "foo-corp.com"
        organization.to_json()  # '{"object":"organization","id":"org_01EHZ...",...}'
    """

    # No __weakref__ slot on the two classes a page holds by the hundred: 8 bytes each.

    id: str
    name: str
    domains: tuple[OrganizationDomain, ...]
    # The mapping the response was decoded into, not a copy (a read-only copy of every
    # organization's would cost memory and time on every page): typed read-only, so leave it
    # as it is.  Not hashed (a dict cannot be), but compared.
    metadata: Mapping[str, str] = attrs.field(hash=False)
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    stripe_customer_id: str | None = None
    allow_profiles_outside_organization: bool | None = None


@attrs.frozen
class ListMetadata(_Model):
    """The cursors of a page: pass one back as ``before=`` or ``after=`` for the adjacent page."""

    before: str | None = None
    after: str | None = None


class HasId(Protocol):
    """Anything with an ``id``: what a page holds."""

    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)


@attrs.frozen
class Page(_Model, Generic[T]):
    """One page of a list: ``data`` and the ``list_metadata`` cursors.

    A page is a sized, iterable sequence of its items, and says whether another page
    follows in the direction its walk goes (`direction`: the cursor it follows)::

        page = await client.organizations.list(limit=10)
        for organization in page:
            print(organization.name)
        print(len(page), page.has_more)
        page.to_dict()  # {"object": "list", "data": [...], "list_metadata": {...}}
    """

    data: tuple[T, ...]
    list_metadata: ListMetadata
    direction: Literal["before", "after"] = "after"

    @property
    def has_more(self) -> bool:
        """Whether the API named a page after this one: its `direction` cursor is set."""
        return (self.list_metadata.after if self.direction == "after" else self.list_metadata.before) is not None

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


# The structure hooks below run for every object on every page, so they are written out by
# hand: cattrs' generated code gathered optional fields into a **kwargs dict and dispatched
# each Optional field, and decoding a 100-organization page took ~5.7x as long as
# orjson.loads alone.  Written out, the hooks check each field's JSON type once, take strings
# as orjson made them (no str() copies), and parse each distinct timestamp of an organization
# once: until it is updated, an organization's created_at and updated_at are the same instant,
# and domains added with it share that instant too.  Equal timestamps then share one
# (immutable) datetime, and a domain's organization_id shares the organization's id string,
# which also saves memory when many organizations are held.
#
# Each object is built in a plain class with the model's exact slots, which is then made the
# model by assigning __class__ (Python allows it between classes with the same slot layout).
# A frozen attrs __init__ stores each field through object.__setattr__, a call per field; a
# plain slot store is a third of that, and this was the largest single cost of a page.  It
# skips attrs' __init__, so a model must not gain a validator, converter or default factory
# that these hooks would not apply: tests/sdk/test_model_round_trip.py checks that, and that every
# field is set here.

_MISSING: Final[Any] = object()
"""What a left-out key reads as, where left out and null mean different things."""

_NOT_SHARED: Final[Any] = object()
"""An organization timestamp that no domain timestamp equals (a domain read on its own)."""


class _NoMetadata(Mapping[str, str]):
    """The metadata of an organization recorded without the key (before 2025): empty and
    read-only, one object for them all, which pickles and copies as itself (a
    ``MappingProxyType`` does neither, so such an organization could not be cached)."""

    __slots__ = ()

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "{}"

    def __reduce__(self) -> str:
        return "_NO_METADATA"


_NO_METADATA: Final[Mapping[str, str]] = _NoMetadata()
"""The metadata of an organization recorded without the key."""

_DOMAIN_STATES: Final[Mapping[Any, Any]] = {None: None, **{state.value: state for state in DomainState}}
_DOMAIN_VERIFICATION_STRATEGIES: Final[Mapping[Any, Any]] = {
    None: None,
    **{strategy.value: strategy for strategy in DomainVerificationStrategy},
}
_fromisoformat: Final = datetime.fromisoformat


class _OrganizationDomainSlots(_Model):
    __slots__ = OrganizationDomain.__slots__


class _OrganizationSlots(_Model):
    __slots__ = Organization.__slots__


def _timestamp(value: Any) -> datetime:
    parsed = _fromisoformat(value)  # a TypeError for a non-string
    # The API always sends UTC; a timestamp without an offset is read as UTC, never naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _domain_timestamp(value: Any, updated: Any, updated_at: datetime | None) -> datetime | None:
    if value == updated:
        return updated_at
    return None if value is _MISSING else _timestamp(value)


def _domain(
    value: Any,
    organization_id: str | None,
    created: Any,
    created_at: datetime | None,
    updated: Any,
    updated_at: datetime | None,
) -> OrganizationDomain:
    get = value.get
    id_, name = value["id"], value["domain"]
    owner, dcreated, dupdated = (
        get("organization_id", _MISSING),
        get("created_at", _MISSING),
        get("updated_at", _MISSING),
    )
    state, strategy = get("state"), get("verification_strategy")
    token, prefix = get("verification_token"), get("verification_prefix")
    if not (
        id_.__class__ is str
        and name.__class__ is str
        and (owner.__class__ is str or owner is _MISSING)
        and (state is None or state.__class__ is str)
        and (strategy is None or strategy.__class__ is str)
        and (token is None or token.__class__ is str)
        and (prefix is None or prefix.__class__ is str)
    ):
        raise TypeError(
            "expected id, domain and organization_id as strings, and state, verification_strategy,"
            " verification_token and verification_prefix as strings or null"
        )
    domain: Any = _OrganizationDomainSlots()
    domain.id = id_
    domain.organization_id = organization_id if owner == organization_id else (None if owner is _MISSING else owner)
    domain.domain = name
    domain_created_at = created_at if dcreated == created else _domain_timestamp(dcreated, updated, updated_at)
    domain.created_at = domain_created_at
    domain.updated_at = domain_created_at if dupdated == dcreated else _domain_timestamp(dupdated, updated, updated_at)
    # A value this SDK does not know yet is kept as the plain string.
    domain.state = _DOMAIN_STATES.get(state, state)
    domain.verification_strategy = _DOMAIN_VERIFICATION_STRATEGIES.get(strategy, strategy)
    domain.verification_token = token
    domain.verification_prefix = prefix
    domain.__class__ = OrganizationDomain
    result: OrganizationDomain = domain
    return result


def _organization_domain(value: Any, _: Any) -> OrganizationDomain:
    return _domain(value, None, _NOT_SHARED, None, _NOT_SHARED, None)


def _organization(value: Any, _: Any) -> Organization:
    get = value.get
    id_, name, domains = value["id"], value["name"], value["domains"]
    created, updated = value["created_at"], value["updated_at"]
    metadata, external_id = get("metadata", _NO_METADATA), get("external_id")
    stripe_customer_id, allow_profiles = get("stripe_customer_id"), get("allow_profiles_outside_organization")
    if not (
        id_.__class__ is str
        and name.__class__ is str
        and domains.__class__ is list
        and (metadata.__class__ is dict or metadata is _NO_METADATA)
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
    created_at = _fromisoformat(created)  # a TypeError for a non-string
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    updated_at = created_at if updated == created else _timestamp(updated)
    organization: Any = _OrganizationSlots()
    organization.id = id_
    organization.name = name
    # Most organizations have one domain: its tuple is made at once, with no list to collect
    # into (one allocation fewer for the cyclic collector to count, on every organization).
    # Otherwise a loop, not a list comprehension: in Python 3.11 a comprehension is a function
    # call of its own, which costs more than appending the two or three domains the rest have.
    if len(domains) == 1:
        organization.domains = (_domain(domains[0], id_, created, created_at, updated, updated_at),)
    else:
        built = []
        for domain in domains:
            built.append(_domain(domain, id_, created, created_at, updated, updated_at))
        organization.domains = tuple(built)
    organization.metadata = metadata
    organization.external_id = external_id
    organization.created_at = created_at
    organization.updated_at = updated_at
    organization.stripe_customer_id = stripe_customer_id
    organization.allow_profiles_outside_organization = allow_profiles
    organization.__class__ = Organization
    result: Organization = organization
    return result


def _cursor(value: Any, _: Any) -> str | None:
    if value is None or value.__class__ is str:
        return normalize_cursor(value)
    raise TypeError(f"expected a string or null, got {type(value).__name__}")


# The way back: the API's JSON shape.  Keys the API leaves out when they have no value are
# left out when they are None, so a response turned back is the response.  An organization
# recorded before metadata and external_id existed gets them as {} and null, as the API
# sends them now.


def _unstructure_domain(domain: OrganizationDomain) -> dict[str, Any]:
    data: dict[str, Any] = {"object": "organization_domain", "id": domain.id}
    if domain.organization_id is not None:
        data["organization_id"] = domain.organization_id
    data["domain"] = domain.domain
    # str() gives an enum member's value as a plain string, and a plain string as it is.
    if domain.state is not None:
        data["state"] = str(domain.state)
    if domain.verification_strategy is not None:
        data["verification_strategy"] = str(domain.verification_strategy)
    if domain.verification_token is not None:
        data["verification_token"] = domain.verification_token
    if domain.verification_prefix is not None:
        data["verification_prefix"] = domain.verification_prefix
    if domain.created_at is not None:
        data["created_at"] = format_timestamp(domain.created_at)
    if domain.updated_at is not None:
        data["updated_at"] = format_timestamp(domain.updated_at)
    return data


def _unstructure_organization(organization: Organization) -> dict[str, Any]:
    data: dict[str, Any] = {
        "object": "organization",
        "id": organization.id,
        "name": organization.name,
        "domains": [_unstructure_domain(domain) for domain in organization.domains],
        "metadata": dict(organization.metadata),
        "external_id": organization.external_id,
    }
    if organization.allow_profiles_outside_organization is not None:
        data["allow_profiles_outside_organization"] = organization.allow_profiles_outside_organization
    if organization.stripe_customer_id is not None:
        data["stripe_customer_id"] = organization.stripe_customer_id
    data["created_at"] = format_timestamp(organization.created_at)
    data["updated_at"] = format_timestamp(organization.updated_at)
    return data


def _unstructure_list_metadata(list_metadata: ListMetadata) -> dict[str, Any]:
    return {"before": list_metadata.before, "after": list_metadata.after}


def _make_converter() -> OrjsonConverter:
    converter = make_converter(forbid_extra_keys=False, detailed_validation=False)
    # ListMetadata's cursors; a union is not a class, so the hook matches by equality.
    converter.register_structure_hook_func(_equal_to(str | None), _cursor)
    converter.register_structure_hook(OrganizationDomain, _organization_domain)
    converter.register_structure_hook(Organization, _organization)

    def unstructure_page(page: Page[Any]) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [converter.unstructure(item) for item in page.data],
            "list_metadata": _unstructure_list_metadata(page.list_metadata),
        }

    converter.register_unstructure_hook(OrganizationDomain, _unstructure_domain)
    converter.register_unstructure_hook(Organization, _unstructure_organization)
    converter.register_unstructure_hook(ListMetadata, _unstructure_list_metadata)
    converter.register_unstructure_hook(Page, unstructure_page)
    return converter


def _equal_to(type_: Any) -> Any:
    def predicate(candidate: Any) -> bool:
        return bool(candidate == type_)

    return predicate


CONVERTER: Final = _make_converter()
"""The one converter between JSON values and models, configured once, above."""

structure_organization: Final = CONVERTER.get_structure_hook(Organization)
structure_organization_domain: Final = CONVERTER.get_structure_hook(OrganizationDomain)
structure_list_metadata: Final = CONVERTER.get_structure_hook(ListMetadata)
