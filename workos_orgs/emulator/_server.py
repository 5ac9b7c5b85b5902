"""The HTTP layer: the key checked, the body read, faults applied, `EmulatedApi.handle`, bytes out.

It serves from aiohttp's low-level server (`web.Server`) and nothing else: every request,
whatever its method or path, reaches `HttpHandler.handle`, and bytes that are not HTTP get a
JSON error from `_JsonErrorRequestHandler`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from typing import Any, Final
from urllib.parse import unquote

import orjson
from aiohttp import web

from .._contract import IDEMPOTENCY_KEY_HEADER, REQUEST_ID_HEADER
from . import _control as control
from . import _rules as rules
from ._api import JSON, ApiRequest, ApiResponse, EmulatedApi, error_response, json_response
from ._faults import Fault
from ._limits import MAX_HEADER_BYTES, MAX_HEADERS
from ._request_log import RecordedRequest
from ._routes import CONTROL_PREFIX, HEALTH_ROUTE, MAX_BODY_BYTES, MAX_LINE_BYTES, MAX_URL_BYTES, openapi_document

# How long a connection may sit idle or half-sent, and a body may take to stop arriving.
DEFAULT_STALL_TIMEOUT: Final = 30.0
log: Final = logging.getLogger("workos_orgs.emulator")
"""The emulator's log."""


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


def _text(value: str) -> str:
    """`value` as valid UTF-8 text (aiohttp hands undecodable header bytes over as surrogates)."""
    return value if value.isascii() else value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


_TOO_LARGE = json_response(413, {"message": f"The request body is larger than {MAX_BODY_BYTES} bytes."})
_TOO_LONG = json_response(414, {"message": f"The request target is longer than {MAX_URL_BYTES} bytes."})


class RequestIds:
    """``X-Request-ID`` values: version-4 UUIDs from a random prefix and a counter.

    Unique for the life of a server, as random as they need to be, and a tenth of the cost
    of `uuid.uuid4` (which reads the OS's random source for each one).
    """

    def __init__(self) -> None:
        random = uuid.uuid4().hex
        self._prefix = f"{random[:8]}-{random[8:12]}-4{random[13:16]}-{random[16:20]}-"
        self._counter = itertools.count(int(random[20:], 16))

    def next(self) -> str:
        """A request ID no earlier request of this server had."""
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


class HttpHandler:
    """The one aiohttp handler behind every request."""

    def __init__(self, api: EmulatedApi, stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> None:
        self.api = api
        self._request_ids = RequestIds()
        self.stall_timeout = stall_timeout
        self.ready = False
        self._openapi = orjson.dumps(openapi_document(api.limits))

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Respond to any request: JSON with an ``X-Request-ID``, or a dropped connection."""
        request_id = self._request_ids.next()
        try:
            response, ending = await self._respond(request, request_id)
        except ConnectionError:
            raise  # the client hung up mid-body: no one to respond to, and no bug
        except Exception:
            # A bug, not a response the API gives: say so plainly, keep serving, and count it
            # so the fuzz and load tests fail on it.
            self.api.internal_errors += 1
            log.exception("Internal error responding to %s %s (request %s)", request.method, request.path, request_id)
            response, ending = json_response(500, {"message": "Internal emulator error.", "request_id": request_id}), ""
        if ending == "drop" and request.transport is not None:  # None: the client left first
            request.transport.close()
        headers = {**response.headers, REQUEST_ID_HEADER: request_id}
        sent = web.Response(
            status=response.status, body=response.body, content_type=response.content_type, headers=headers
        )
        if ending == "close":
            sent.force_close()
        return sent

    async def _respond(self, request: web.BaseRequest, request_id: str) -> tuple[ApiResponse, str]:
        """The response, and how the connection ends: ``""`` (kept), ``"close"`` or ``"drop"``."""
        segments = _segments(request.raw_path)
        if HEALTH_ROUTE.match(request.method, segments) is not None:
            return json_response(200 if self.ready else 503, {"status": "ok" if self.ready else "starting"}), ""
        if len(request.raw_path) > MAX_URL_BYTES:
            return _TOO_LONG, ""
        length = request.content_length
        if length is not None and length > MAX_BODY_BYTES:
            return _TOO_LARGE, "close"  # known from the headers: nothing needs reading
        # The key is checked before a byte of the body is read: a client without it cannot
        # make the emulator hold its body.  aiohttp discards the unread body, or closes.
        if not self.api.authorized(request.headers.get("Authorization")):
            return error_response(rules.UNAUTHORIZED), ""
        body = b""
        if request.body_exists:
            read = await self._read_body(request)
            if read is None:
                return _TOO_LARGE, "close"
            if isinstance(read, ApiResponse):
                return read, "close"
            body = read
        if segments[0] == CONTROL_PREFIX:
            return control.respond(self.api, request.method, segments, body, self._openapi), ""
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
        api_request = ApiRequest(
            method=request.method, segments=segments, query=tuple(request.query.items()), idempotency_key=key, body=body
        )
        fault = self.api.faults.take(request.method, request.path) or self.api.chaos.draw()
        response, dropped = await self._serve(api_request, fault)
        self.api.record(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=_text(request.query_string),
                idempotency_key=None if key is None else _text(key),
                status=None if dropped else response.status,
                fault=None if fault is None else fault.kind,
                request_id=request_id,
            )
        )
        return response, "drop" if dropped else ""

    async def _read_body(self, request: web.BaseRequest) -> bytes | ApiResponse | None:
        """The whole body; None when it is too large, a 408 when it stops arriving, a 400 when
        it does not decode as its ``Content-Encoding`` says."""
        try:
            return await self._read_whole_body(request)
        except web.RequestPayloadError as error:  # aiohttp decodes the body as it arrives
            encoding = request.headers.get("Content-Encoding", "its Content-Encoding")
            log.debug("Refused a body that does not decode: %s", error)
            # Nothing more of it is read: aiohttp, reading what is left of an unread body once
            # the response is out, would meet the same error and log it as unhandled.
            request.content.feed_eof()
            return json_response(
                400, {"message": f"The request body could not be decoded as {encoding}: send JSON as it is."}
            )

    async def _read_whole_body(self, request: web.BaseRequest) -> bytes | ApiResponse | None:
        transport = request.transport
        if (
            transport is not None
            and request.version >= (1, 1)
            and request.headers.get("Expect", "").lower() == "100-continue"
        ):
            # The client waits for this before it sends the body (aiohttp's low-level server
            # leaves it to the handler): the key was right, so go ahead.
            transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        content = request.content
        if content.is_eof():  # it all came with the headers, as small bodies do: no timer needed
            whole = content.read_nowait()
            return None if len(whole) > MAX_BODY_BYTES else whole
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.stall_timeout):
                while chunk := await content.readany():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        return None
                    chunks.append(chunk)
        except TimeoutError:
            return json_response(
                408, {"message": f"The request body stopped arriving for {self.stall_timeout:g} seconds."}
            )
        return b"".join(chunks)

    async def _serve(self, api_request: ApiRequest, fault: Fault | None) -> tuple[ApiResponse, bool]:
        if fault is None:
            return self.api.handle(api_request), False
        if fault.hold or fault.delay_ms:
            await self.api.held.wait(None if fault.hold else fault.delay_ms / 1000)
        if fault.drop == "before":
            return ApiResponse(499), True
        if fault.status is not None:
            return _fault_response(fault), False
        return self.api.handle(api_request), fault.drop == "after"


class _JsonErrorRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, refusing bytes that are not HTTP the emulator's way.

    An unknown method, broken framing or a raw control byte in the target never reaches
    `HttpHandler`: aiohttp's parser refuses it and calls `handle_error`.  The response is
    still a JSON error with an ``X-Request-ID`` (and the connection is closed, as aiohttp
    does).  aiohttp's own `handle_error` first checks whether a response has started; none
    can have here, because `HttpHandler` never streams: its response is written only after
    it returns, outside this path.
    """

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        log.debug("Refused a request that is not valid HTTP (%s): %s", status, message or exc)
        text = "The request is not valid HTTP." if status < 500 else "Internal emulator error."
        response = web.Response(
            status=status,
            body=orjson.dumps({"message": text}),
            content_type=JSON,
            headers={REQUEST_ID_HEADER: str(uuid.uuid4())},
        )
        response.force_close()
        return response


class HttpServer(web.Server):
    """aiohttp's low-level server, with the emulator's connection handler and timeouts.

    aiohttp has no public way to choose the connection handler's class: a `web.Server` is
    the protocol factory the event loop calls once per connection, so `__call__` is where
    the class is chosen.  The options are kept here rather than read back from aiohttp.
    ``tests/emulator/test_fuzz.py`` fails at once if aiohttp stops calling it (bytes that
    are not HTTP would get aiohttp's plain-text error instead of JSON).
    """

    def __init__(self, handler: HttpHandler) -> None:
        self._connection_options: dict[str, Any] = {
            "access_log": None,
            # Long request targets reach the handler, which refuses them in JSON (414).
            "max_line_size": MAX_LINE_BYTES,
            # Headers are held before the key is checked: too large or too many is a JSON 400.
            "max_field_size": MAX_HEADER_BYTES,
            "max_headers": MAX_HEADERS,
            # A connection idle, or with a request half-sent, this long is closed.
            "keepalive_timeout": handler.stall_timeout,
        }
        super().__init__(handler.handle, **self._connection_options)

    def __call__(self) -> web.RequestHandler:
        return _JsonErrorRequestHandler(self, loop=asyncio.get_running_loop(), **self._connection_options)
