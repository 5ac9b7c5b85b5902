"""Every route the emulator serves, and the OpenAPI 3.1 document built from them.

The dispatchers (`_api.EmulatedApi` for the API, `_control.respond` for the control API) route by these
tables and nothing else, so a route cannot exist without being documented: adding one means
adding a `Route` here, and a test checks each operation has a handler and vice versa.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from .._contract import (
    EXTERNAL_ID_MAX_LENGTH,
    IDEMPOTENCY_KEY_HEADER,
    INVALID_REQUEST_PARAMETERS,
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    LIST_LIMIT_MIN,
    LIST_ORDER_DEFAULT,
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
    ORGANIZATION_DOMAIN_ID_PREFIX,
    ORGANIZATION_DOMAIN_ID_RE,
    ORGANIZATION_ID_PREFIX,
    ORGANIZATION_ID_RE,
    RATE_LIMIT_EXCEEDED,
    REQUEST_ID_HEADER,
    TIMESTAMP_RE,
    ULID_LENGTH,
    DomainState,
    DomainVerificationStrategy,
    Order,
)
from ._faults import CHAOS_KINDS, MAX_DELAY_MS, Chaos, Fault, defaults
from ._limits import Limits
from ._rules import FieldError

CONTROL_PREFIX: Final = "_emulator"
MAX_BODY_BYTES: Final = 1024 * 1024
# Longer request targets are a 414; the HTTP parser itself accepts up to MAX_LINE_BYTES.
MAX_URL_BYTES: Final = 16 * 1024
MAX_LINE_BYTES: Final = 64 * 1024


@attrs.frozen
class Param:
    name: str
    description: str
    schema: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "string"})
    required: bool = False


@attrs.frozen
class Route:
    """One operation: where it lives, what it takes and every status it can respond with.

    `responses` maps a status to a schema name in `SCHEMAS` (``None``: no body); the
    statuses any keyed route can respond with (`COMMON_RESPONSES`) are added by `responses_of`.
    """

    method: str
    path: str
    operation_id: str
    summary: str
    responses: Mapping[int, str | None]
    body: str | None = None
    query: tuple[Param, ...] = ()
    authenticated: bool = True
    idempotent_post: bool = False
    #: The path split at "/", computed once: every request is matched against it.
    segments: tuple[str, ...] = attrs.field(init=False)

    @segments.default
    def _split_path(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))

    def match(self, method: str, segments: tuple[str, ...]) -> dict[str, str] | None:
        """The path parameters when `method` and `segments` are this route's, else None."""
        if method != self.method or len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for pattern, segment in zip(self.segments, segments, strict=True):
            if pattern.startswith("{"):
                params[pattern[1:-1]] = segment
            elif pattern != segment:
                return None
        return params


def find(routes: tuple[Route, ...], method: str, segments: tuple[str, ...]) -> tuple[Route, dict[str, str]] | None:
    for route in routes:
        params = route.match(method, segments)
        if params is not None:
            return route, params
    return None


def check_handlers(table: tuple[Route, ...], handlers: Mapping[str, object]) -> None:
    """Refuse to start when a dispatcher's handlers and its route table disagree."""
    documented = {route.operation_id for route in table}
    if documented != set(handlers):
        raise RuntimeError(
            f"Route table and handlers disagree: undocumented {sorted(set(handlers) - documented)},"
            f" unhandled {sorted(documented - set(handlers))}."
        )


_ID = (
    f"An organization ID (`{ORGANIZATION_ID_PREFIX}` and a {ULID_LENGTH}-character ULID); anything else is a plain 404."
)
_DOMAIN_ID = (
    f"An organization domain ID (`{ORGANIZATION_DOMAIN_ID_PREFIX}` and a {ULID_LENGTH}-character ULID);"
    " anything else is a plain 404."
)

API_ROUTES: Final = (
    Route(
        "GET",
        "/organizations",
        "list_organizations",
        "List organizations, newest first by default.",
        {200: "OrganizationList", 422: "ValidationError"},
        query=(
            Param(
                "limit",
                f"Page size, {LIST_LIMIT_MIN} to {LIST_LIMIT_MAX}.",
                {
                    "type": "integer",
                    "minimum": LIST_LIMIT_MIN,
                    "maximum": LIST_LIMIT_MAX,
                    "default": LIST_LIMIT_DEFAULT,
                },
            ),
            Param(
                "order",
                "Sort order; `normal` is newest first with legacy cursor meaning.",
                {"type": "string", "enum": [member.value for member in Order], "default": LIST_ORDER_DEFAULT.value},
            ),
            Param("before", "Cursor: the page before this object ID (not with `after`)."),
            Param("after", "Cursor: the page after this object ID (not with `before`)."),
            Param("domains", "Comma-joined (or repeated) domains; an organization matches when any is its own."),
            Param("search", "Case-insensitive substring of the name."),
        ),
    ),
    Route(
        "POST",
        "/organizations",
        "create_organization",
        "Create an organization.",
        {201: "Organization", 400: "Error", 409: "Error", 422: "ValidationError"},
        body="CreateOrganization",
        idempotent_post=True,
    ),
    Route(
        "GET",
        "/organizations/external_id/{external_id}",
        "get_organization_by_external_id",
        "Get the organization with this external ID.",
        {200: "Organization", 404: "Error"},
    ),
    Route(
        "GET", "/organizations/{id}", "get_organization", "Get an organization.", {200: "Organization", 404: "Error"}
    ),
    Route(
        "PUT",
        "/organizations/{id}",
        "update_organization",
        "Update an organization; fields left out are left alone.",
        {200: "Organization", 400: "Error", 404: "Error", 409: "Error", 422: "ValidationError"},
        body="UpdateOrganization",
    ),
    Route(
        "DELETE",
        "/organizations/{id}",
        "delete_organization",
        "Delete an organization and its domains.",
        {202: "Accepted", 404: "Error"},
    ),
    Route(
        "POST",
        "/organization_domains",
        "create_organization_domain",
        "Add a pending domain to an organization.",
        {201: "OrganizationDomain", 400: "Error", 404: "Error", 409: "Error", 422: "ValidationError"},
        body="CreateOrganizationDomain",
        idempotent_post=True,
    ),
    Route(
        "GET",
        "/organization_domains/{id}",
        "get_organization_domain",
        "Get an organization domain.",
        {200: "OrganizationDomain", 404: "Error"},
    ),
    Route(
        "POST",
        "/organization_domains/{id}/verify",
        "verify_organization_domain",
        "Verify a domain (it ends `verified`, or `failed` when told to fail); any body is ignored.",
        {201: "OrganizationDomain", 400: "Error", 404: "Error"},
        idempotent_post=True,
    ),
    Route(
        "DELETE",
        "/organization_domains/{id}",
        "delete_organization_domain",
        "Delete an organization domain.",
        {204: None, 404: "Error"},
    ),
)

HEALTH_ROUTE: Final = Route(
    "GET",
    "/health",
    "health",
    "Readiness: 200 once the emulator serves requests, no key needed.",
    {200: "Health", 503: "Health"},
    authenticated=False,
)

CONTROL_ROUTES: Final = (
    Route(
        "POST",
        "/_emulator/reset",
        "reset",
        "Forget data, idempotency keys, faults and the request log.",
        {200: "Reset"},
    ),
    Route(
        "POST",
        "/_emulator/seed",
        "seed",
        "Load organizations (all of them, or none).",
        {201: "SeedResult", 422: "ControlError"},
        body="Seed",
    ),
    Route("GET", "/_emulator/faults", "list_faults", "Faults still waiting for requests.", {200: "FaultList"}),
    Route(
        "POST", "/_emulator/faults", "add_fault", "Queue a fault.", {201: "Fault", 422: "ControlError"}, body="Fault"
    ),
    Route("DELETE", "/_emulator/faults", "clear_faults", "Drop every pending fault.", {204: None}),
    Route("GET", "/_emulator/held", "count_held", "How many requests faults keep waiting now.", {200: "Held"}),
    Route(
        "POST",
        "/_emulator/held/release",
        "release_held",
        "Let every waiting request go on now (a hold ends, a delay is cut short).",
        {200: "Released"},
    ),
    Route(
        "POST",
        "/_emulator/chaos",
        "set_chaos",
        "Fault a random share of requests from now on.",
        {201: "Chaos", 422: "ControlError"},
        body="Chaos",
    ),
    Route("DELETE", "/_emulator/chaos", "stop_chaos", "Stop random faults.", {204: None}),
    Route(
        "POST",
        "/_emulator/verifications",
        "fail_verifications",
        "Make the next domain verifications end `failed`.",
        {200: "Verifications", 422: "ControlError"},
        body="Verifications",
    ),
    Route("GET", "/_emulator/dns", "list_dns", "The TXT records in the simulated DNS.", {200: "TxtRecordList"}),
    Route(
        "POST",
        "/_emulator/dns",
        "publish_dns",
        "Publish a TXT record: a domain's verification record, or any name and value.",
        {201: "TxtRecord", 422: "ControlError"},
        body="PublishTxtRecord",
    ),
    Route("DELETE", "/_emulator/dns", "clear_dns", "Remove every TXT record.", {204: None}),
    Route("GET", "/_emulator/requests", "list_requests", "The API requests seen, oldest first.", {200: "RequestLog"}),
    Route("GET", "/_emulator/openapi.json", "openapi", "This document.", {200: "OpenAPI"}),
)

ROUTES: Final = (*API_ROUTES, HEALTH_ROUTE, *CONTROL_ROUTES)

# What any keyed route can respond with besides its own statuses.
COMMON_RESPONSES: Final[Mapping[int, str]] = {
    400: "Error",  # bytes that are not valid HTTP, refused before any route
    401: "Error",
    408: "Error",  # a body that stopped arriving
    413: "Error",
    414: "Error",
    429: "RateLimited",
}
# Statuses every request can get, whatever its route (unknown routes are a plain 404).
UNROUTED_RESPONSES: Final[Mapping[int, str]] = {**COMMON_RESPONSES, 404: "Error"}


def responses_of(route: Route) -> dict[int, str | None]:
    """Every status `route` can respond with, and its body schema."""
    common = dict(COMMON_RESPONSES)
    if not route.authenticated:
        del common[401], common[429]  # no key asked for, and no request of its counted
    if route in CONTROL_ROUTES:
        common.pop(429)  # rate limits count API requests only
        common[422] = "ControlError"  # a control body that is not JSON (or not an object)
    if route.body is not None or route.idempotent_post:
        common[422] = "ValidationError" if route in API_ROUTES else "ControlError"
    if route.path.count("{"):
        common[404] = "Error"
    if route.idempotent_post:
        common[400] = "Error"  # an Idempotency-Key reused with another body, or not text
    if route in API_ROUTES:
        common[503] = "Error"  # a --db file held by another process past the busy timeout
    return {**common, **route.responses}


# Schemas.

_TIMESTAMP = {"type": "string", "pattern": f"^{TIMESTAMP_RE.pattern}$"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_METADATA_IN = {
    "type": ["object", "null"],
    "maxProperties": METADATA_MAX_KEYS,
    "propertyNames": {"maxLength": METADATA_MAX_KEY_LENGTH},
    "additionalProperties": {"type": ["string", "null"], "maxLength": METADATA_MAX_VALUE_LENGTH},
}
_DOMAIN_DATA = {
    "type": ["array", "null"],
    "items": {
        "type": "object",
        "required": ["domain", "state"],
        "properties": {
            "domain": {"type": "string"},
            "state": {"type": "string", "enum": [DomainState.PENDING.value, DomainState.VERIFIED.value]},
        },
    },
}
_ORGANIZATION_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1},
    "domain_data": _DOMAIN_DATA,
    "external_id": {**_NULLABLE_STRING, "maxLength": EXTERNAL_ID_MAX_LENGTH},
    "metadata": _METADATA_IN,
    "allow_profiles_outside_organization": {"type": ["boolean", "null"], "deprecated": True},
    "domains": {"type": ["array", "null"], "items": {"type": "string"}, "deprecated": True},
}


_FAULT: Final = defaults(Fault)
_CHAOS: Final = defaults(Chaos)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], properties: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": dict(properties), **extra}


SCHEMAS: Final[Mapping[str, Any]] = {
    "OrganizationDomain": _object(
        ["object", "id", "organization_id", "domain", "created_at", "updated_at"],
        {
            "object": {"const": "organization_domain"},
            "id": {"type": "string", "pattern": f"^{ORGANIZATION_DOMAIN_ID_RE.pattern}$"},
            "organization_id": {"type": "string"},
            "domain": {"type": "string"},
            "state": {"type": "string", "enum": [member.value for member in DomainState]},
            "verification_strategy": {
                "type": "string",
                "enum": [member.value for member in DomainVerificationStrategy],
            },
            "verification_token": {"type": "string"},
            "verification_prefix": {"type": "string"},
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
        },
    ),
    "Organization": _object(
        [
            "object",
            "id",
            "name",
            "domains",
            "metadata",
            "external_id",
            "allow_profiles_outside_organization",
            "created_at",
            "updated_at",
        ],
        {
            "object": {"const": "organization"},
            "id": {"type": "string", "pattern": f"^{ORGANIZATION_ID_RE.pattern}$"},
            "name": {"type": "string"},
            "domains": {"type": "array", "items": _ref("OrganizationDomain")},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "external_id": _NULLABLE_STRING,
            "stripe_customer_id": {"type": "string"},
            "allow_profiles_outside_organization": {"type": "boolean", "deprecated": True},
            "created_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
        },
    ),
    "OrganizationList": _object(
        ["object", "data", "list_metadata"],
        {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("Organization")},
            "list_metadata": _object(["before", "after"], {"before": _NULLABLE_STRING, "after": _NULLABLE_STRING}),
        },
    ),
    "Accepted": {"type": "string", "const": "Accepted", "contentMediaType": "text/plain"},
    "CreateOrganization": _object(["name"], _ORGANIZATION_FIELDS),
    "UpdateOrganization": _object(
        [],
        {
            **_ORGANIZATION_FIELDS,
            "name": {"type": "string", "minLength": 1},
            "stripe_customer_id": {**_NULLABLE_STRING, "minLength": 1},
        },
    ),
    "CreateOrganizationDomain": _object(
        ["organization_id", "domain"], {"organization_id": {"type": "string"}, "domain": {"type": "string"}}
    ),
    "Error": _object(
        ["message"],
        {"message": {"type": "string"}, "code": {"type": "string"}, "entity_id": {"type": "string"}},
    ),
    "RateLimited": _object(
        ["message", "code"], {"message": {"type": "string"}, "code": {"const": RATE_LIMIT_EXCEEDED}}
    ),
    "ValidationError": _object(
        ["message"],
        {
            "code": {"const": INVALID_REQUEST_PARAMETERS},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                # The assumed item shape, as `FieldError` makes it.
                "items": _object(
                    [field.name for field in attrs.fields(FieldError)],
                    {field.name: {"type": "string"} for field in attrs.fields(FieldError)},
                ),
            },
        },
    ),
    "ControlError": _object(
        ["message"], {"code": {"const": INVALID_REQUEST_PARAMETERS}, "message": {"type": "string"}}
    ),
    "Health": _object(["status"], {"status": {"type": "string", "enum": ["ok", "starting"]}}),
    "Reset": _object(["reset"], {"reset": {"const": True}}),
    "Seed": {
        "description": 'Seed data: {"organizations": [...]} or the list itself (see the README).',
        "type": ["object", "array"],
    },
    "SeedResult": _object(["organizations"], {"organizations": {"type": "array", "items": _ref("Organization")}}),
    "Fault": _object(
        [],
        {
            "method": {"type": "string", "default": _FAULT["method"]},
            "path": {"type": "string", "default": _FAULT["path"], "description": "A glob; `*` also crosses `/`."},
            "status": {"type": ["integer", "null"], "minimum": 200, "maximum": 599},
            "body": {"description": "A JSON value, or a string sent as text."},
            "content_type": _NULLABLE_STRING,
            "retry_after": {"type": ["integer", "number", "string", "null"]},
            "delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS, "default": _FAULT["delay_ms"]},
            "drop": {"enum": ["before", "after", None]},
            "times": {"type": "integer", "minimum": 1, "default": _FAULT["times"]},
            "hold": {
                "type": "boolean",
                "default": _FAULT["hold"],
                "description": "Hold the request until `POST /_emulator/held/release` (instead of a delay).",
            },
            "remaining": {"type": "integer", "readOnly": True},
        },
    ),
    "Held": _object(["held"], {"held": {"type": "integer", "minimum": 0}}),
    "Released": _object(["released"], {"released": {"type": "integer", "minimum": 0}}),
    "FaultList": _object(["data"], {"data": {"type": "array", "items": _ref("Fault")}}),
    "Chaos": _object(
        [],
        {
            "rate": {"type": "number", "minimum": 0, "maximum": 1, "default": _CHAOS["rate"]},
            "kinds": {"type": "array", "items": {"enum": list(CHAOS_KINDS)}, "minItems": 1},
            "slow_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS, "default": _CHAOS["slow_ms"]},
            "retry_after": {"type": "integer", "minimum": 0, "default": _CHAOS["retry_after"]},
            "seed": {"type": ["integer", "null"]},
        },
    ),
    "Verifications": _object([], {"fail_next": {"type": "integer", "minimum": 0, "default": 1}}),
    "TxtRecord": _object(["name", "value"], {"name": {"type": "string"}, "value": {"type": "string"}}),
    "TxtRecordList": _object(["data"], {"data": {"type": "array", "items": _ref("TxtRecord")}}),
    "PublishTxtRecord": {
        "oneOf": [
            _object(["domain_id"], {"domain_id": {"type": "string"}}, additionalProperties=False),
            _object(
                ["name", "value"], {"name": {"type": "string"}, "value": {"type": "string"}}, additionalProperties=False
            ),
        ]
    },
    "RequestLog": _object(
        ["data"],
        {
            "data": {
                "type": "array",
                "items": _object(
                    ["method", "path", "query", "idempotency_key", "status", "fault", "request_id"],
                    {
                        "method": {"type": "string"},
                        "path": {"type": "string"},
                        "query": {"type": "string"},
                        "idempotency_key": _NULLABLE_STRING,
                        "status": {"type": ["integer", "null"]},
                        "fault": _NULLABLE_STRING,
                        "request_id": {"type": "string"},
                    },
                ),
            }
        },
    ),
    "OpenAPI": _object(["openapi", "paths"], {"openapi": {"type": "string"}, "paths": {"type": "object"}}),
}

_DESCRIPTIONS: Final[Mapping[int, str]] = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad request: a refused value, an Idempotency-Key reused with another body, or bytes that are not valid HTTP",
    401: "Missing or wrong API key",
    408: "The request body stopped arriving (the connection is closed)",
    404: "Unknown ID (a malformed ID is a plain `Not Found`)",
    409: "The domain already exists on that organization",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    414: f"The request target is longer than {MAX_URL_BYTES} bytes",
    422: "Invalid body or query",
    429: "Rate limited (only with rate limits on); see Retry-After",
    503: "Starting, or the database file is busy; see Retry-After",
}


def _operation(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, schema in sorted(responses_of(route).items()):
        headers = {REQUEST_ID_HEADER: {"schema": {"type": "string", "format": "uuid"}}}
        if status in (429, 503):
            headers["Retry-After"] = {"schema": {"type": "integer"}}
        documented: dict[str, Any] = {"description": _DESCRIPTIONS[status], "headers": headers}
        if schema == "Accepted":
            documented["content"] = {"text/plain": {"schema": _ref(schema)}}
        elif schema is not None:
            documented["content"] = {"application/json": {"schema": _ref(schema)}}
        responses[str(status)] = documented
    parameters: list[dict[str, Any]] = [
        {"name": name[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for name in route.segments
        if name.startswith("{")
    ]
    for param in parameters:
        if param["name"] == "id":
            param["description"] = _DOMAIN_ID if "organization_domains" in route.path else _ID
    parameters += [
        {
            "name": param.name,
            "in": "query",
            "required": param.required,
            "description": param.description,
            "schema": dict(param.schema),
        }
        for param in route.query
    ]
    if route.idempotent_post:
        parameters.append(
            {
                "name": IDEMPOTENCY_KEY_HEADER,
                "in": "header",
                "required": False,
                "description": "The same key with the same body replays the first response; with another body, 400.",
                "schema": {"type": "string"},
            }
        )
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": route.operation_id not in ("add_fault", "set_chaos", "fail_verifications"),
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
    if not route.authenticated:
        operation["security"] = []
    if route in CONTROL_ROUTES:
        operation["tags"] = ["emulator control"]
    return operation


def _with_limits(schemas: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """`schemas` with the body limits one emulator enforces."""
    ascii_only = {"pattern": "^[\\x00-\\x7f]*$"} if limits.metadata_ascii_only else {}
    metadata = {
        **_METADATA_IN,
        "maxProperties": limits.metadata_keys,
        "propertyNames": {"maxLength": limits.metadata_key_length, **ascii_only},
        "additionalProperties": {
            "type": ["string", "null"],
            "maxLength": limits.metadata_value_length,
            **ascii_only,
        },
    }
    external_id = {**_NULLABLE_STRING, "maxLength": limits.external_id_length}
    adjusted = dict(schemas)
    for name in ("CreateOrganization", "UpdateOrganization"):
        schema = adjusted[name]
        properties = {**schema["properties"], "metadata": metadata, "external_id": external_id}
        properties["name"] = {**properties["name"], "maxLength": limits.name_length}
        if "stripe_customer_id" in properties:
            stripe_customer_id = {**properties["stripe_customer_id"], "maxLength": limits.stripe_customer_id_length}
            properties["stripe_customer_id"] = stripe_customer_id
        adjusted[name] = {**schema, "properties": properties}
    return adjusted


def openapi_document(limits: Limits | None = None) -> dict[str, Any]:
    """The emulator's own API as OpenAPI 3.1: every route, parameter, body and status."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "WorkOS Organizations API (local emulator)",
            "version": "1",
            "description": (
                "The organization and organization-domain endpoints as this emulator implements them,"
                " plus its control API under /_emulator/. Every response carries X-Request-ID; every error"
                ' body is JSON. Any unknown route is a 404 `{"message": "Not Found"}`.'
            ),
        },
        "servers": [{"url": "http://127.0.0.1:4100"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "The emulator's API key."}
            },
            "schemas": _with_limits(SCHEMAS, limits or Limits()),
        },
    }
