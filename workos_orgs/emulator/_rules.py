"""What the API accepts: pure checks of queries and bodies, and the error bodies it responds with.

Nothing here touches storage; each function turns untrusted JSON into plain validated values
or raises `ApiError` with the body the live API would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from .._contract import (
    CONSUMER_DOMAINS,
    DOMAIN_DATA_STATES,
    DOMAIN_RE,
    ENTITY_NOT_FOUND,
    EXTERNAL_ID_RE,
    INVALID_METADATA,
    INVALID_REQUEST_PARAMETERS,
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    LIST_LIMIT_MIN,
    LIST_ORDER_DEFAULT,
    RATE_LIMIT_EXCEEDED,
    DomainState,
    Order,
    normalize_domain,
)
from ._limits import MAX_FIELD_ERRORS, Limits

Json = dict[str, Any]


class ApiError(Exception):
    """An error response: its status and JSON body."""

    def __init__(self, status: int, body: Json, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@attrs.frozen
class FieldError:
    field: str
    code: str
    message: str


def validation_failed(*errors: FieldError) -> ApiError:
    """The 422 listing the first `MAX_FIELD_ERRORS` of `errors`; with more, its message says
    the list is cut (the items listed keep their shape)."""
    # Assumed: each item carries field, code and message.  Recordings show {code, message}
    # (2023 on) and {field, code} (2020-22); the spec shows only message.
    message = "Validation failed"
    if len(errors) > MAX_FIELD_ERRORS:
        message = f"Validation failed; the first {MAX_FIELD_ERRORS} errors are listed, and there are more."
    return ApiError(
        422,
        {
            "code": INVALID_REQUEST_PARAMETERS,
            "message": message,
            "errors": [attrs.asdict(error) for error in errors[:MAX_FIELD_ERRORS]],
        },
    )


def bad_request(code: str | None, message: str) -> ApiError:
    body: Json = {"message": message}
    if code is not None:
        body = {"code": code, "message": message}
    return ApiError(400, body)


def path_id(pattern: re.Pattern[str], value: str) -> str:
    """An ID from a request's path, where a malformed one (not `pattern`) is answered as a route
    that does not exist: a bare 404 (see `not_found`).  Assumed, from a 2021 recording.  An ID
    in a body is looked up as it is (an unknown one is ``entity_not_found``)."""
    if not pattern.fullmatch(value):
        raise not_found()
    return value


def not_found(entity: str | None = None, entity_id: str | None = None) -> ApiError:
    """404: an unknown entity names itself; an unknown route or malformed ID does not.

    Assumed for a malformed ID: ``{"message": "Not Found"}`` is from a 2021 recording.
    """
    if entity is None or entity_id is None:
        return ApiError(404, {"message": "Not Found"})
    return ApiError(
        404,
        {
            "message": f"{entity} not found: '{entity_id}'.",
            "code": ENTITY_NOT_FOUND,
            "entity_id": entity_id,
        },
    )


UNAUTHORIZED = ApiError(401, {"message": "Unauthorized"})


def busy() -> ApiError:
    """503: the database file is held by another process; retrying soon succeeds."""
    return ApiError(
        503,
        {"message": "The emulator's database is busy (another process holds it); retry shortly."},
        {"Retry-After": "1"},
    )


def check_idempotency_key(key: str, limits: Limits) -> None:
    """A key must be text (the emulator stores it) and of bounded length (it is kept a day)."""
    try:
        key.encode()
    except UnicodeEncodeError:
        raise bad_request(None, "The Idempotency-Key header is not valid UTF-8; send printable ASCII.") from None
    if len(key) > limits.idempotency_key_length:
        raise bad_request(
            None,
            f"The Idempotency-Key header is {len(key)} characters; at most {limits.idempotency_key_length} are kept.",
        )


def rate_limited(retry_after: int) -> ApiError:
    return ApiError(
        429,
        {"message": "Too many requests.", "code": RATE_LIMIT_EXCEEDED},
        {"Retry-After": str(retry_after)},
    )


# Queries.


@attrs.frozen
class ListQuery:
    order: Order
    limit: int
    before: str | None
    after: str | None
    domains: tuple[str, ...]
    search: str | None


def list_query(query: Mapping[str, str], domains: list[str]) -> ListQuery:
    """The list call's query; `domains` are every ``domains`` value, comma-joined or repeated."""
    errors: list[FieldError] = []
    limit = LIST_LIMIT_DEFAULT
    raw_limit = query.get("limit")
    if raw_limit is not None:
        # Length first: int() refuses (ValueError) digit strings past a few thousand digits.
        well_formed = raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 4
        limit = int(raw_limit) if well_formed else LIST_LIMIT_MIN - 1
        if not LIST_LIMIT_MIN <= limit <= LIST_LIMIT_MAX:
            errors.append(
                FieldError(
                    "limit",
                    "invalid_limit",
                    f"limit must be a whole number from {LIST_LIMIT_MIN} to {LIST_LIMIT_MAX}; got {raw_limit!r}.",
                )
            )
    order = LIST_ORDER_DEFAULT
    raw_order = query.get("order")
    if raw_order is not None:
        try:
            order = Order(raw_order)
        except ValueError:
            allowed = ", ".join(member.value for member in Order)
            errors.append(FieldError("order", "invalid_order", f"order must be one of {allowed}; got {raw_order!r}."))
    before, after = query.get("before") or None, query.get("after") or None
    if before is not None and after is not None:
        # Assumed: the two cursors name opposite directions, so one request cannot take both.
        errors.append(FieldError("before", "invalid_cursor", "Pass either before or after, not both."))
    if errors:
        raise validation_failed(*errors)
    names = tuple(
        dict.fromkeys(normalize_domain(part) for value in domains for part in value.split(",") if part.strip())
    )
    return ListQuery(order, limit, before, after, names, query.get("search") or None)


# Bodies.


def json_object(body: Any) -> Json:
    if not isinstance(body, dict):
        raise validation_failed(FieldError("body", "invalid_type", "The request body must be a JSON object."))
    return body


def malformed_json(detail: str) -> ApiError:
    return validation_failed(FieldError("body", "invalid_json", f"The request body is not valid JSON: {detail}"))


@attrs.frozen
class DomainRequest:
    domain: str
    state: DomainState


@attrs.frozen
class OrganizationChanges:
    """A create or update body after checking; absent fields are `None` in `given`."""

    given: frozenset[str]
    name: str | None = None
    domains: tuple[DomainRequest, ...] = ()
    external_id: str | None = None
    metadata: dict[str, str | None] | None = None
    allow_profiles_outside_organization: bool | None = None
    stripe_customer_id: str | None = None


class Checker:
    """Collects the field errors of a body, so one 422 names them all, up to the most a 422
    lists (`MAX_FIELD_ERRORS`) and one more, which tells `validation_failed` the list is cut."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    @property
    def full(self) -> bool:
        """Whether more errors were found than a 422 lists: checking stops, so that a body of
        many bad items costs no more work than the errors it gets back."""
        return len(self.errors) > MAX_FIELD_ERRORS

    def fail(self, field: str, code: str, message: str) -> None:
        if not self.full:
            self.errors.append(FieldError(field, code, message))

    def string(self, body: Json, field: str, *, nullable: bool) -> str | None:
        value = body[field]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            kind = "a string or null" if nullable else "a string"
            self.fail(field, "invalid_type", f"{field} must be {kind}.")
            return None
        return value

    def domain(self, field: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.fail(field, "invalid_type", f"{field} must be a string.")
            return None
        domain = normalize_domain(value)
        if not DOMAIN_RE.fullmatch(domain):
            self.fail(field, "invalid_domain", f"{value!r} is not a valid domain name.")
            return None
        if domain in CONSUMER_DOMAINS:  # refused live; the 422 status is assumed
            self.fail(
                field,
                "consumer_domain",
                f"{domain} is a common consumer domain and cannot belong to an organization.",
            )
            return None
        return domain


_NULL_IS_ABSENT = frozenset({"domain_data", "domains", "allow_profiles_outside_organization"})


def organization_changes(body: Json, *, creating: bool, limits: Limits) -> OrganizationChanges:
    """Check a create (POST) or update (PUT) body.

    Type and shape errors are collected into one 422; metadata that breaks a limit is a
    400 ``invalid_metadata``, as the live API responds.
    """
    check = Checker()
    fields: dict[str, Any] = {}
    if "name" in body:
        name = check.string(body, "name", nullable=False)
        if name is not None and not name.strip():
            check.fail("name", "invalid_value", "name must not be empty.")
        elif name is not None and len(name) > limits.name_length:
            check.fail("name", "too_long", f"name must be at most {limits.name_length} characters; got {len(name)}.")
        fields["name"] = name
    elif creating:
        check.fail("name", "required", "name is required.")

    # An explicit null for these three means "not given" (recorded live: a create body with
    # all three null got a 201).
    body = {key: value for key, value in body.items() if value is not None or key not in _NULL_IS_ABSENT}
    domains: list[DomainRequest] = []
    if "domain_data" in body:
        entries = body["domain_data"]
        if not isinstance(entries, list):
            check.fail("domain_data", "invalid_type", "domain_data must be an array of {domain, state}.")
        else:
            for index, entry in enumerate(entries):
                if check.full:
                    break
                field = f"domain_data[{index}]"
                if not isinstance(entry, dict):
                    check.fail(field, "invalid_type", f"{field} must be an object with domain and state.")
                    continue
                domain = check.domain(f"{field}.domain", entry.get("domain"))
                state = entry.get("state")
                if not isinstance(state, str) or state not in DOMAIN_DATA_STATES:
                    allowed = " or ".join(sorted(DOMAIN_DATA_STATES))
                    check.fail(f"{field}.state", "invalid_state", f"{field}.state must be {allowed}; got {state!r}.")
                    continue
                if domain is not None:
                    domains.append(DomainRequest(domain, DomainState(state)))
        fields["domains"] = domains
    if "domains" in body:
        # Deprecated: plain domain names become legacy_verified domains.
        entries = body["domains"]
        if not isinstance(entries, list):
            check.fail("domains", "invalid_type", "domains must be an array of strings.")
        else:
            for index, entry in enumerate(entries):
                if check.full:
                    break
                domain = check.domain(f"domains[{index}]", entry)
                if domain is not None:
                    domains.append(DomainRequest(domain, DomainState.LEGACY_VERIFIED))
        fields["domains"] = domains

    if "external_id" in body:
        external_id = check.string(body, "external_id", nullable=True)
        if external_id is not None:
            if len(external_id) > limits.external_id_length:
                check.fail(
                    "external_id",
                    "too_long",
                    f"external_id must be at most {limits.external_id_length} characters; got {len(external_id)}.",
                )
            elif not EXTERNAL_ID_RE.fullmatch(external_id):
                check.fail("external_id", "invalid_format", "external_id must be non-empty ASCII text.")
        fields["external_id"] = external_id

    if "metadata" in body:
        fields["metadata"] = _metadata(check, body["metadata"], allow_null_values=not creating)

    if "allow_profiles_outside_organization" in body:
        value = body["allow_profiles_outside_organization"]
        if not isinstance(value, bool):
            check.fail(
                "allow_profiles_outside_organization",
                "invalid_type",
                "allow_profiles_outside_organization must be a boolean.",
            )
        fields["allow_profiles_outside_organization"] = value

    if not creating and "stripe_customer_id" in body:
        value = check.string(body, "stripe_customer_id", nullable=True)
        if value == "":
            check.fail("stripe_customer_id", "invalid_value", "stripe_customer_id must not be empty.")
        elif value is not None and len(value) > limits.stripe_customer_id_length:
            check.fail(
                "stripe_customer_id",
                "too_long",
                f"stripe_customer_id must be at most {limits.stripe_customer_id_length} characters; got {len(value)}.",
            )
        fields["stripe_customer_id"] = value

    if check.errors:
        raise validation_failed(*check.errors)
    if "domains" in fields:
        fields["domains"] = tuple(domains)
    return OrganizationChanges(given=frozenset(fields), **fields)


def _metadata(check: Checker, value: Any, *, allow_null_values: bool) -> dict[str, str | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        check.fail("metadata", "invalid_type", "metadata must be an object of strings, or null.")
        return None
    for key, item in value.items():
        if check.full:
            break
        if not (isinstance(item, str) or (item is None and allow_null_values)):
            kind = "a string, or null to remove the key" if allow_null_values else "a string"
            check.fail(f"metadata.{key}", "invalid_type", f"metadata value for {key!r} must be {kind}.")
    return value


def check_domain_count(field: str, count: int, limits: Limits) -> None:
    """An organization holds at most `limits.domains_per_organization` domains."""
    if count > limits.domains_per_organization:
        raise validation_failed(
            FieldError(
                field,
                "too_many_domains",
                f"An organization can have at most {limits.domains_per_organization} domains; this would make {count}.",
            )
        )


def check_metadata_limits(metadata: Mapping[str, str | None], limits: Limits, *, given: bool = False) -> None:
    """The limits apply to the metadata an organization ends up with and, on an update, to the
    metadata object the request `given` (the body's schema): a key it names only to remove it
    (null) still counts."""
    if len(metadata) > limits.metadata_keys:
        has = f"the request gives {len(metadata)}" if given else f"it would have {len(metadata)}"
        raise bad_request(INVALID_METADATA, f"Metadata can have at most {limits.metadata_keys} keys; {has}.")
    for key, value in metadata.items():
        if limits.metadata_ascii_only and not (key.isascii() and (value is None or value.isascii())):
            which = f"key {key[:60]!r}" if not key.isascii() else f"value for {key!r}"
            raise bad_request(INVALID_METADATA, f"Metadata {which} is not ASCII; keys and values must be ASCII.")
        if len(key) > limits.metadata_key_length:
            raise bad_request(
                INVALID_METADATA,
                f"Metadata key {key[:60]!r} is {len(key)} characters; keys can have at most {limits.metadata_key_length}.",
            )
        if value is not None and len(value) > limits.metadata_value_length:
            raise bad_request(
                INVALID_METADATA,
                f"Metadata value for {key!r} is {len(value)} characters; values can have at most"
                f" {limits.metadata_value_length}.",
            )


def domain_create(body: Json) -> tuple[str, str]:
    check = Checker()
    organization_id = None
    if "organization_id" not in body:
        check.fail("organization_id", "required", "organization_id is required.")
    else:
        organization_id = check.string(body, "organization_id", nullable=False)
    domain = None
    if "domain" not in body:
        check.fail("domain", "required", "domain is required.")
    else:
        domain = check.domain("domain", body["domain"])
    if check.errors or organization_id is None or domain is None:
        raise validation_failed(*check.errors)
    return organization_id, domain
