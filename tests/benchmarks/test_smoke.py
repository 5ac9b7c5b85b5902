"""The benchmark suite still runs: tiny N, one round, no timing asserted.

The benchmarks are scripts in ``benchmarks/``, not part of the package, so they are imported
from there; the official ``workos`` SDK is installed only by ``nox -s bench``, so its client
is skipped here when it is missing, while this SDK and the floor always run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _clients  # noqa: E402
import _harness  # noqa: E402
import _scenarios  # noqa: E402
import run  # noqa: E402

SEEDED = 150


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[_harness.EmulatorProcess]:
    """The emulator in its own process, as the suite runs it, with a fresh seeded store."""
    seed = _harness.write_seed(tmp_path / "seed.json", SEEDED)
    with _harness.emulator_process("--seed", str(seed)) as process:
        yield process


@pytest.mark.parametrize("name", _clients.ALL_CLIENTS)
async def test_each_client_runs_the_network_scenarios(name: str, emulator: _harness.EmulatorProcess) -> None:
    if name == _clients.OFFICIAL:
        pytest.importorskip("workos", reason="the official workos SDK is installed only by `nox -s bench`")
    async with _clients.FACTORIES[name](emulator.url, emulator.api_key) as client:
        crawl = await _scenarios.timed_rounds({name: client}, 1, _scenarios.crawl_job(SEEDED))
        first = await run.first_page(emulator.url, emulator.api_key)
        ids = _scenarios.first_ids([first])
        gets = await _scenarios.timed_rounds({name: client}, 1, _scenarios.gets_job(ids, 10, 4))
        creates = await _scenarios.timed_rounds({name: client}, 1, _scenarios.creates_job(3, 2, "smoke"))
    assert [len(times[name]) for times in (crawl, gets, creates)] == [1, 1, 1]


def test_a_quick_run_writes_the_results(tmp_path: Path) -> None:
    options = ["--quick", "--output", str(tmp_path), "--without-official"]
    if importlib.util.find_spec("matplotlib") is None:
        options.append("--no-chart")
    written = run.main(options)
    text = written.read_text()
    for heading in ("## Targets", "## Network scenarios", "## Decode", "## Memory", "## Where the time goes"):
        assert heading in text
    assert _clients.THIS_SDK in text
    assert _clients.FLOOR in text
