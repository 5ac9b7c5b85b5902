"""The requests an emulator has seen, for tests that count attempts; bounded in entries and bytes."""

from __future__ import annotations

import threading
from collections import deque

import attrs


@attrs.frozen
class RecordedRequest:
    """A request the emulator saw, for tests that count attempts."""

    method: str
    path: str
    query: str
    idempotency_key: str | None
    status: int | None  # None when the connection was dropped
    fault: str | None
    request_id: str


# What an entry costs besides its strings (the object, its slots, the request ID).
_ENTRY_OVERHEAD = 200


def _size(entry: RecordedRequest) -> int:
    return _ENTRY_OVERHEAD + len(entry.path) + len(entry.query) + len(entry.idempotency_key or "")


class RequestLog:
    """The newest requests, at most `max_entries` of them and about `max_bytes` in all.

    A request target may be 16 KiB, so a count alone would let the log reach gigabytes; the
    oldest entries go first when either bound is reached.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._entries: deque[RecordedRequest] = deque()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def append(self, entry: RecordedRequest) -> None:
        size = _size(entry)
        with self._lock:
            self._entries.append(entry)
            self._bytes += size
            while len(self._entries) > self._max_entries or (self._bytes > self._max_bytes and len(self._entries) > 1):
                self._bytes -= _size(self._entries.popleft())

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    @property
    def bytes(self) -> int:
        """About how much memory the entries hold."""
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
