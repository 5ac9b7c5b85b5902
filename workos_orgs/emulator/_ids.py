"""Identifiers and timestamps as the API writes them."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .._contract import TIMESTAMP_RE, ULID_ALPHABET, ULID_LENGTH, format_timestamp

_DECODE = {char: value for value, char in enumerate(ULID_ALPHABET)}
_RANDOM_BITS = 80


def encode_ulid(value: int) -> str:
    chars = []
    for _ in range(ULID_LENGTH):
        value, digit = divmod(value, 32)
        chars.append(ULID_ALPHABET[digit])
    return "".join(reversed(chars))


def decode_ulid(text: str) -> int:
    value = 0
    for char in text:
        value = value * 32 + _DECODE[char]
    return value


def ulid_milliseconds(text: str) -> int:
    return decode_ulid(text) >> _RANDOM_BITS


class UlidFactory:
    """Makes ULIDs that strictly increase, so sorting by ID is sorting by creation.

    Within one millisecond the next ID is the previous one plus one (the ULID spec's
    monotonic mode); IDs already stored (seeded, or from a file kept across restarts) are
    fed to `observe` so new ones always sort after them.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0
        # The newest ULID as text too: `observe` is called before each ID is made, and most IDs
        # it sees are the last one made here.  (ULIDs sort as their text does: the alphabet is
        # in ASCII order.)
        self._last_text = encode_ulid(0)
        self._lock = threading.Lock()

    def new(self) -> str:
        with self._lock:
            candidate = (int(self._clock() * 1000) << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
            self._last = max(candidate, self._last + 1)
            self._last_text = encode_ulid(self._last)
            return self._last_text

    def at(self, milliseconds: int, *, after: str | None = None) -> str:
        """A ULID of another moment than now (milliseconds since the epoch), for a record
        seeded with the time it was made: after `after` (the newest stored ULID of that same
        moment, so records seeded with one time keep their order).  New ones still sort after it."""
        with self._lock:
            candidate = (max(0, milliseconds) << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
            if after is not None:
                candidate = max(candidate, decode_ulid(after) + 1)
            text = encode_ulid(candidate)
            if candidate > self._last:
                self._last, self._last_text = candidate, text
            return text

    @staticmethod
    def moment_bounds(milliseconds: int) -> tuple[str, str]:
        """The lowest ULID of a moment and of the next one: the moment's ULIDs sort between."""
        moment = max(0, milliseconds)
        return encode_ulid(moment << _RANDOM_BITS), encode_ulid((moment + 1) << _RANDOM_BITS)

    def observe(self, ulid: str) -> None:
        with self._lock:
            if ulid > self._last_text:
                self._last, self._last_text = decode_ulid(ulid), ulid


def epoch_timestamp(epoch_seconds: float) -> str:
    """`epoch_seconds` written as the API writes timestamps."""
    return format_timestamp(datetime.fromtimestamp(epoch_seconds, UTC))


def timestamp_milliseconds(timestamp: str) -> int:
    """Milliseconds since the epoch of a timestamp written as the API writes them (`is_timestamp`)."""
    return (datetime.fromisoformat(timestamp) - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime.fromtimestamp(0, UTC)


def is_timestamp(value: object) -> bool:
    """Whether `value` is a real moment written as the API writes them."""
    if not isinstance(value, str) or not TIMESTAMP_RE.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def random_text(alphabet: str, length: int) -> str:
    """`length` characters drawn uniformly from `alphabet`, from one read of the OS's random source.

    (`secrets.choice` per character reads it once per character: most of a domain create's time.)
    """
    size = len(alphabet)
    usable = 256 - 256 % size  # bytes at or above this would favour the alphabet's first characters
    chars: list[str] = []
    while len(chars) < length:
        chars += [alphabet[byte % size] for byte in secrets.token_bytes(2 * length) if byte < usable]
    return "".join(chars[:length])


def verification_token(length: int) -> str:
    return random_text(_ALPHANUMERIC, length)


def verification_prefix(app_name: str) -> str:
    return f"{app_name}-domain-verification-{random_text(_PREFIX_ALPHABET, 6)}"
