"""`Emulator`: the public runner -- binds a port, serves the emulated API, takes test controls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import numbers
import operator
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import orjson
from aiohttp import web

from .._contract import IDEMPOTENCY_TTL_SECONDS
from ._api import EmulatedApi, SeedError, TxtRecord
from ._control import check_fail_next
from ._faults import Chaos, Drop, Fault, PendingFault, defaults
from ._limits import Limits
from ._ratelimit import RateLimits
from ._request_log import RecordedRequest
from ._server import DEFAULT_STALL_TIMEOUT, HttpHandler, HttpServer, log

DEFAULT_API_KEY: Final = "sk_test_default"
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 4100


class DatabaseFileError(ValueError):
    """The ``db`` file cannot be opened or used as a SQLite database; the message names it
    (``path``) and says why (``reason``)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot open the database file {path!r}: {reason}.")
        self.path = path
        self.reason = reason


def check_port(port: object) -> int:
    """`port` as a whole number from 0 to 65535, or a `ValueError` saying so."""
    try:
        number = operator.index(port)  # type: ignore[arg-type]  # numpy's integers too
    except TypeError:
        number = -1
    if isinstance(port, bool) or not 0 <= number <= 65535:
        raise ValueError(f"port must be a whole number from 0 to 65535 (0 picks a free one); got {port!r}.")
    return number


def _db(db: object) -> str | None:
    if db is None:
        return None
    if isinstance(db, str | os.PathLike) and isinstance(path := os.fspath(db), str):
        return path
    raise TypeError(f"db must be the path of a SQLite file (a str or path-like), or None for memory; got {db!r}.")


def _flag(name: str, value: object) -> bool:
    if value not in (True, False) or not isinstance(value, int):  # True, False, 1 or 0
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _seconds(name: str, value: object, *, zero: bool, infinite: bool) -> float:
    seconds = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if not (seconds >= 0 if zero else seconds > 0) or not (seconds <= math.inf if infinite else seconds < math.inf):
        kind = "a number of seconds, 0 or more" if zero else "a positive, finite number of seconds"
        raise ValueError(f"{name} must be {kind}; got {value!r}.")
    return seconds


def _check_kinds(*, host: object, rate_limits: object, chaos: object, limits: object, clock: object) -> None:
    """Refuse an `Emulator` option of the wrong kind at once, naming it: taken as it came, it
    failed later, deep inside, or made every write a 500."""
    if not isinstance(host, str) or not host:
        raise TypeError(f"host must be an address to bind, such as '127.0.0.1'; got {host!r}.")
    if rate_limits is not None and not isinstance(rate_limits, bool | RateLimits):
        raise TypeError(f"rate_limits must be True, False (or None) or a RateLimits; got {rate_limits!r}.")
    if chaos is not None and not isinstance(chaos, Chaos):
        raise TypeError(f"chaos must be a Chaos, such as Chaos(rate=0.1), or None; got {chaos!r}.")
    if limits is not None and not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits, such as Limits(metadata_keys=10), or None; got {limits!r}.")
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a function returning the time in seconds, or None; got {clock!r}.")


class Emulator:
    """A local WorkOS Organizations API: real HTTP on loopback, state in SQLite.

    Use it in-process as an async context manager::

        async with Emulator() as emu:
            client = AsyncWorkOS(api_key=emu.api_key, base_url=emu.url)

    or from synchronous code (and any event loop) with `running_in_thread`.  Faults,
    seeding, DNS records and reset are plain method calls, safe from any thread.

    Domain verification works as it does live: ``verify`` leaves a domain ``pending``
    until the simulated DNS holds its TXT record (`publish_dns_record`); pass
    ``auto_verify=True`` for the instant verification a suite that does not care wants.
    `limits` sets the limits the sources disagree on and the emulator's own caps.
    `seed` is loaded only into a new database: a `db` file an earlier run made is kept as it
    is (seeded again, it would hold every seeded organization twice, or refuse the seed's own
    external IDs); the seed is still checked, so a bad one fails before a new file is made.

    `clock` is a testing switch: a function returning seconds since the epoch, read for
    timestamps, IDs, idempotency keys' expiry and the rate-limit windows.  A test that sets
    it can step past a window or a TTL without waiting (the default reads the system clock).
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        db: str | Path | None = None,
        api_key: str = DEFAULT_API_KEY,
        rate_limits: bool | RateLimits = False,
        idempotency: bool = True,
        idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS,
        seed: Mapping[str, Any] | list[Any] | str | Path | None = None,
        chaos: Chaos | None = None,
        auto_verify: bool = False,
        limits: Limits | None = None,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._closed = False
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key must be a non-empty string (the key clients must send).")
        _check_kinds(host=host, rate_limits=rate_limits, chaos=chaos, limits=limits, clock=clock)
        port = check_port(port)
        path = _db(db)
        idempotency, auto_verify = _flag("idempotency", idempotency), _flag("auto_verify", auto_verify)
        idempotency_ttl = _seconds("idempotency_ttl", idempotency_ttl, zero=True, infinite=True)
        stall_timeout = _seconds("stall_timeout", stall_timeout, zero=False, infinite=False)
        data = None if seed is None else _read_seed(seed)
        if data is not None and path is not None:
            # Refused only once the file is made, the seed would not be loaded when it is fixed:
            # the file would not be new any more.
            _check_seed(data, limits)
        try:
            self._api = EmulatedApi(
                api_key=api_key,
                db=path,
                rate_limits=RateLimits() if rate_limits is True else (rate_limits or None),
                idempotency=idempotency,
                idempotency_ttl=idempotency_ttl,
                auto_verify=auto_verify,
                limits=limits,
                clock=clock,
            )
        except sqlite3.Error as error:  # a directory that is not there, a file that is not a database
            raise DatabaseFileError(str(path), str(error)) from None
        self._api.chaos.set(chaos)
        if data is not None and self._api.new_database:
            try:
                self._api.seed(data)
            except BaseException:
                self._api.close()
                raise
        self._host = host
        self._port = port
        self._stall_timeout = stall_timeout
        self._runner: web.BaseRunner | None = None
        self._listener: asyncio.Server | None = None
        self._bound_port: int | None = None

    @property
    def api_key(self) -> str:
        """The key clients must send as ``Authorization: Bearer <key>``."""
        return self._api.api_key

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:4100``."""
        if self._bound_port is None:
            raise RuntimeError(
                "The emulator is not running; use `async with Emulator() as emu:` or `await emu.start()`."
            )
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    @property
    def limits(self) -> Limits:
        """The limits this emulator enforces."""
        return self._api.limits

    async def start(self) -> None:
        """Bind the port and start serving (port 0 picks a free one)."""
        self._check_open()
        if self._runner is not None:
            raise RuntimeError("The emulator is already running.")
        handler = HttpHandler(self._api, self._stall_timeout)
        server = HttpServer(handler)
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        handler.ready = True
        try:
            # What aiohttp's TCPSite does, but the listening sockets stay in hand: `close` needs them.
            listener = await asyncio.get_running_loop().create_server(
                server, self._host, self._port, reuse_address=True, backlog=128
            )
        except OSError:
            await runner.cleanup()
            raise
        self._bound_port = int(listener.sockets[0].getsockname()[1])
        self._runner, self._listener = runner, listener

    async def close(self) -> None:
        """Stop serving (releasing held requests) and close the database; safe to call twice."""
        runner, listener, self._runner, self._listener = self._runner, self._listener, None, None
        if runner is not None:
            self._api.held.close()  # or the shutdown would wait for requests held with no deadline
            try:
                if listener is not None:
                    await _stop_listening(listener)
            finally:
                # Also when this close is cancelled while it stops listening: a second close
                # would find no runner left to clean up, and the connections kept alive served on.
                await runner.cleanup()  # shuts down every connection aiohttp's Server knows
        self._api.close()  # also when it never started, or failed to bind
        self._bound_port = None
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "This emulator was closed; make a new Emulator (closing it let go of its data, and of a db file)."
            )

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @contextmanager
    def running_in_thread(self) -> Iterator[Emulator]:
        """Serve from a background thread with its own event loop, for synchronous callers."""
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(AcceptFailureLog())
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        thread = threading.Thread(target=serve, name="workos-orgs-emulator", daemon=True)
        thread.start()
        started.wait()
        running = self._runner is not None
        try:
            try:
                asyncio.run_coroutine_threadsafe(self.start(), loop).result()
            except BaseException:
                # Refused because it runs already: closing it would end what its owner runs.
                # Failed otherwise (the port taken): it is closed, as it would have been.
                if not running:
                    asyncio.run_coroutine_threadsafe(self.close(), loop).result()
                raise
            try:
                yield self
            finally:
                asyncio.run_coroutine_threadsafe(self.close(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def inject_fault(
        self,
        fault: Fault | None = None,
        /,
        *,
        method: str = "*",
        path: str = "*",
        status: int | None = None,
        body: Any = None,
        content_type: str | None = None,
        retry_after: int | float | str | None = None,
        delay_ms: int = 0,
        drop: Drop | None = None,
        times: int = 1,
        hold: bool = False,
    ) -> Fault:
        """Queue a fault for the next `times` requests matching `method` and `path`; see `Fault`.

        ``emu.inject_fault(method="POST", path="/organizations", status=503, times=2)``.
        A fault that could never match (a path without a leading ``/``, or with a query)
        is refused at once with a `ValueError`.
        """
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "body": body,
            "content_type": content_type,
            "retry_after": retry_after,
            "delay_ms": delay_ms,
            "drop": drop,
            "times": times,
            "hold": hold,
        }
        if fault is None:
            fault = Fault(**fields)
        elif not isinstance(fault, Fault):
            raise TypeError(f"inject_fault takes a Fault, or its fields as keywords (status=503); got {fault!r}.")
        elif fields != _FAULT_DEFAULTS:
            raise TypeError("Pass either a Fault or its fields as keywords, not both.")
        return self._api.faults.add(fault)

    @property
    def held_requests(self) -> int:
        """How many requests a fault keeps waiting right now (``hold=True``, or a `delay_ms`)."""
        return self._api.held.count

    async def wait_until_held(self, count: int = 1) -> None:
        """Return once `count` requests are waiting in faults at the same time.

        It has no deadline of its own: wrap it in ``asyncio.timeout`` as a safety net.  Once
        the emulator is closed (before or during the wait), `RuntimeError`: nothing is held then.
        ``emu.inject_fault(method="GET", path="/organizations", hold=True)``, send the request,
        ``await emu.wait_until_held()``: the request has surely reached the emulator and is
        surely not answered until `release_held`.
        """
        await self._api.held.reached(count)

    def release_held(self) -> int:
        """Let every waiting request go on now (a hold ends, a delay is cut short); returns how many."""
        return self._api.held.release()

    def pending_faults(self) -> list[PendingFault]:
        """The faults that have not fired yet, oldest first, each with the requests it has left."""
        return self._api.faults.pending()

    def clear_faults(self) -> None:
        """Drop every fault that has not fired yet."""
        self._api.faults.clear()

    def set_chaos(self, chaos: Chaos | None) -> None:
        """Fault a random share of requests from now on (`Chaos`); None stops it."""
        if chaos is not None and not isinstance(chaos, Chaos):
            raise TypeError(f"set_chaos takes a Chaos, such as Chaos(rate=0.1), or None; got {chaos!r}.")
        self._api.chaos.set(chaos)

    def fail_next_verifications(self, times: int = 1) -> None:
        """Make the next `times` domain verifications end in state ``failed``."""
        check_fail_next(times)
        self._api.fail_next_verifications(times)

    def publish_dns_record(self, domain_id: str) -> TxtRecord:
        """Publish the TXT record that verifies this domain, as its owner would in their DNS.

        The record is ``<verification_prefix>.<domain>`` holding the ``verification_token``;
        the domain's next ``verify`` finds it and makes the domain ``verified``.
        """
        return self._api.publish_verification_record(domain_id)

    def publish_txt_record(self, name: str, value: str) -> TxtRecord:
        """Publish any TXT record, e.g. one with a wrong token, which verifies nothing."""
        return self._api.publish_txt_record(name, value)

    def dns_records(self) -> list[TxtRecord]:
        """The TXT records published so far."""
        return self._api.txt_records()

    def clear_dns_records(self) -> None:
        """Remove every published TXT record (verified domains stay verified)."""
        self._api.remove_txt_records()

    def seed(self, data: Mapping[str, Any] | list[Any] | str | Path) -> list[dict[str, Any]]:
        """Load organizations from seed data (see the README); returns them as the API shows them.

        `data` is a mapping ``{"organizations": [...]}``, the list itself, JSON text, or the
        path of a JSON file (a `Path`, or a string that is not JSON text).  Unlike the
        constructor's `seed`, it loads into a database kept from an earlier run too.
        """
        self._check_open()
        return self._api.seed(_read_seed(data))

    def reset(self) -> None:
        """Forget all data, idempotency keys, faults, DNS records and logged requests."""
        self._check_open()
        self._api.reset()

    @property
    def internal_errors(self) -> int:
        """Requests that ended in an unexpected exception (a 500); anything but 0 is a bug."""
        return self._api.internal_errors

    @property
    def requests(self) -> list[RecordedRequest]:
        """The API requests seen so far (not health or control calls), oldest first.

        The log keeps the newest `Limits.request_log_entries` (and about
        `Limits.request_log_bytes`); older entries are dropped.
        """
        return self._api.requests()


_FAULT_DEFAULTS: Final = defaults(Fault)


def _read_seed(data: Mapping[str, Any] | list[Any] | str | Path) -> Any:
    """Seed data as `Emulator.seed` takes it, with JSON text parsed and a file read."""
    if isinstance(data, str) and data.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            raise SeedError(f"The seed text is not valid JSON: {error}.") from None
    if isinstance(data, str | Path):
        path = Path(data)
        try:
            return orjson.loads(path.read_bytes())
        except OSError as error:
            raise SeedError(f"Cannot read seed file {path}: {error.strerror}.") from None
        except orjson.JSONDecodeError as error:
            raise SeedError(f"Seed file {path} is not valid JSON: {error}.") from None
    return data


def _check_seed(data: Any, limits: Limits | None) -> None:
    """Load `data` into an empty emulator in memory and let it go: a `SeedError` if it is refused."""
    trial = EmulatedApi(api_key=DEFAULT_API_KEY, limits=limits)
    try:
        trial.seed(data)
    finally:
        trial.close()


async def _stop_listening(listener: asyncio.Server) -> None:
    """Close the listening sockets, leaving no connection half-accepted.

    asyncio accepts a connection in one loop step and makes its transport in a later one.
    `Server.close` in between makes that transport fail to attach to the closed server
    (CPython gh-109564: an AssertionError, logged only in debug mode), and its socket, made
    part of no connection, stays open until garbage collection reports an "unclosed
    transport" (a ResourceWarning; `running_in_thread` has closed its loop by then).  And one
    made in time reached aiohttp only after its shutdown had listed the connections to close.
    So no more are accepted (the sockets' readers are removed), the accepts already begun
    make their transports (one step), and those reach aiohttp (one more), before the close.
    """
    loop = asyncio.get_running_loop()
    for sock in listener.sockets:
        with contextlib.suppress(NotImplementedError):  # a loop without readers (Windows' proactor)
            loop.remove_reader(sock.fileno())
    try:
        await asyncio.sleep(0)  # the accepts already begun make their transports...
        await asyncio.sleep(0)  # ...whose connection_made runs: aiohttp's Server knows them now
    finally:
        listener.close()  # also when the close is cancelled here: the port is never left open


class AcceptFailureLog:
    """An event loop exception handler that reports running out of sockets once, not per accept.

    When the process runs out of file descriptors, asyncio reports every failed accept with a
    traceback (megabytes of log a second under a connection flood).  This says it once, with
    what to do; everything else goes to the loop's default handler.
    """

    def __init__(self) -> None:
        self.failures = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # asyncio's own words (`selector_events`, when accept() fails with EMFILE, ENFILE,
        # ENOBUFS or ENOMEM): the one way to tell this report from others.  Should asyncio reword
        # it, tests/emulator/test_hostile_clients.py's test of running out of descriptors fails.
        if not str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            loop.default_exception_handler(context)
            return
        self.failures += 1
        if self.failures == 1:
            log.error(
                "Cannot accept connections: %s. Raise the open-file limit (ulimit -n) or make fewer"
                " connections at once; further accept failures are counted, not logged.",
                context.get("exception"),
            )
