"""Fixtures for the blocking client's and the event-loop tests: an emulator served from its own thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workos_orgs.emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator on loopback, served by a thread of its own (the test has no event loop)."""
    with Emulator().running_in_thread() as emu:
        yield emu
