"""Fault injection: what the next N matching requests suffer instead of a normal response."""

from __future__ import annotations

import fnmatch
import math
import random
import re
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs
import orjson

Drop = Literal["before", "after"]

# A fault may hold a request this long at most, so no spec can hang a connection for good.
MAX_DELAY_MS: Final = 10 * 60 * 1000
_CONTENT_TYPE_RE: Final = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")
_HEADER_VALUE_RE: Final = re.compile(r"[\x20-\x7e]{1,200}")


_METHOD_RE: Final = re.compile(r"\*|[A-Za-z]{1,20}")
# `?` alone is the glob's any-character; `?name=value` is a query string.
_QUERY_RE: Final = re.compile(r"\?[^/]*=")


def _upper(method: Any) -> str:
    if not isinstance(method, str) or not _METHOD_RE.fullmatch(method):
        raise ValueError(f"method must be an HTTP method name such as 'POST', or '*'; got {method!r}.")
    return method.upper()


def _path(instance: Any, attribute: attrs.Attribute[str], value: Any) -> None:
    # A fault is matched against the request's path alone, decoded, without its query.
    if not isinstance(value, str):
        raise ValueError(f"path must be a glob such as '/organizations/*', or '*'; got {value!r}.")
    if not value.startswith(("/", "*")):
        raise ValueError(f"path must start with '/' (or be '*'): {value!r} could never match a request.")
    if _QUERY_RE.search(value):
        raise ValueError(f"path is matched without the query string, so {value!r} could never match; drop the '?...'.")


def _drop(instance: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value not in (None, "before", "after"):
        raise ValueError(f"drop must be 'before' (nothing done) or 'after' (done, then dropped); got {value!r}.")


def _whole(low: int, high: int | None = None) -> Any:
    """A validator: an int (not a bool) from `low` to `high`."""

    def check(instance: Any, attribute: attrs.Attribute[int], value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"{attribute.name} must be a whole number {bounds}; got {value!r}.")

    return check


def _flag(instance: Any, attribute: attrs.Attribute[bool], value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be true or false; got {value!r}.")


def _json_body(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # Checked here, so that a bad body is the caller's error now, not an internal 500 later.
    if value is None or isinstance(value, str):
        return
    try:
        orjson.dumps(value)
    except TypeError as error:
        raise ValueError(
            f"body must be a string or a JSON value (dicts with string keys, lists, ...): {error}"
        ) from None


def _content_type(instance: Any, attribute: attrs.Attribute[str | None], value: Any) -> None:
    if value is not None and not (isinstance(value, str) and _CONTENT_TYPE_RE.fullmatch(value)):
        raise ValueError(f"content_type must be a media type such as 'text/html'; got {value!r}.")


def _retry_after(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"retry_after must be seconds (a number) or a header value; got {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"retry_after must be a finite number; got {value!r}.")
    if isinstance(value, int | float) and value < 0:
        raise ValueError(f"retry_after must not be negative (a number of seconds to wait); got {value!r}.")
    if isinstance(value, str) and not _HEADER_VALUE_RE.fullmatch(value):
        raise ValueError("retry_after as text must be 1 to 200 printable ASCII characters.")


@attrs.frozen(kw_only=True)
class Fault:
    """One injected fault.

    It matches requests by `method` (``"*"`` for any) and `path` (a glob such as
    ``"/organizations/*"``; ``*`` also crosses ``/``), for the next `times` matching requests.
    What happens, in this order: wait `delay_ms` (or, with ``hold=True``, until the test
    calls `Emulator.release_held`); then either drop the connection before
    doing the work (``drop="before"``), respond `status` with `body` (a JSON value or a
    string) and `retry_after`, do the work and then drop the connection without responding
    (``drop="after"`` -- the "did my create happen?" case), or, with only a delay, respond
    normally.
    """

    method: str = attrs.field(default="*", converter=_upper)
    path: str = attrs.field(default="*", validator=_path)
    status: int | None = attrs.field(default=None, validator=attrs.validators.optional(_whole(200, 599)))
    body: Any = attrs.field(default=None, validator=_json_body)
    content_type: str | None = attrs.field(default=None, validator=_content_type)
    retry_after: int | float | str | None = attrs.field(default=None, validator=_retry_after)
    delay_ms: int = attrs.field(default=0, validator=_whole(0, MAX_DELAY_MS))
    drop: Drop | None = attrs.field(default=None, validator=_drop)
    times: int = attrs.field(default=1, validator=_whole(1))
    hold: bool = attrs.field(default=False, validator=_flag)

    def __attrs_post_init__(self) -> None:
        if self.status is not None and self.drop is not None:
            raise ValueError("A fault either responds with a status or drops the connection, not both.")
        if self.hold and self.delay_ms:
            raise ValueError("A fault either holds the request until released or delays it by delay_ms, not both.")
        if self.status is None and self.drop is None and self.delay_ms == 0 and not self.hold:
            raise ValueError("A fault needs a status, a drop ('before' or 'after'), a delay_ms or hold=True.")

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault is for a request of `method` to `path`."""
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path)

    @property
    def kind(self) -> str:
        """What it does, as a log names it: ``drop_before``, ``status_503``, ``hold`` or ``delay``."""
        if self.drop is not None:
            return f"drop_{self.drop}"
        if self.status is not None:
            return f"status_{self.status}"
        return "hold" if self.hold else "delay"


@attrs.frozen
class PendingFault:
    """A queued fault and how many more requests it will hit."""

    fault: Fault
    remaining: int


class FaultQueue:
    """Faults waiting for their requests; safe to add to from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[list[Any]] = []  # [fault, remaining]

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._pending.append([fault, fault.times])
        return fault

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[PendingFault]:
        with self._lock:
            return [PendingFault(fault, remaining) for fault, remaining in self._pending]

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault that matches, used up once."""
        with self._lock:
            for entry in self._pending:
                fault, remaining = entry
                if fault.matches(method, path):
                    if remaining == 1:
                        self._pending.remove(entry)
                    else:
                        entry[1] = remaining - 1
                    return fault  # type: ignore[no-any-return]
        return None


CHAOS_KINDS: Final = ("429", "500", "502", "503", "slow", "drop_before", "drop_after")


def _rate(instance: Any, attribute: attrs.Attribute[float], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} is a share of requests, from 0 to 1; got {value}.")


def _kinds(instance: Any, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[Any, ...]) -> None:
    if not value or any(not isinstance(kind, str) or kind not in CHAOS_KINDS for kind in value):
        raise ValueError(f"kinds must be some of {', '.join(CHAOS_KINDS)}; got {list(value)!r}.")


def _kinds_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"kinds must be a list of some of {', '.join(CHAOS_KINDS)}; got {value!r}.")
    return tuple(value)


def _seed(instance: Any, attribute: attrs.Attribute[int | None], value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"seed must be a whole number or null; got {value!r}.")


@attrs.frozen(kw_only=True)
class Chaos:
    """Random faults on a share of API requests, for soak tests.

    Each request that no queued `Fault` matched suffers, with probability `rate`, one of
    `kinds` picked at random: a 429 with ``Retry-After: retry_after``, a 500/502/503, a reply
    delayed by `slow_ms` (longer than a client's timeout, say), or a connection dropped
    before or after the work.  `seed` makes the sequence repeatable.
    """

    rate: float = attrs.field(default=0.1, validator=_rate)
    kinds: tuple[str, ...] = attrs.field(default=CHAOS_KINDS, converter=_kinds_tuple, validator=_kinds)
    slow_ms: int = attrs.field(default=2000, validator=_whole(0, MAX_DELAY_MS))
    retry_after: int = attrs.field(default=1, validator=_whole(0))
    seed: int | None = attrs.field(default=None, validator=_seed)

    def fault_for(self, kind: str) -> Fault:
        if kind == "slow":
            return Fault(delay_ms=max(1, self.slow_ms))
        if kind.startswith("drop_"):
            return Fault(drop="before" if kind == "drop_before" else "after")
        return Fault(status=int(kind), retry_after=self.retry_after if kind == "429" else None)


def defaults(cls: type[Fault | Chaos]) -> Mapping[str, Any]:
    """Each field of `cls` and its default: what `Emulator.inject_fault` and the OpenAPI
    document say too."""
    return MappingProxyType({field.name: field.default for field in attrs.fields(cls)})


class ChaosSource:
    """Draws chaos faults; safe to reconfigure from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chaos: Chaos | None = None
        self._random = random.Random()  # noqa: S311 -- fault injection, not a secret

    def set(self, chaos: Chaos | None) -> None:
        with self._lock:
            self._chaos = chaos
            self._random = random.Random(None if chaos is None else chaos.seed)  # noqa: S311

    @property
    def chaos(self) -> Chaos | None:
        return self._chaos

    def draw(self) -> Fault | None:
        with self._lock:
            chaos = self._chaos
            if chaos is None or self._random.random() >= chaos.rate:
                return None
            return chaos.fault_for(self._random.choice(chaos.kinds))
