"""A local WorkOS Organizations API for tests, demos and benchmarks.

``async with Emulator() as emu:`` serves the API on a free loopback port with state in
SQLite; ``python -m workos_orgs.emulator`` runs it as a process; the ``workos_emulator``
pytest fixture gives each test a fresh one.
"""

from ._api import SeedError, TxtRecord
from ._emulator import DEFAULT_API_KEY, DatabaseFileError, Emulator
from ._faults import Chaos, Fault, PendingFault
from ._limits import Limits
from ._ratelimit import RateLimits
from ._request_log import RecordedRequest

__all__ = [
    "DEFAULT_API_KEY",
    "Chaos",
    "DatabaseFileError",
    "Emulator",
    "Fault",
    "Limits",
    "PendingFault",
    "RateLimits",
    "RecordedRequest",
    "SeedError",
    "TxtRecord",
]
