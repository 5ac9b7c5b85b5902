"""The ``workos_emulator`` pytest fixture, installed with the package.

Any test that names the fixture gets a fresh emulator on a free loopback port, served from a
background thread so it works in synchronous tests and under any async test plugin::

    async def test_create(workos_emulator):
        async with AsyncWorkOS(api_key=workos_emulator.api_key, base_url=workos_emulator.url) as client:
            org = await client.organizations.create(name="Acme")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .emulator import Emulator


@pytest.fixture
def workos_emulator() -> Iterator[Emulator]:
    """A fresh, empty emulator for one test; stopped when the test ends."""
    with Emulator().running_in_thread() as emulator:
        yield emulator
