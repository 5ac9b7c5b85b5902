"""The emulator in its own process under concurrent load, and killed with SIGKILL mid-load.

Short runs of ``benchmarks/emulator_load.py`` (the full-size run is ``nox -s soak``): no 5xx,
no "database is locked", no acknowledged write lost, nothing half-written after a kill -9.
No timing is asserted, and the runs are bounded by a count of requests, not by seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import emulator_load  # noqa: E402

CLIENTS = 8
STEPS = 40  # requests per client; the kill comes after half of all of them
SECONDS = 600.0  # never reached: the steps end each run


def assert_clean(report: emulator_load.LoadReport) -> None:
    tally, verdict = report.tally, report.verdict
    assert report.requests > 100, report.lines()
    assert report.server_error_count == 0, tally.server_errors[:5]
    assert tally.locked == 0
    assert {"create", "get", "list", "update", "delete"} <= set(tally.operations), tally.operations
    assert verdict.checked > 10, report.lines()
    assert verdict.missing == []
    assert verdict.half_written == []


async def test_concurrent_clients_in_memory_get_no_5xx_and_lose_nothing() -> None:
    report = await emulator_load.run(seconds=SECONDS, clients=CLIENTS, db=None, kill=False, steps=STEPS)
    assert_clean(report)
    assert report.tally.cut == 0


async def test_concurrent_clients_on_a_db_file_get_no_5xx_and_lose_nothing(tmp_path: Path) -> None:
    report = await emulator_load.run(seconds=SECONDS, clients=CLIENTS, db=tmp_path / "load.db", kill=False, steps=STEPS)
    assert_clean(report)
    assert report.tally.cut == 0


async def test_kill_9_mid_load_keeps_every_acknowledged_create_whole(tmp_path: Path) -> None:
    report = await emulator_load.run(
        seconds=SECONDS, clients=CLIENTS, db=tmp_path / "killed.db", kill=True, steps=2 * STEPS
    )
    assert_clean(report)
    assert report.integrity == "ok"
    assert report.ok
