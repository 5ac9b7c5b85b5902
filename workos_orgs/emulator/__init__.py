"""A local WorkOS Organizations API for tests, demos and benchmarks.

``async with Emulator() as emu:`` serves the API on a free loopback port with state in
SQLite; ``python -m workos_orgs.emulator`` runs it as a process; the ``workos_emulator``
pytest fixture gives each test a fresh one.
"""

from ._api import RecordedRequest, SeedError
from ._faults import Chaos, Fault
from ._ratelimit import RateLimits
from ._server import DEFAULT_API_KEY, Emulator, make_app

__all__ = ["DEFAULT_API_KEY", "Chaos", "Emulator", "Fault", "RateLimits", "RecordedRequest", "SeedError", "make_app"]
