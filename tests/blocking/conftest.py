"""Fixtures for the blocking client's and the event-loop tests: an emulator served from its own thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from workos_orgs import Backoff, WorkOS
from workos_orgs.emulator import Emulator

# Retries in tests wait milliseconds, not seconds.
FAST = Backoff(base=0.01, cap=0.05, max_retry_after=2.0)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator on loopback, served by a thread of its own (the test has no event loop)."""
    with Emulator().running_in_thread() as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[WorkOS]:
    """A blocking client for the emulator; closed after the test, and no thread of it left."""
    with WorkOS(api_key=emulator.api_key, base_url=emulator.url, backoff=FAST, timeout=30) as workos:
        yield workos
    assert not [thread for thread in threading.enumerate() if thread.name == "workos-orgs-loop"]
