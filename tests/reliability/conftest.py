"""Fixtures for the reliability tests: an emulator without idempotency, clients with quick retries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pytest_workos_orgs import emulator_options
from workos_orgs import AsyncWorkOS, Backoff
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET

# Retries in tests wait milliseconds, not seconds.
FAST = Backoff(base=0.005, cap=0.02, max_retry_after=2.0)


@pytest.fixture
async def bare_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """An emulator that ignores ``Idempotency-Key``: exactly-once must come from the SDK.

    Configured like ``emulator``, by the ``workos_emulator`` marker.
    """
    async with Emulator(idempotency=False, **emulator_options(request)) as emu:
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    """A client for the (idempotent) emulator; closed after the test."""
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=SAFETY_NET) as workos:
        yield workos


@pytest.fixture
async def bare_client(bare_emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    """A client for the emulator without idempotency."""
    async with AsyncWorkOS(
        api_key=bare_emulator.api_key, base_url=bare_emulator.url, backoff=FAST, timeout=SAFETY_NET
    ) as c:
        yield c
