"""The aiohttp layer: bytes in, faults applied, `Emulation.handle`, bytes out."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import attrs
import orjson
from aiohttp import web

from .._contract import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_TTL_SECONDS, REQUEST_ID_HEADER
from . import _rules as rules
from ._api import JSON, ApiRequest, ApiResponse, Emulation, RecordedRequest, SeedError, error_response, json_response
from ._faults import Chaos, Fault
from ._ratelimit import RateLimits

DEFAULT_API_KEY = "sk_test_default"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4100
CONTROL_PREFIX = "_emulator"
MAX_BODY_BYTES = 1024 * 1024


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

    async def handle(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        segments = _segments(request.raw_path)
        fault: Fault | None = None
        dropped = False
        if segments == ("health",) and request.method == "GET":
            response = json_response(200 if self.ready else 503, {"status": "ok" if self.ready else "starting"})
        else:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                body = None
            if body is None:
                response = json_response(413, {"message": f"The request body is larger than {MAX_BODY_BYTES} bytes."})
            elif not self.emulation.authorized(request.headers.get("Authorization")):
                response = error_response(rules.UNAUTHORIZED)
            elif segments[0] == CONTROL_PREFIX:
                response = self._control(request.method, segments[1:], body)
            else:
                api_request = ApiRequest(
                    method=request.method,
                    segments=segments,
                    query=tuple(request.query.items()),
                    idempotency_key=request.headers.get(IDEMPOTENCY_KEY_HEADER),
                    body=body,
                )
                fault = self.emulation.faults.take(request.method, request.path) or self.emulation.chaos.draw()
                response, dropped = await self._serve(request, api_request, fault)
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
        if dropped:
            assert request.transport is not None
            request.transport.close()
        headers = {**response.headers, REQUEST_ID_HEADER: request_id}
        return web.Response(
            status=response.status, body=response.body, content_type=response.content_type, headers=headers
        )

    async def _serve(
        self, request: web.Request, api_request: ApiRequest, fault: Fault | None
    ) -> tuple[ApiResponse, bool]:
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
        emulation = self.emulation
        try:
            payload = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as error:
            return error_response(rules.malformed_json(str(error)))
        try:
            match method, segments:
                case "POST", ("reset",):
                    emulation.reset()
                    return json_response(200, {"reset": True})
                case "POST", ("seed",):
                    return json_response(201, {"organizations": emulation.seed(payload)})
                case "GET", ("faults",):
                    pending = [{**_fault_json(fault), "remaining": left} for fault, left in emulation.faults.pending()]
                    return json_response(200, {"data": pending})
                case "POST", ("faults",):
                    fault = emulation.faults.add(Fault(**rules.json_object(payload)))
                    return json_response(201, _fault_json(fault))
                case "DELETE", ("faults",):
                    emulation.faults.clear()
                    return ApiResponse(204, b"", None)
                case "POST", ("chaos",):
                    chaos = Chaos(**rules.json_object(payload))
                    emulation.chaos.set(chaos)
                    return json_response(201, attrs.asdict(chaos))
                case "DELETE", ("chaos",):
                    emulation.chaos.set(None)
                    return ApiResponse(204, b"", None)
                case "POST", ("verifications",):
                    times = rules.json_object(payload).get("fail_next", 1)
                    if not isinstance(times, int) or times < 0:
                        raise ValueError("fail_next must be a whole number of verifications, 0 or more.")
                    emulation.fail_next_verifications(times)
                    return json_response(200, {"fail_next": times})
                case "GET", ("requests",):
                    return json_response(200, {"data": [_request_json(entry) for entry in emulation.requests()]})
        except rules.ApiError as error:
            return error_response(error)
        except (SeedError, TypeError, ValueError) as error:
            return json_response(422, {"code": "invalid_request_parameters", "message": str(error)})
        return error_response(rules.not_found())


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
    handler = _Handler(emulation)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_route("*", "/{tail:.*}", handler.handle)

    async def mark_ready(_: web.Application) -> None:
        handler.ready = True

    app.on_startup.append(mark_ready)
    return app


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
        self._runner: web.AppRunner | None = None
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
        runner = web.AppRunner(make_app(self._emulation), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self._bound_port = int(server.sockets[0].getsockname()[1])
        self._runner = runner

    async def close(self) -> None:
        """Stop answering and close the database; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            self._emulation.close()
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
    def requests(self) -> list[RecordedRequest]:
        """The API requests seen so far (not health or control calls), oldest first."""
        return self._emulation.requests()


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
