"""A small fault storm: 32 workers, 40 operations each, through ~10% faults of every kind, twice.

The full-size run is ``python benchmarks/storm.py`` (``nox -s soak``); this is the same code,
bounded by a count of operations instead of seconds, so a busy machine makes it slower, never
different.  The client's timeout (a safety net) is far longer than the emulator's slow
replies, so no write can land after its call returned; the soak run covers abandoned calls.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from workos_orgs import Backoff
from workos_orgs.emulator._faults import CHAOS_KINDS

STORM_PATH = Path(__file__).parents[2] / "benchmarks" / "storm.py"
WORKERS = 32
OPERATIONS = 40  # per worker
# The emulator's chaos is seeded: its first 904 draws at rate 0.1 (seed 7) already hold 101
# faults of all seven kinds, and every operation makes at least one request.
FAULT_KINDS = {"status_429", "status_500", "status_502", "status_503", "delay", "drop_before", "drop_after"}


def load_storm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("storm", STORM_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("storm", module)
    spec.loader.exec_module(module)
    return module


storm = load_storm()


@pytest.mark.parametrize("idempotency", [True, False], ids=["idempotency-on", "idempotency-off"])
async def test_nothing_is_lost_or_doubled_in_a_fault_storm(idempotency: bool) -> None:
    result = await storm.run_storm(
        operations=OPERATIONS,
        workers=WORKERS,
        rate=0.1,
        idempotency=idempotency,
        seed=7,
        timeout=60,
        slow_ms=50,
        retry_after=0,
        backoff=Backoff(base=0.01, cap=0.05, max_retry_after=2),
    )
    print(result.report())
    assert len(CHAOS_KINDS) == len(FAULT_KINDS)
    assert set(result.faults) == FAULT_KINDS  # every kind of fault happened
    assert result.requests >= WORKERS * OPERATIONS
    assert sum(result.faults.values()) > 100
    assert sum(result.operations.values()) == WORKERS * OPERATIONS
    assert set(result.operations) == {"create", "update", "get", "list", "delete"}
    assert result.untyped_errors == ()
    assert result.unexpected_errors == {}
    assert result.live_mismatches == 0
    assert (result.lost, result.duplicated, result.resurrected, result.unexpected, result.changed) == (
        (),
        (),
        (),
        (),
        (),
    )
    assert result.diff == 0
    assert result.ok
    assert result.organizations > 100
    if not idempotency:
        assert result.lookups > 0  # the SDK's own exactly-once did some of the work
