"""One `AsyncWorkOS`, one event loop: a call from another loop is refused, clearly and cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import warnings
from collections.abc import Iterator

import pytest

from workos_orgs import AsyncWorkOS, WorkOSError, WrongEventLoopError
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET
from .test_lifecycle import _fork_and_run


async def _name_of(client: AsyncWorkOS, organization_id: str) -> str:
    return (await client.organizations.get(organization_id)).name


@contextlib.contextmanager
def two_loops() -> Iterator[tuple[asyncio.AbstractEventLoop, asyncio.AbstractEventLoop]]:
    """Two event loops, both open (neither running), closed after the test."""
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_a_second_open_loop_is_refused_and_the_first_keeps_working(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme"}])
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    with two_loops() as (first, second):
        assert first.run_until_complete(_name_of(client, acme["id"])) == "Acme"
        sent = len(emulator.requests)
        with pytest.raises(WrongEventLoopError) as caught:
            second.run_until_complete(_name_of(client, acme["id"]))
        assert isinstance(caught.value, WorkOSError)
        assert "another event loop (still open)" in str(caught.value)
        assert "lifespan" in str(caught.value)
        assert len(emulator.requests) == sent  # refused before anything was sent
        # The loop it belongs to still has a working client.
        assert first.run_until_complete(_name_of(client, acme["id"])) == "Acme"
        first.run_until_complete(client.close())


def test_closing_from_another_open_loop_is_refused_and_leaves_the_client_to_its_own(emulator: Emulator) -> None:
    # aiohttp failed with a bare RuntimeError, the client was marked closed all the same, and
    # its pooled connection was left open in the loop it belongs to.
    (acme,) = emulator.seed([{"name": "Acme"}])
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    with two_loops() as (first, second):
        assert first.run_until_complete(_name_of(client, acme["id"])) == "Acme"
        with pytest.raises(WrongEventLoopError, match="close it in that loop") as caught:
            second.run_until_complete(client.close())
        # That loop is not running: run_coroutine_threadsafe alone would wait for ever.
        assert "loop.run_until_complete(client.close())" in str(caught.value)
        assert first.run_until_complete(_name_of(client, acme["id"])) == "Acme"  # still open, still working
        first.run_until_complete(client.close())
        assert client.session is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_can_close_the_client_it_inherited(emulator: Emulator) -> None:
    # The parent's loop is still open in the child's copy of memory, but it is not the child's:
    # close() there refused for ever.  The child lets go of the connections instead.
    (acme,) = emulator.seed([{"name": "Acme"}])
    # No retry, and a timeout no healthy loopback request comes near: a parent whose pooled
    # connection the child took out of its loop waits the timeout out, then fails.
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, max_retries=0, timeout=SAFETY_NET)
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(_name_of(client, acme["id"])) == "Acme"

        def in_the_child() -> bool:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # whatever is collected is collected, as in an app
                asyncio.run(client.close())
                gc.collect()
            return client.session is None

        assert _fork_and_run(in_the_child) == 0
        # The parent's client still works, on its pooled connection.
        assert loop.run_until_complete(_name_of(client, acme["id"])) == "Acme"
        loop.run_until_complete(client.close())
    finally:
        loop.close()


def test_two_asyncio_runs_get_a_typed_error_not_a_closed_loop(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme"}])
    client = AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url)
    # The first run's connection is not kept, so the only socket in play would be the second run's.
    assert asyncio.run(_name_of_unpooled(client, acme["id"])) == "Acme"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(WrongEventLoopError, match=r"another event loop \(now closed\)"):
            asyncio.run(_name_of(client, acme["id"]))
        # Closing from any loop lets go of the session; a socket left open by the refused call
        # would warn when collected.
        asyncio.run(client.close())
        gc.collect()


async def _name_of_unpooled(client: AsyncWorkOS, organization_id: str) -> str:
    organization = await client.organizations.get(organization_id, extra_headers={"Connection": "close"})
    return organization.name


async def test_a_client_made_in_the_running_loop_works_there(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme"}])
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        assert await _name_of(client, acme["id"]) == "Acme"
