"""The ``workos_emulator`` and ``workos_client`` pytest fixtures, installed with workos-orgs.

Any test that names a fixture gets a fresh emulator on a free loopback port, served from a
background thread so it works in synchronous tests and under any async test plugin::

    async def test_create(workos_client):
        org = await workos_client.organizations.create(name="Acme")

Configure it per test (or module, with ``pytestmark``) with the ``workos_emulator`` marker,
which takes `Emulator`'s keyword arguments::

    @pytest.mark.workos_emulator(auto_verify=True, seed={"organizations": [{"name": "Acme"}]})
    def test_something(workos_emulator): ...

or build your own with the ``workos_emulator_factory`` fixture.  While the fixture is in use,
``WORKOS_API_KEY`` and ``WORKOS_BASE_URL`` point at the emulator.  Nothing is imported from the
emulator until a test asks for a fixture, so a pytest run that uses none pays nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from workos_orgs import AsyncWorkOS
    from workos_orgs.emulator import Emulator

MARKER = "workos_emulator"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the test's emulator, as Emulator's keyword arguments"
        " (auto_verify=True, seed=..., rate_limits=True, limits=Limits(...), ...).",
    )
    # `workos_client` is an async fixture, and pytest-asyncio in strict mode runs only the
    # async fixtures declared with its own decorator; anyio runs any.  pytest-asyncio is
    # already imported when its plugin is active, so asking for it costs nothing.
    fixture: Callable[..., Any] = pytest.fixture
    if config.pluginmanager.hasplugin("asyncio"):
        import pytest_asyncio

        fixture = pytest_asyncio.fixture
    holder = type("WorkOSClientFixture", (), {"workos_client": fixture(name="workos_client")(_workos_client)})
    config.pluginmanager.register(holder, "workos_orgs.workos_client")


def emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments the test's ``workos_emulator`` markers give, closest last."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only (Emulator's).")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def workos_emulator_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Emulator]]:
    """Start emulators with any of `Emulator`'s options; each stops when the test ends.

    The first one started sets ``WORKOS_API_KEY`` and ``WORKOS_BASE_URL`` for the test.
    """
    from workos_orgs.emulator import Emulator

    with ExitStack() as stack:

        def start(**options: Any) -> Emulator:
            emulator = stack.enter_context(Emulator(**options).running_in_thread())
            if not started:
                monkeypatch.setenv("WORKOS_API_KEY", emulator.api_key)
                monkeypatch.setenv("WORKOS_BASE_URL", emulator.url)
            started.append(emulator)
            return emulator

        started: list[Emulator] = []
        yield start


@pytest.fixture
def workos_emulator(request: pytest.FixtureRequest, workos_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A fresh emulator for one test, configured by the ``workos_emulator`` marker; stopped when it ends."""
    return workos_emulator_factory(**emulator_options(request))


async def _workos_client(workos_emulator: Emulator) -> AsyncIterator[AsyncWorkOS]:
    """An `AsyncWorkOS` client for the test's emulator, closed when the test ends (an async fixture)."""
    from workos_orgs import AsyncWorkOS

    async with AsyncWorkOS(api_key=workos_emulator.api_key, base_url=workos_emulator.url) as client:
        yield client
