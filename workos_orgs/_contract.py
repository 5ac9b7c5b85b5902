"""The facts of the WorkOS Organizations API wire, kept in one place.

Both halves of the package read this module: the SDK checks the values it owns before
sending them, and the emulator enforces the same limits.  Choices that the published sources
leave open are marked *assumed* so they are easy to find and change.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from typing import Final

DEFAULT_BASE_URL: Final = "https://api.workos.com"

# Identifiers: a prefix and a 26-character ULID in Crockford base32, so IDs sort by creation.
ULID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH: Final = 26
ORGANIZATION_ID_PREFIX: Final = "org_"
ORGANIZATION_DOMAIN_ID_PREFIX: Final = "org_domain_"
_ULID_PATTERN: Final = f"[{ULID_ALPHABET}]{{{ULID_LENGTH}}}"
ORGANIZATION_ID_RE: Final = re.compile(ORGANIZATION_ID_PREFIX + _ULID_PATTERN)
ORGANIZATION_DOMAIN_ID_RE: Final = re.compile(ORGANIZATION_DOMAIN_ID_PREFIX + _ULID_PATTERN)

# Listing.
LIST_LIMIT_MIN: Final = 1
LIST_LIMIT_MAX: Final = 100
LIST_LIMIT_DEFAULT: Final = 10


class Order(enum.StrEnum):
    """Sort order of a list call.

    ``desc`` (the default) and ``asc`` page forward with ``after``.  ``normal`` lists newest
    first but keeps the legacy cursor meaning: ``after`` fetches newer records and ``before``
    older ones.
    """

    DESC = "desc"
    ASC = "asc"
    NORMAL = "normal"


LIST_ORDER_DEFAULT: Final = Order.DESC


def normalize_cursor(cursor: str | None) -> str | None:
    """A page's ``before``/``after`` cursor, with an empty string read as no cursor (as null is)."""
    return cursor or None


# Create and update bodies.
METADATA_MAX_KEYS: Final = 50
# WorkOS's metadata docs say 10 keys where the spec says 50 (the sources conflict): an object
# of no more keys than this fits the limit whichever is right.
METADATA_DOCS_MAX_KEYS: Final = 10
METADATA_MAX_KEY_LENGTH: Final = 40
METADATA_MAX_VALUE_LENGTH: Final = 600
EXTERNAL_ID_MAX_LENGTH: Final = 128
EXTERNAL_ID_RE: Final = re.compile(r"[\x00-\x7f]+")


class DomainState(enum.StrEnum):
    """Verification state of an organization domain."""

    PENDING = "pending"
    VERIFIED = "verified"
    FAILED = "failed"
    LEGACY_VERIFIED = "legacy_verified"
    UNVERIFIED = "unverified"


class DomainVerificationStrategy(enum.StrEnum):
    """How an organization domain is (or was) verified."""

    DNS = "dns"
    MANUAL = "manual"


# The states a caller may ask for in ``domain_data``.
DOMAIN_DATA_STATES: Final = frozenset({DomainState.PENDING, DomainState.VERIFIED})
# The states of a domain that is verified (a legacy one was verified before states existed).
VERIFIED_STATES: Final = frozenset({DomainState.VERIFIED, DomainState.LEGACY_VERIFIED})


def normalize_domain(domain: str) -> str:
    """A domain name as the API stores it: trimmed, lowercase, without a trailing dot.

    The SDK, bulk sync and the emulator all compare domains through this one function.
    """
    return domain.strip().lower().rstrip(".")


TIMESTAMP_RE: Final = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
"""The shape of a timestamp as the API writes it, and `format_timestamp` with it (a full match)."""


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, as the API writes them: ``2026-01-15T12:00:00.000Z``;
    a moment whose UTC falls outside the years a datetime holds keeps its own offset."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in the year 0
        return moment.isoformat(timespec="milliseconds")
    # The year by hand: %Y leaves out the leading zeros of a year before 1000.
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


DOMAIN_RE: Final = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]")

# Refused as organization domains.  The live list is longer and unpublished (assumed).
CONSUMER_DOMAINS: Final = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "gmx.de",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "yahoo.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)

VERIFICATION_TOKEN_LENGTH: Final = 25


def verification_record_name(prefix: str, domain: str) -> str:
    """The name of the DNS TXT record that verifies `domain`, which holds its token."""
    return f"{prefix}.{domain}"


# Idempotency and rate limits.
IDEMPOTENCY_KEY_HEADER: Final = "Idempotency-Key"
IDEMPOTENCY_TTL_SECONDS: Final = 24 * 60 * 60
RATE_LIMIT_WINDOW_SECONDS: Final = 60.0
RATE_LIMIT_REQUESTS: Final = 6_000
RATE_LIMIT_ORGANIZATION_DELETES: Final = 50


def is_organization_delete(method: str, path_segments: tuple[str, ...]) -> bool:
    """Whether a request counts against the organization-delete limit."""
    return method == "DELETE" and path_segments[:1] == ("organizations",)


REQUEST_ID_HEADER: Final = "X-Request-ID"

DELETED_ORGANIZATION_BODY: Final = b"Accepted"
"""The body of the API's 202 to an organization's delete (as text/plain); a domain's delete is
a 204 with no body."""

# Error codes: the SDK acts on the first four, and the emulator sends them all.
ENTITY_NOT_FOUND: Final = "entity_not_found"  # 404: no such organization or domain
EXTERNAL_ID_ALREADY_USED: Final = "external_id_already_used"  # 400: another organization has it
DOMAIN_ALREADY_EXISTS: Final = "domain_already_exists"  # 409: the organization has that domain
DOMAIN_ALREADY_VERIFIED: Final = "domain_already_verified"  # 400: verified already
STRIPE_CUSTOMER_ID_ALREADY_USED: Final = "stripe_customer_id_already_used"  # 400: another organization has it
INVALID_METADATA: Final = "invalid_metadata"  # 400: metadata breaks a limit
INVALID_REQUEST_PARAMETERS: Final = "invalid_request_parameters"  # 422: a bad body or query
RATE_LIMIT_EXCEEDED: Final = "rate_limit_exceeded"  # 429
