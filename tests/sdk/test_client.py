"""The client: configuration, the session's lifetime, views, and keeping the key secret."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import aiohttp
import pytest

import workos_orgs
from workos_orgs import (
    APIConnectionError,
    APIStatusError,
    AsyncWorkOS,
    ClientClosedError,
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    PaginationError,
    RateLimiter,
    ResponseValidationError,
    UnexpectedOptionError,
    WorkOSError,
)
from workos_orgs._transport import logger
from workos_orgs.cli._connect import LOG_ENV_VAR, configure_logging_from_env
from workos_orgs.emulator import Emulator

from .conftest import FAST

SECRET = "sk_test_SUPERSECRET_9f8e7d6c5b4a"


def test_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKOS_API_KEY", "sk_test_from_env")
    monkeypatch.setenv("WORKOS_BASE_URL", "http://localhost:4100")
    client = AsyncWorkOS()
    assert client.base_url == "http://localhost:4100"
    assert client.session is None  # nothing is made before the first request


def test_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKOS_BASE_URL", raising=False)
    client = AsyncWorkOS("sk_test_x")
    assert client.base_url == "https://api.workos.com"
    assert (client.timeout, client.max_retries) == (30.0, 2)


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_fails_at_construction(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    monkeypatch.delenv("WORKOS_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="WORKOS_API_KEY"):
        AsyncWorkOS(key)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "http://api.example.com"}, "allow_insecure_http=True"),
        ({"base_url": "not a url"}, "base_url"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"backoff": 3}, "backoff"),
        ({"session": object()}, "session"),
    ],
)
def test_bad_options_fail_at_construction(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AsyncWorkOS("sk_test_x", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("allowed", ["false", "0", "no", 1, None])
def test_allow_insecure_http_must_be_true_or_false(allowed: object) -> None:
    # A string from a config file or the environment is truthy: taken as True, "false" would
    # send the key in clear text.
    with pytest.raises(ConfigurationError, match="allow_insecure_http must be True or False") as caught:
        AsyncWorkOS("sk_test_x", base_url="http://api.example.com", allow_insecure_http=allowed)  # type: ignore[arg-type]
    assert type(allowed).__name__ in str(caught.value)
    with pytest.raises(ConfigurationError, match="allow_insecure_http must be True or False"):
        AsyncWorkOS("sk_test_x", base_url="https://api.workos.com", allow_insecure_http=allowed)  # type: ignore[arg-type]


@pytest.mark.parametrize("base_url", [123, b"https://api.workos.com", ["https://api.workos.com"], 0, False, b"", []])
def test_a_base_url_that_is_not_text_is_a_configuration_error(base_url: object) -> None:
    with pytest.raises(ConfigurationError, match="base_url must be a string such as") as caught:
        AsyncWorkOS("sk_test_x", base_url=base_url)  # type: ignore[arg-type]
    assert "'https://api.workos.com'" in str(caught.value)
    assert type(base_url).__name__ in str(caught.value)


@pytest.mark.parametrize(
    "base_url",
    ["http://admin:hunter2secret@127.0.0.1:4100", "https://admin@api.example.com", "https://:hunter2secret@x.io"],
)
def test_a_base_url_with_a_user_or_password_is_refused_without_showing_it(base_url: str) -> None:
    # aiohttp would refuse to send it beside the Authorization header, with a bare ValueError at
    # the first call; and the client's repr showed the password.
    with pytest.raises(ConfigurationError, match="base_url must not hold a user name or password") as caught:
        AsyncWorkOS("sk_test_x", base_url=base_url)
    assert "hunter2secret" not in str(caught.value)
    assert "admin" not in str(caught.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://admin:hunter2secret@127.0.0.1:99999",
        "http://admin:hunter2secret@[::1",
        "https://admin:hunter2secret@/x",
        "ftp://admin:hunter2secret@x.io",
        "http://admin:hunter2secret@127.0.0.1/?q=1",
        # An @ or a # in the password itself.
        "https://admin:hunter2secret@x@api.example.com/?q=1",
        "https://admin:hunter2secret#x@api.example.com/?q=1",
        "http://admin:x@hunter2secret@api.example.com",
        "https://admin:hunter2\nsecret@x.io/?q=1",  # a line break in it
    ],
)
def test_a_base_url_wrong_in_another_way_too_never_shows_its_password(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url") as caught:
        AsyncWorkOS("sk_test_x", base_url=base_url)
    assert "hunter2secret" not in str(caught.value)


@pytest.mark.parametrize("key", [123, b"sk_test_bytes_key_0000", ["sk_test_x"]])
def test_a_key_that_is_not_a_string_is_named_for_what_it_is(key: object) -> None:
    # It said there was no key at all.
    with pytest.raises(
        ConfigurationError, match=f"api_key must be a string such as 'sk_...'; got {type(key).__name__}"
    ):
        AsyncWorkOS(key)  # type: ignore[arg-type]


def test_configuration_errors_are_value_errors() -> None:
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(ConfigurationError, WorkOSError)


def test_plain_http_to_a_remote_host_when_allowed() -> None:
    client = AsyncWorkOS("sk_test_x", base_url="http://api.internal:8080", allow_insecure_http=True)
    assert client.base_url == "http://api.internal:8080"


def test_repr_never_shows_the_key() -> None:
    client = AsyncWorkOS(SECRET, base_url="https://api.workos.com")
    view = client.with_options(timeout=5)
    for text in (repr(client), str(client), repr(view), repr(client.organizations), repr(vars(client.organizations))):
        assert SECRET not in text
    assert "view" in repr(view)


async def test_the_session_is_created_lazily_and_closed(emulator: Emulator) -> None:
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    assert client.session is None
    await client.organizations.create(name="Acme")
    session = client.session
    assert isinstance(session, aiohttp.ClientSession)
    await client.organizations.create(name="Beta")
    assert client.session is session  # one session per client, not one per request
    await client.close()
    assert session.closed
    await client.close()  # twice is fine
    with pytest.raises(ClientClosedError):
        await client.organizations.get("org_1")


async def test_a_users_session_is_never_closed(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, session=session) as client:
            await client.organizations.create(name="Acme")
            assert client.session is session
        assert not session.closed


async def test_with_options_shares_the_session_and_closing_a_view_keeps_it(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST) as client:
        await client.organizations.create(name="Acme")
        # Distinct from the client's, and still ample: the view's create must not time out.
        view = client.with_options(timeout=45, max_retries=0)
        assert (view.timeout, view.max_retries) == (45.0, 0)
        assert (client.timeout, client.max_retries) == (30.0, 2)
        await view.organizations.create(name="Beta")
        assert view.session is client.session
        async with view:
            pass
        assert client.session is not None
        assert not client.session.closed
        assert len([o async for o in client.organizations.list()]) == 2


async def test_per_call_options_are_checked(client: AsyncWorkOS, emulator: Emulator) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        await client.organizations.get("org_1", timeout=-5)
    with pytest.raises(ConfigurationError, match="max_retries"):
        await client.organizations.get("org_1", max_retries=-1)
    assert emulator.requests == []


async def test_the_key_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[BaseException] = []
    async with Emulator(api_key=SECRET) as emulator:
        with caplog.at_level(logging.DEBUG, logger="workos_orgs"):
            async with AsyncWorkOS(api_key=SECRET, base_url=emulator.url, backoff=FAST) as client:
                # A server that echoes the key back in an error body.
                emulator.inject_fault(path="/organizations/*", status=400, body={"message": f"bad key {SECRET}"})
                emulator.inject_fault(path="/organizations/*", status=503, times=3)
                emulator.inject_fault(path="/organizations/*", status=200, body={"oops": SECRET})
                emulator.inject_fault(method="POST", path="/organizations", drop="before", times=3)
                rows = emulator.seed([{"name": "A"}])
                stuck = {"object": "list", "data": rows, "list_metadata": {"before": None, "after": rows[0]["id"]}}
                emulator.inject_fault(method="GET", path="/organizations", status=200, body=stuck, times=2)
                for call in (
                    client.organizations.get("org_1"),
                    client.organizations.get("org_1"),
                    client.organizations.get("org_1"),
                    client.organizations.create(name="A"),
                    client.organizations.get("org_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                ):
                    with pytest.raises(WorkOSError) as caught:
                        await call
                    errors.append(caught.value)
                with pytest.raises(PaginationError) as stuck_error:
                    [o async for o in client.organizations.list()]
                errors.append(stuck_error.value)
        async with AsyncWorkOS(api_key="sk_test_" + "wrong", base_url=emulator.url) as wrong:
            with pytest.raises(APIStatusError) as unauthorized:
                await wrong.organizations.get("org_1")
            errors.append(unauthorized.value)
    kinds = {type(error).__name__ for error in errors}
    assert {"BadRequestError", "InternalServerError", "ResponseValidationError", "APIConnectionError"} <= kinds
    assert {"NotFoundError", "PaginationError", "AuthenticationError"} <= kinds
    for error in errors:
        assert SECRET not in str(error)
        assert SECRET not in repr(error)
        assert SECRET not in repr(vars(error))
    assert isinstance(errors[2], ResponseValidationError)
    assert isinstance(errors[3], APIConnectionError)
    assert caplog.records
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_workos_log_env_turns_on_a_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    before_level, before_handlers = logger.level, list(logger.handlers)
    try:
        monkeypatch.setenv(LOG_ENV_VAR, "debug")
        configure_logging_from_env()
        configure_logging_from_env()
        added = [handler for handler in logger.handlers if handler not in before_handlers]
        assert len(added) == 1
        assert logger.level == logging.DEBUG
    finally:
        logger.handlers[:] = before_handlers
        logger.setLevel(before_level)


def test_making_a_client_leaves_logging_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Logging is the application's to set up (the command line does, from WORKOS_LOG).
    before_level, before_handlers = logger.level, list(logger.handlers)
    monkeypatch.setenv(LOG_ENV_VAR, "debug")
    try:
        AsyncWorkOS(api_key="sk_test", base_url="http://127.0.0.1:9")
        assert (logger.level, logger.handlers) == (before_level, before_handlers)
    finally:
        logger.handlers[:] = before_handlers
        logger.setLevel(before_level)


def test_the_public_surface() -> None:
    for name in workos_orgs.__all__:
        value = getattr(workos_orgs, name)
        if name not in ("UNSET", "Unset", "__version__"):
            assert value.__doc__, name
    assert workos_orgs.UNSET is not None
    assert not workos_orgs.UNSET
    assert repr(workos_orgs.UNSET) == "UNSET"
    assert workos_orgs.__version__


async def test_the_headers_on_the_wire(emulator: Emulator) -> None:
    sent: list[tuple[str, dict[str, str]]] = []

    async def on_request_start(
        session: aiohttp.ClientSession, context: object, params: aiohttp.TraceRequestStartParams
    ) -> None:
        sent.append((params.method, dict(params.headers)))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST)
        emulator.inject_fault(method="POST", path="/organizations", status=503)
        org = await client.organizations.create(name="Acme", extra_headers={"X-Trace-Id": "t-1"})
        await client.organizations.get(org.id)
    (post1, first), (post2, second), (get, third) = sent
    assert (post1, post2, get) == ("POST", "POST", "GET")
    assert first["Idempotency-Key"] == second["Idempotency-Key"]
    assert first["Authorization"] == f"Bearer {emulator.api_key}"
    assert first["User-Agent"] == f"workos-orgs/{workos_orgs.__version__}"
    assert first["Content-Type"] == "application/json"
    assert first["X-Trace-Id"] == "t-1"
    assert "Idempotency-Key" not in third
    assert "Content-Type" not in third


class _ClosesSessionBeforeRequest(RateLimiter):
    """A limiter that never waits, and closes `session` just before the client's `n`th request."""

    def __init__(self, session: aiohttp.ClientSession, n: int) -> None:
        super().__init__()
        self.session, self.n, self.count = session, n, 0

    async def wait(self, method: str, path_segments: tuple[str, ...]) -> None:
        self.count += 1
        if self.count == self.n:
            await self.session.close()


async def test_a_session_passed_in_closed_before_a_retry_says_the_outcome_is_unknown(emulator: Emulator) -> None:
    # The 503 may have done the work; closed before the retry, the message said only that the
    # session was closed, as it does for a first attempt that never went out.
    emulator.inject_fault(method="POST", path="/organizations", status=503)
    session = aiohttp.ClientSession()
    limiter = _ClosesSessionBeforeRequest(session, 2)
    client = AsyncWorkOS(
        api_key=emulator.api_key, base_url=emulator.url, session=session, backoff=FAST, rate_limiter=limiter
    )
    with pytest.raises(ClientClosedError) as caught:
        await client.organizations.create(name="Acme")
    assert "was closed while POST /organizations waited to be sent again (its outcome is unknown)" in str(caught.value)
    assert limiter.count == 2
    assert len(emulator.requests) == 1
    await client.close()


async def test_with_options_refuses_an_option_it_does_not_have(emulator: Emulator) -> None:
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        with pytest.raises(
            InvalidArgumentError, match="with_options takes timeout, max_retries, backoff, rate_limiter"
        ):
            client.with_options(timout=5)  # type: ignore[call-arg]
        view = client.with_options(max_retries=0)
        assert (view.timeout, view.max_retries) == (client.timeout, 0)
        # As a call's unknown keyword is: a TypeError too, as Python's own would be.
        with pytest.raises(UnexpectedOptionError) as caught:
            client.with_options(time_out=3)  # type: ignore[call-arg]
        assert isinstance(caught.value, TypeError)
        assert "'time_out'" in str(caught.value)
        # What a view cannot change says how to get it.
        for fixed in ("api_key", "base_url", "session"):
            with pytest.raises(UnexpectedOptionError, match="make a new client"):
                client.with_options(**{fixed: "x"})  # type: ignore[misc]


async def test_a_finished_call_leaves_nothing_of_its_task_behind(emulator: Emulator) -> None:
    # The pooled connections, their callbacks and the SDK's deadline timer outlive the calls
    # that made them; none of them may keep those calls' tasks (and all they returned) alive.
    (acme,) = emulator.seed([{"name": "Acme"}])

    class Returned:
        """What a caller's task returned."""

    async def call(client: AsyncWorkOS) -> Returned:
        await client.organizations.get(acme["id"])
        return Returned()

    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        tasks = [asyncio.create_task(call(client)) for _ in range(8)]
        for task in tasks:
            await task
        results = [weakref.ref(task.result()) for task in tasks]
        del tasks, task
        await asyncio.sleep(0)  # end this step: the wakeup that resumed it holds the task it waited for
        gc.collect()
        assert client.session is not None
        assert not client.session.closed  # its pooled connections are still there
        assert [result() for result in results] == [None] * 8


async def test_a_session_made_by_one_client_and_passed_to_another_counts_each_send_once(emulator: Emulator) -> None:
    # A send counted twice would make every error's outcome unknown, and a delete of a
    # missing organization look done.
    missing = "org_01HZZZZZZZZZZZZZZZZZZZZZZZ"
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as first:
        await first.organizations.list(limit=1)
        second = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, session=first.session)
        for client in (first, second):
            with pytest.raises(NotFoundError) as caught:
                await client.organizations.delete(missing)
            assert (caught.value.attempts, caught.value.outcome_unknown) == (1, False)
        await second.close()
