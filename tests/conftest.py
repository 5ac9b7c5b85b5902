"""Fixtures shared by the whole suite: a fresh emulator on loopback, and raw HTTP to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from pytest_workos_orgs import emulator_options
from workos_orgs.emulator import Emulator

pytest_plugins = ["pytester"]


@pytest.fixture
async def emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A fresh in-process emulator on a free port, in the test's own event loop.

    Live-like by default (a domain verifies only once its DNS record is published); a test
    asks for anything else with ``@pytest.mark.workos_emulator(auto_verify=True, ...)``.
    """
    async with Emulator(**emulator_options(request)) as emu:
        yield emu


@pytest.fixture
async def http(emulator: Emulator) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session aimed at the emulator, sending its API key."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as session:
        yield session


@pytest.fixture
def env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with ``WORKOS_API_KEY`` and ``WORKOS_BASE_URL`` set to it for the test
    (the README's examples read them)."""
    monkeypatch.setenv("WORKOS_API_KEY", emulator.api_key)
    monkeypatch.setenv("WORKOS_BASE_URL", emulator.url)
    return emulator
