"""The aiohttp layer: bytes in, faults applied, `Emulation.handle`, bytes out."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import attrs
import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import RawRequestMessage
from aiohttp.streams import StreamReader

from .._contract import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_TTL_SECONDS, REQUEST_ID_HEADER
from . import _rules as rules
from ._api import JSON, ApiRequest, ApiResponse, Emulation, RecordedRequest, SeedError, error_response, json_response
from ._faults import Chaos, Fault
from ._ratelimit import RateLimits
from ._routes import (
    CONTROL_PREFIX,
    CONTROL_ROUTES,
    HEALTH_ROUTE,
    MAX_BODY_BYTES,
    MAX_LINE_BYTES,
    MAX_URL_BYTES,
    check_handlers,
    find,
    openapi_document,
)

DEFAULT_API_KEY = "sk_test_default"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4100
# At most this many verifications can be told to fail at once (a count, not a switch).
MAX_FAILING_VERIFICATIONS = 1_000_000
_OPENAPI_JSON = orjson.dumps(openapi_document())
_log = logging.getLogger("workos_orgs.emulator")


def _default_fault_body(status: int) -> Any:
    if status == 429:
        return rules.rate_limited(1).body
    return {"message": f"Injected fault: HTTP {status}."}


def _fault_response(fault: Fault) -> ApiResponse:
    assert fault.status is not None
    body = _default_fault_body(fault.status) if fault.body is None else fault.body
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    if fault.status == 429 and fault.retry_after is None:
        headers = rules.rate_limited(1).headers  # the live API's 429 always says when to retry
    if isinstance(body, str):
        content_type = fault.content_type or ("text/html" if body.lstrip().startswith("<") else "text/plain")
        return ApiResponse(fault.status, body.encode(), content_type, headers)
    return ApiResponse(fault.status, orjson.dumps(body), fault.content_type or JSON, headers)


def _segments(raw_path: str) -> tuple[str, ...]:
    # Split before decoding, so an encoded "/" inside an ID never becomes a path separator.
    return tuple(unquote(part) for part in raw_path.split("?", 1)[0].strip("/").split("/"))


class _Handler:
    """The one aiohttp handler behind every route."""

    def __init__(self, emulation: Emulation) -> None:
        self.emulation = emulation
        self.ready = False

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        dropped = False
        try:
            body: bytes | None = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = None
        # A ConnectionError here is the client hanging up mid-body: no one to answer, no bug.
        try:
            response, dropped = await self._answer(request, request_id, body)
        except Exception:
            # A bug, not an answer the API gives: say so plainly, keep serving, and count it so
            # the fuzz and load tests fail on it.
            self.emulation.internal_errors += 1
            _log.exception("Internal error answering %s %s (request %s)", request.method, request.path, request_id)
            response = json_response(500, {"message": "Internal emulator error.", "request_id": request_id})
        if dropped:
            assert request.transport is not None
            request.transport.close()
        headers = {**response.headers, REQUEST_ID_HEADER: request_id}
        return web.Response(
            status=response.status, body=response.body, content_type=response.content_type, headers=headers
        )

    async def _answer(self, request: web.BaseRequest, request_id: str, body: bytes | None) -> tuple[ApiResponse, bool]:
        segments = _segments(request.raw_path)
        if HEALTH_ROUTE.match(request.method, segments) is not None:
            return json_response(200 if self.ready else 503, {"status": "ok" if self.ready else "starting"}), False
        if len(request.raw_path) > MAX_URL_BYTES:
            return json_response(414, {"message": f"The request target is longer than {MAX_URL_BYTES} bytes."}), False
        if body is None:
            return json_response(413, {"message": f"The request body is larger than {MAX_BODY_BYTES} bytes."}), False
        if not self.emulation.authorized(request.headers.get("Authorization")):
            return error_response(rules.UNAUTHORIZED), False
        if segments[0] == CONTROL_PREFIX:
            return self._control(request.method, segments, body), False
        api_request = ApiRequest(
            method=request.method,
            segments=segments,
            query=tuple(request.query.items()),
            idempotency_key=request.headers.get(IDEMPOTENCY_KEY_HEADER),
            body=body,
        )
        fault = self.emulation.faults.take(request.method, request.path) or self.emulation.chaos.draw()
        response, dropped = await self._serve(api_request, fault)
        self.emulation.record(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query_string,
                idempotency_key=api_request.idempotency_key,
                status=None if dropped else response.status,
                fault=None if fault is None else fault.kind,
                request_id=request_id,
            )
        )
        return response, dropped

    async def _serve(self, api_request: ApiRequest, fault: Fault | None) -> tuple[ApiResponse, bool]:
        if fault is None:
            return self.emulation.handle(api_request), False
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        if fault.drop == "before":
            return ApiResponse(499), True
        if fault.status is not None:
            return _fault_response(fault), False
        return self.emulation.handle(api_request), fault.drop == "after"

    def _control(self, method: str, segments: tuple[str, ...], body: bytes) -> ApiResponse:
        found = find(CONTROL_ROUTES, method, segments)
        if found is None:
            return error_response(rules.not_found())
        try:
            payload = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as error:
            return error_response(rules.malformed_json(str(error)))
        try:
            return _CONTROL_OPERATIONS[found[0].operation_id](self.emulation, payload)
        except rules.ApiError as error:
            return error_response(error)
        except (SeedError, TypeError, ValueError) as error:
            return json_response(422, {"code": "invalid_request_parameters", "message": str(error)})


def _reset(emulation: Emulation, _: Any) -> ApiResponse:
    emulation.reset()
    return json_response(200, {"reset": True})


def _seed(emulation: Emulation, payload: Any) -> ApiResponse:
    return json_response(201, {"organizations": emulation.seed(payload)})


def _list_faults(emulation: Emulation, _: Any) -> ApiResponse:
    pending = [{**_fault_json(fault), "remaining": left} for fault, left in emulation.faults.pending()]
    return json_response(200, {"data": pending})


def _add_fault(emulation: Emulation, payload: Any) -> ApiResponse:
    return json_response(201, _fault_json(emulation.faults.add(Fault(**rules.json_object(payload)))))


def _clear_faults(emulation: Emulation, _: Any) -> ApiResponse:
    emulation.faults.clear()
    return ApiResponse(204, b"", None)


def _set_chaos(emulation: Emulation, payload: Any) -> ApiResponse:
    chaos = Chaos(**rules.json_object(payload))
    emulation.chaos.set(chaos)
    return json_response(201, attrs.asdict(chaos))


def _stop_chaos(emulation: Emulation, _: Any) -> ApiResponse:
    emulation.chaos.set(None)
    return ApiResponse(204, b"", None)


def _fail_verifications(emulation: Emulation, payload: Any) -> ApiResponse:
    times = rules.json_object(payload).get("fail_next", 1)
    if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= MAX_FAILING_VERIFICATIONS:
        raise ValueError(f"fail_next must be a whole number of verifications, 0 to {MAX_FAILING_VERIFICATIONS}.")
    emulation.fail_next_verifications(times)
    return json_response(200, {"fail_next": times})


def _list_requests(emulation: Emulation, _: Any) -> ApiResponse:
    return json_response(200, {"data": [_request_json(entry) for entry in emulation.requests()]})


def _openapi(emulation: Emulation, _: Any) -> ApiResponse:
    return ApiResponse(200, _OPENAPI_JSON)


# The handler of each operation in `CONTROL_ROUTES`, by operation ID; each takes the JSON body.
_CONTROL_OPERATIONS: dict[str, Callable[[Emulation, Any], ApiResponse]] = {
    "reset": _reset,
    "seed": _seed,
    "list_faults": _list_faults,
    "add_fault": _add_fault,
    "clear_faults": _clear_faults,
    "set_chaos": _set_chaos,
    "stop_chaos": _stop_chaos,
    "fail_verifications": _fail_verifications,
    "list_requests": _list_requests,
    "openapi": _openapi,
}
check_handlers(CONTROL_ROUTES, _CONTROL_OPERATIONS)


def _fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "method": fault.method,
        "path": fault.path,
        "status": fault.status,
        "body": fault.body,
        "content_type": fault.content_type,
        "retry_after": fault.retry_after,
        "delay_ms": fault.delay_ms,
        "drop": fault.drop,
        "times": fault.times,
    }


def _request_json(entry: RecordedRequest) -> dict[str, Any]:
    return {
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "idempotency_key": entry.idempotency_key,
        "status": entry.status,
        "fault": entry.fault,
        "request_id": entry.request_id,
    }


def make_app(emulation: Emulation) -> web.Application:
    """The emulator as an aiohttp application (for embedding in your own aiohttp server)."""
    emulator = _Handler(emulation)

    # A middleware rather than a route, so that no request (a CONNECT, say) ever reaches
    # aiohttp's own plain-text 404 or 405.
    @web.middleware
    async def emulate(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await emulator.handle(request)

    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[emulate])

    async def mark_ready(_: web.Application) -> None:
        emulator.ready = True

    app.on_startup.append(mark_ready)
    return app


class _JsonErrorRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, refusing bytes that are not HTTP the emulator's way.

    An unknown method, broken framing or a raw control byte in the target never reaches the
    emulator's handler: aiohttp answers it here.  The answer is still a JSON error with an
    ``X-Request-ID`` (and the connection is closed, as aiohttp does).
    """

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        _log.debug("Refused a request that is not valid HTTP (%s): %s", status, message or exc)
        if request.writer.output_size > 0:
            raise ConnectionError("The response has started; cannot send an error response instead.")
        text = "The request is not valid HTTP." if status < 500 else "Internal emulator error."
        response = web.Response(
            status=status,
            body=orjson.dumps({"message": text}),
            content_type=JSON,
            headers={REQUEST_ID_HEADER: str(uuid.uuid4())},
        )
        response.force_close()
        return response


class _Server(web.Server):
    """aiohttp's low-level server with the emulator's body limit and malformed-request answers."""

    def __call__(self) -> web.RequestHandler:
        return _JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)

    def _make_request(
        self,
        message: RawRequestMessage,
        payload: StreamReader,
        protocol: web.RequestHandler,
        writer: AbstractStreamWriter,
        task: asyncio.Task[None],
    ) -> web.BaseRequest:
        return web.BaseRequest(message, payload, protocol, writer, task, self._loop, client_max_size=MAX_BODY_BYTES)


class Emulator:
    """A local WorkOS Organizations API: real HTTP on loopback, state in SQLite.

    Use it in-process as an async context manager::

        async with Emulator() as emu:
            client = AsyncWorkOS(api_key=emu.api_key, base_url=emu.url)

    or from synchronous code (and any event loop) with `running_in_thread`.  Faults,
    seeding and reset are plain method calls, safe from any thread.
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
        seed: Any = None,
        chaos: Chaos | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string (the key clients must send).")
        limits = RateLimits() if rate_limits is True else (rate_limits or None)
        self._emulation = Emulation(
            api_key=api_key,
            db=None if db is None else str(db),
            rate_limits=limits,
            idempotency=idempotency,
            idempotency_ttl=idempotency_ttl,
        )
        self._emulation.chaos.set(chaos)
        if seed is not None:
            try:
                self.seed(seed)
            except BaseException:
                self._emulation.close()
                raise
        self._host = host
        self._port = port
        self._runner: web.BaseRunner | None = None
        self._bound_port: int | None = None

    @property
    def api_key(self) -> str:
        """The key clients must send as ``Authorization: Bearer <key>``."""
        return self._emulation.api_key

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:4100``."""
        if self._bound_port is None:
            raise RuntimeError(
                "The emulator is not running; use `async with Emulator() as emu:` or `await emu.start()`."
            )
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._bound_port}"

    async def start(self) -> None:
        """Bind the port and start answering (port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("The emulator is already running.")
        handler = _Handler(self._emulation)
        server = _Server(
            handler.handle,
            access_log=None,
            # Long request targets and headers reach the handler, which answers them in JSON (414).
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
        )
        runner = web.ServerRunner(server, handle_signals=False)
        await runner.setup()
        handler.ready = True
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._bound_port = int(runner.addresses[0][1])
        self._runner = runner

    async def close(self) -> None:
        """Stop answering and close the database; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._emulation.close()  # also when it never started, or failed to bind
        self._bound_port = None

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
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        thread = threading.Thread(target=serve, name="workos-orgs-emulator", daemon=True)
        thread.start()
        started.wait()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result()
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.close(), loop).result()
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    # Control.

    def inject_fault(self, fault: Fault | None = None, /, **spec: Any) -> Fault:
        """Queue a fault for the next matching requests; see `Fault` for the fields.

        ``emu.inject_fault(method="POST", path="/organizations", status=503, times=2)``
        """
        if fault is None:
            fault = Fault(**spec)
        elif spec:
            raise TypeError("Pass either a Fault or its fields as keywords, not both.")
        return self._emulation.faults.add(fault)

    def set_chaos(self, chaos: Chaos | None) -> None:
        """Fault a random share of requests from now on (`Chaos`); None stops it."""
        self._emulation.chaos.set(chaos)

    def clear_faults(self) -> None:
        """Drop every fault that has not fired yet."""
        self._emulation.faults.clear()

    def fail_next_verifications(self, times: int = 1) -> None:
        """Make the next `times` domain verifications end in state ``failed``."""
        self._emulation.fail_next_verifications(times)

    def seed(self, data: Any) -> list[dict[str, Any]]:
        """Load organizations from seed data (see the README); returns them as the API shows them."""
        if isinstance(data, str | Path):
            path = Path(data)
            try:
                data = orjson.loads(path.read_bytes())
            except OSError as error:
                raise SeedError(f"Cannot read seed file {path}: {error.strerror}.") from None
            except orjson.JSONDecodeError as error:
                raise SeedError(f"Seed file {path} is not valid JSON: {error}.") from None
        return self._emulation.seed(data)

    def reset(self) -> None:
        """Forget all data, idempotency keys, faults and logged requests."""
        self._emulation.reset()

    @property
    def internal_errors(self) -> int:
        """Requests that ended in an unexpected exception (answered 500); anything but 0 is a bug."""
        return self._emulation.internal_errors

    @property
    def requests(self) -> list[RecordedRequest]:
        """The API requests seen so far (not health or control calls), oldest first."""
        return self._emulation.requests()
