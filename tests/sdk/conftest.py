"""Fixtures for the SDK tests: a client aimed at the in-process emulator, with quick retries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from workos_orgs import AsyncWorkOS, Backoff
from workos_orgs.emulator import Emulator

from ..gate import SAFETY_NET

# Retries in tests wait milliseconds, not seconds.
FAST = Backoff(base=0.01, cap=0.05, max_retry_after=2.0)


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    """A client for the emulator; closed after the test."""
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=SAFETY_NET) as workos:
        yield workos
