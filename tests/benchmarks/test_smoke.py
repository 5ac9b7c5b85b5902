"""The benchmark suite still runs: tiny N, two rounds, every section and target row; no timing asserted.

The benchmarks are scripts in ``benchmarks/``, not part of the package, so they are imported
from there; the official ``workos`` SDK is installed only by ``nox -s bench``, so its client
is skipped here when it is missing, while this SDK and the floor always run.
"""

from __future__ import annotations

import importlib.util
import inspect
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import _clients  # noqa: E402
import _harness  # noqa: E402
import _profile  # noqa: E402
import _report  # noqa: E402
import _results  # noqa: E402
import _scenarios  # noqa: E402
import _shapes  # noqa: E402
import crawl_layers  # noqa: E402
import get_layers  # noqa: E402
import run  # noqa: E402

SEEDED = 150


@pytest.fixture
def emulator() -> Iterator[_harness.EmulatorProcess]:
    """The emulator in its own process, as the suite runs it, with a fresh seeded store."""
    with _harness.emulator_with_samples(SEEDED, _shapes.LEAN) as process:
        yield process


@pytest.mark.parametrize("name", _clients.ALL_CLIENTS)
async def test_each_client_runs_the_network_scenarios(name: str, emulator: _harness.EmulatorProcess) -> None:
    if name == _clients.OFFICIAL:
        pytest.importorskip("workos", reason="the official workos SDK is installed only by `nox -s bench`")
    async with _clients.FACTORIES[name](emulator.url, emulator.api_key) as client:
        crawl = await _scenarios.timed_rounds({name: client}, 2, _scenarios.crawl_job(SEEDED))
        first = await run.fetch(emulator.url, emulator.api_key, run.page_path())
        ids = _scenarios.first_ids([first])
        gets = await _scenarios.timed_rounds({name: client}, 1, _scenarios.gets_job(ids, 10, 4))
        creates = await _scenarios.timed_rounds({name: client}, 1, _scenarios.creates_job(3, 2, "smoke"))
    assert [len(times[name]) for times in (crawl, gets, creates)] == [2, 1, 1]


def test_a_quick_run_writes_every_section_and_every_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--quick", "--output", str(tmp_path)]
    if not _clients.official_sdk_available():
        options.append("--without-official")
    if importlib.util.find_spec("matplotlib") is None:
        options.append("--no-chart")
    written = run.main(options)
    text = written.read_text()
    for heading in (
        "## Machine, load and versions",
        "## Targets",
        "## Machine load during each scenario",
        "## Network scenarios",
        "## The emulator against a bare aiohttp.web handler",
        "## Decode (in process)",
        "**lean page**",
        "**rich page**",
        "## Memory",
        "## Crawl time as the work grows",
        "## Where the time goes",
        "Top functions by self time:",
        "## For the README",
    ):
        assert heading in text
    section = text.split("## Targets\n", 1)[1].split("\n## ", 1)[0]
    target_rows = [line for line in section.splitlines() if line.startswith("| ")][1:]  # after the header
    assert all(row.endswith((" | yes |", " | **no** |", " | - |")) for row in target_rows)
    expected = [f"| {target.text} |" for target in _report.targets(_one_round_of_everything(run.QUICK))]
    # Every target of the issue has its row, with a verdict (or "-" and the reason it was not measured).
    assert [row.split(" | ", 1)[0] + " |" for row in target_rows] == expected
    assert len(expected) == 11  # decode x2, crawl x3, gets x2, blocking, memory, emulator x2
    assert "| crawl 250, busy | yes |" in text  # the busy loop ran beside the busy crawl, and says so
    assert "| crawl 250, quiet | no |" in text
    assert _clients.THIS_SDK in text
    assert _clients.FLOOR in text
    assert str(BENCHMARKS.parent) not in text  # files named from the repository, not this checkout
    readme = capsys.readouterr().out.split("For the README's Performance section:", 1)[1]
    for label in (
        "crawl 250 organizations",
        "busy-loop",
        "blocking client",
        "`get` calls",
        "lean (",
        "rich (",
        "memory",
    ):
        assert label in readme
    if _clients.blocking_client_available():
        # The blocking client exists: its crawl must run here, not end in a "failed: ..." row.
        assert "failed:" not in section
    else:
        assert "| not available: `workos_orgs.WorkOS` does not exist in this version | - |" in text


def test_profiled_functions_are_named_by_their_path_in_the_repository_or_their_package() -> None:
    checkout = BENCHMARKS.parent
    assert _profile._location((str(BENCHMARKS / "_clients.py"), 61, "crawl")) == "benchmarks/_clients.py:61(crawl)"
    assert (
        _profile._location((str(checkout / "workos_orgs" / "_models.py"), 277, "_organization"))
        == "workos_orgs/_models.py:277(_organization)"
    )
    assert (
        _profile._location(("/venv/lib/python3.11/site-packages/aiohttp/client.py", 9, "_request"))
        == "aiohttp/client.py:9(_request)"
    )
    assert _profile._location(("~", 0, "<method 'get' of 'dict' objects>")) == "<method 'get' of 'dict' objects>"


def _one_round_of_everything(plan: _results.Plan) -> _results.Results:
    """Results with one round of every figure, to list every target a run reports."""
    one = {name: [1.0] for name in (*_clients.ALL_CLIENTS, _clients.BLOCKING, _scenarios.ORJSON)}
    servers = {_results.EMULATOR: [1.0], _results.BARE: [1.0]}
    return _results.Results(
        plan=plan,
        clients=_clients.ALL_CLIENTS,
        crawl=one,
        crawl_cpu=one,
        crawl_busy=one,
        crawl_busy_cpu=one,
        gets=one,
        gets_cpu=one,
        creates=one,
        blocking=one,
        server={_results.PAGE: servers, _results.SINGLE: servers},
        load_client_cpu={_results.PAGE: servers, _results.SINGLE: servers},
        server_cpu={_results.PAGE: servers, _results.SINGLE: servers},
        scaling={1: one},
        decode={_shapes.LEAN: one, _shapes.RICH: one},
        body_bytes={_shapes.LEAN: 1, _shapes.RICH: 1},
        memory={_clients.THIS_SDK: 1.0},
        loads={},
        seed_seconds={},
        profiles={},
        started="",
        run_load=_results.Load((0, 0, 0), (0, 0, 0), busy_loop=False),
        elapsed=0.0,
    )


@pytest.mark.parametrize(
    ("shape", "domain_counts", "states", "metadata_keys"),
    [
        (_shapes.LEAN, {1}, {"verified"}, {"tier", "region"}),
        (_shapes.RICH, {1, 2, 3}, {"verified", "pending"}, {"tier", "region", "seats", "crm_id"}),
    ],
)
def test_each_shape_has_its_domains_and_metadata(
    shape: str, domain_counts: set[int], states: set[str], metadata_keys: set[str]
) -> None:
    organizations = list(_shapes.organizations(shape, 300))
    assert {len(item.domains) for item in organizations} == domain_counts
    assert {state for item in organizations for _, state in item.domains} == states
    assert all(set(item.metadata) == metadata_keys for item in organizations)
    assert len({item.external_id for item in organizations}) == 300
    assert organizations == list(_shapes.organizations(shape, 300))  # the same seed, the same organizations


async def test_the_bare_server_sends_the_bytes_it_was_given(tmp_path: Path) -> None:
    page, single = tmp_path / "page.json", tmp_path / "single.json"
    page.write_bytes(orjson.dumps({"data": [], "list_metadata": {"before": None, "after": None}}))
    single.write_bytes(orjson.dumps({"id": "org_1"}))
    with _harness.bare_server_process(page, single) as bare:
        async with aiohttp.ClientSession(bare.url) as session:
            for path, expected in (("/organizations?limit=100", page), ("/organizations/org_1", single)):
                async with session.get(path) as response:
                    assert response.status == 200
                    assert response.content_type == "application/json"
                    assert await response.read() == expected.read_bytes()


def test_the_busy_loop_ends_with_its_block() -> None:
    with _harness.busy_loop() as process:
        assert process.poll() is None
    assert process.poll() is not None


def test_each_blocking_contender_is_timed_right_after_an_untimed_call_of_its_own() -> None:
    # Two contenders in two threads: one that follows the other's call was measured taking
    # longer, so each timed call follows one of its own, in every round and either order.  On
    # a clock of its own, each contender's untimed call takes 100 and its timed call 1.
    now = [0.0]
    calls: list[str] = []

    def contender(name: str) -> Callable[[], None]:
        def call() -> None:
            timed = calls.count(name) % 2 == 1  # every contender's calls alternate: untimed, timed
            calls.append(name)
            now[0] += 1 if timed else 100

        return call

    times = _scenarios.blocking_rounds(
        {"first": contender("first"), "second": contender("second")}, 3, clock=lambda: now[0]
    )

    assert calls == ["first"] * 2 + ["second"] * 4 + ["first"] * 4 + ["second"] * 2
    assert times == {"first": [1, 1, 1], "second": [1, 1, 1]}


# Which of the SDK's pieces each row of the get breakdown runs: each row adds one layer.
_TRANSPORT_SEND = ("workos_orgs._transport", "Transport", "_send_once")
_TRANSPORT_RETRIES = ("workos_orgs._transport", "Transport", "_request")
_CLIENT_BUILD = ("workos_orgs._base_client", None, "build_request")
_PARSE = ("workos_orgs._organizations", None, "parse_organization")
_BUILT_ASIDE = ("get_layers", None, "build")
_LAYER_PIECES: dict[str, set[tuple[str, str | None, str]]] = {
    get_layers.FLOOR: set(),
    get_layers.FLOOR_UNTIMED: set(),
    get_layers.AIOHTTP: set(),
    get_layers.ATTEMPT: {_TRANSPORT_SEND},
    get_layers.RETRIES: {_TRANSPORT_SEND, _TRANSPORT_RETRIES},
    get_layers.CLIENT: {_TRANSPORT_SEND, _TRANSPORT_RETRIES, _CLIENT_BUILD},
    get_layers.SDK: {_TRANSPORT_SEND, _TRANSPORT_RETRIES, _CLIENT_BUILD, _PARSE},
    get_layers.BUILT_ASIDE: {_TRANSPORT_SEND, _TRANSPORT_RETRIES, _BUILT_ASIDE},
}


async def test_each_row_of_the_get_breakdown_runs_its_layers_and_gets_the_organization_asked_for(
    emulator: _harness.EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[tuple[str, str | None, str]] = []

    def counted(piece: tuple[str, str | None, str]) -> None:
        module, owner_name, name = piece
        owner = getattr(sys.modules[module], owner_name) if owner_name else sys.modules[module]
        original = getattr(owner, name)
        if inspect.iscoroutinefunction(original):

            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                ran.append(piece)
                return await original(*args, **kwargs)

        else:

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                ran.append(piece)
                return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    for piece in (_TRANSPORT_SEND, _TRANSPORT_RETRIES, _CLIENT_BUILD, _PARSE, _BUILT_ASIDE):
        counted(piece)
    async with get_layers.every_layer(emulator.url, emulator.api_key) as (calls, ids, build_alone):
        assert list(calls) == list(get_layers.LAYERS)
        assert build_alone > 0
        for name, call in calls.items():
            ran.clear()
            got = await call(ids[7])
            assert (got.id if name == get_layers.SDK else got["id"]) == ids[7], name
            assert set(ran) == _LAYER_PIECES[name], name


def test_the_get_breakdown_reports_every_row_and_its_step(capsys: pytest.CaptureFixture[str]) -> None:
    # Two rounds whose figures rise by 1 µs a row: every step is +1.0 µs; the yardstick, the
    # last row, is measured from the retry loop's row, three rows before it.
    cpu = {name: [(10 + row) * 1e-6, (10 + row) * 1e-6] for row, name in enumerate(get_layers.LAYERS)}
    get_layers.report(get_layers.Measured(cpu, build_alone=1e-6))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0].rstrip() for line in lines[: len(get_layers.LAYERS)]] == list(get_layers.LAYERS)
    assert lines[0].endswith("x1.00 the floor")
    assert all(line.endswith("+1.0 µs (+1.0 to +1.0)") for line in lines[1 : len(get_layers.LAYERS) - 1])
    assert lines[len(get_layers.LAYERS) - 1].endswith("x1.70 the floor   +3.0 µs (+3.0 to +3.0)")
    assert lines[len(get_layers.LAYERS)] == (
        "Building one request: 1.00 µs timed alone, 3.00 µs (3.00 to 3.00) between gets, x3.0."
    )


async def test_each_row_of_the_crawl_breakdown_meets_every_organization_and_runs_what_it_says(
    emulator: _harness.EmulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Which secret each response was searched with (none: the transport was cut), and which
    # rows ran the SDK's retry loop, by row.
    secrets: list[Any] = []
    retried: list[bool] = []
    transport_module = sys.modules["workos_orgs._transport"]
    original_received, original_request = transport_module.received, crawl_layers.Transport._request

    def spied_received(*args: Any, **kwargs: Any) -> Any:
        secrets.append(kwargs["secret"])
        return original_received(*args, **kwargs)

    async def spied_request(*args: Any, **kwargs: Any) -> Any:
        retried.append(True)
        return await original_request(*args, **kwargs)

    monkeypatch.setattr(transport_module, "received", spied_received)
    monkeypatch.setattr(crawl_layers.Transport, "_request", spied_request)
    async with crawl_layers.every_row(emulator.url, emulator.api_key) as crawls:
        assert list(crawls) == list(crawl_layers.ROWS)
        for name, crawl in crawls.items():
            secrets.clear()
            retried.clear()
            assert await crawl() == SEEDED, name
            pages = -(-SEEDED // _clients.PAGE_SIZE)
            if name in (crawl_layers.NO_SCAN, crawl_layers.SDK):
                assert len(retried) == len(secrets) == pages, name
                # A key too short to look for is searched for nowhere; the client's own is.
                assert {secret.texts == () for secret in secrets} == {name == crawl_layers.NO_SCAN}, name
            else:
                assert (retried, secrets) == ([], []), name


def test_the_crawl_breakdown_reports_every_row_against_the_floor(capsys: pytest.CaptureFixture[str]) -> None:
    # Two rounds; each row's wall time is (1 + row / 10) times the floor's, its CPU 10 + row ms.
    rows = crawl_layers.ROWS
    cpu = {name: [(10 + row) * 1e-3] * 2 for row, name in enumerate(rows)}
    wall = {name: [0.1 * (1 + row / 10), 0.2 * (1 + row / 10)] for row, name in enumerate(rows)}
    server = {name: [0.02, 0.03] for name in rows}
    crawl_layers.report(crawl_layers.Measured(cpu, wall, server), busy=True, count=150)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"crawl 150 lean organizations, page size {_clients.PAGE_SIZE}, busy"
    assert [line.split(" CPU ms ")[0].rstrip() for line in lines[1 : len(rows) + 1]] == list(rows)
    assert "x1.00 (1.00-1.00) the floor's time" in lines[1]
    assert "CPU ms  15.0 ( 15.0- 15.0)" in lines[len(rows)]
    assert "x1.50 (1.50-1.50) the floor's time | emulator CPU ms  25.0" in lines[len(rows)]
    assert lines[len(rows) + 1].startswith("load average (1, 5, 15 min): ")


def test_an_installed_package_that_is_not_the_checkouts_is_told_apart(tmp_path: Path) -> None:
    copy = tmp_path / "workos_orgs"
    shutil.copytree(_harness.CHECKOUT_PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert _harness.package_differs(copy) is None
    assert _harness.package_differs(_harness.CHECKOUT_PACKAGE) is None
    (copy / "_response.py").write_text("# an older release\n")
    assert _harness.package_differs(copy) == "_response.py"
    (copy / "_response.py").unlink()
    assert _harness.package_differs(copy) == "_response.py (in one of them only)"


def test_the_suite_refuses_to_measure_a_package_that_is_not_the_checkouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "workos_orgs"
    shutil.copytree(_harness.CHECKOUT_PACKAGE, stale, ignore=shutil.ignore_patterns("__pycache__"))
    (stale / "_version.py").write_text('VERSION = "0.0.1"\n')
    monkeypatch.setattr(run.workos_orgs, "__file__", str(stale / "__init__.py"))
    with pytest.raises(SystemExit):
        run.main(["--quick", "--output", str(tmp_path / "out")])
    assert "_version.py differs" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
