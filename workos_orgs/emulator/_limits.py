"""How much the emulator accepts: the API's published limits and its own caps, in one place."""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._contract import (
    EXTERNAL_ID_MAX_LENGTH,
    METADATA_MAX_KEY_LENGTH,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_LENGTH,
)

#: The largest header line the HTTP parser accepts (aiohttp's and nginx's default): headers
#: are read before the key is checked, so a keyless client can make the emulator hold at most
#: MAX_HEADER_BYTES * MAX_HEADERS (half a MiB) of header bytes per connection, about 1 MiB of
#: memory as the parser holds them (1,000 such connections: ~1,000 MiB).  Larger is a JSON 400.
MAX_HEADER_BYTES: Final = 8190
#: The most header lines one request may have; more is a JSON 400.
MAX_HEADERS: Final = 64
#: The most items a 422's ``errors`` lists.  Checking stops at the next error found, and the
#: message then says the list is cut: a 1 MiB body of 500,000 bad list items would otherwise
#: be a 48 MB response, kept a day under its Idempotency-Key, and seconds of the event loop.
MAX_FIELD_ERRORS: Final = 100


def positive_count(instance: Any, attribute: attrs.Attribute[int], value: Any) -> None:
    """An attrs validator: `value` is a whole number of at least 1 (a `ValueError` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a whole number of at least 1; got {value!r}.")


def flag(instance: Any, attribute: attrs.Attribute[bool], value: Any) -> None:
    """An attrs validator: `value` is True or False (a `ValueError` otherwise)."""
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be True or False; got {value!r}.")


@attrs.frozen(kw_only=True)
class Limits:
    """What one emulator accepts, e.g. ``Emulator(limits=Limits(metadata_keys=10))``.

    The metadata and external ID limits are the API spec's; WorkOS's metadata docs say 10
    keys instead of 50, and ASCII only (the sources conflict, so pick the one your tests need:
    ``Limits(metadata_keys=10, metadata_ascii_only=True)`` is the docs').  The others
    are the emulator's own caps (assumed: the live API publishes none), so that no client can
    make it grow without bound.
    """

    metadata_keys: int = attrs.field(default=METADATA_MAX_KEYS, validator=positive_count)
    metadata_key_length: int = attrs.field(default=METADATA_MAX_KEY_LENGTH, validator=positive_count)
    metadata_value_length: int = attrs.field(default=METADATA_MAX_VALUE_LENGTH, validator=positive_count)
    external_id_length: int = attrs.field(default=EXTERNAL_ID_MAX_LENGTH, validator=positive_count)
    #: Metadata keys and values of ASCII characters only, as the metadata docs say (the spec
    #: takes any text).
    metadata_ascii_only: bool = attrs.field(default=False, validator=flag)
    #: Characters in an organization's name and its ``stripe_customer_id``, so that no one
    #: organization can make every listing page megabytes long.
    name_length: int = attrs.field(default=255, validator=positive_count)
    stripe_customer_id_length: int = attrs.field(default=255, validator=positive_count)
    #: Domains one organization may have; a full list page then stays a few MiB.
    domains_per_organization: int = attrs.field(default=100, validator=positive_count)
    #: Characters in an ``Idempotency-Key``; every key is stored for a day.
    idempotency_key_length: int = attrs.field(default=255, validator=positive_count)
    #: Bytes of idempotency records (each response kept, and its key) kept at most; the oldest
    #: go first.  Refusals are kept too, and one may echo most of a 1 MiB body.
    idempotency_bytes: int = attrs.field(default=64 * 1024 * 1024, validator=positive_count)
    #: The request log (`Emulator.requests`) keeps at most this many entries ...
    request_log_entries: int = attrs.field(default=100_000, validator=positive_count)
    #: ... and about this many bytes of paths, queries and keys; the oldest go first.
    request_log_bytes: int = attrs.field(default=16 * 1024 * 1024, validator=positive_count)
