"""An emulator's life in a user's tests: started once, closed for good, and told clearly when
it is used otherwise -- never left broken by the mistake."""

from __future__ import annotations

import json
import math
import re
import urllib.request
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import aiohttp
import pytest

from workos_orgs.emulator import DatabaseFileError, Emulator


async def _organizations(emulator: Emulator) -> int:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emulator.url}/organizations", headers=headers) as response,
    ):
        return response.status


def test_starting_a_running_emulator_again_leaves_it_running() -> None:
    # The refusal used to close the emulator the caller was using.
    with Emulator().running_in_thread() as emulator:
        url = emulator.url
        with pytest.raises(RuntimeError, match="already running"), emulator.running_in_thread():
            pass
        assert emulator.url == url
        assert [organization["name"] for organization in emulator.seed([{"name": "Still here"}])] == ["Still here"]
        request = urllib.request.Request(
            f"{url}/organizations", headers={"Authorization": f"Bearer {emulator.api_key}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # it still answers
            assert [organization["name"] for organization in json.load(response)["data"]] == ["Still here"]


def test_an_emulator_that_cannot_bind_is_closed(tmp_path: Path) -> None:
    # Its database, a file here, must not stay open behind the error.
    with Emulator().running_in_thread() as taken:
        port = int(taken.url.rsplit(":", 1)[1])
        emulator = Emulator(port=port, db=tmp_path / "data.db")
        with pytest.raises(OSError, match="in use"), emulator.running_in_thread():
            pass
    with pytest.raises(RuntimeError, match="was closed"):
        emulator.seed([{"name": "Late"}])


async def test_a_closed_emulator_refuses_to_start_or_be_used_again() -> None:
    # Restarted, it served 500s from its closed database; seed and reset raised sqlite errors.
    emulator = Emulator()
    async with emulator:
        assert await _organizations(emulator) == 200
    for use in (emulator.start, lambda: emulator.__aenter__()):
        with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
            await use()
    with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
        emulator.seed([{"name": "Late"}])
    with pytest.raises(RuntimeError, match="was closed; make a new Emulator"):
        emulator.reset()


def _bad_options() -> list[tuple[str, Callable[[], object], str]]:
    return [
        ("rate_limits as a number", lambda: Emulator(rate_limits=1), "rate_limits"),  # type: ignore[arg-type]
        ("rate_limits as text", lambda: Emulator(rate_limits="yes"), "rate_limits"),  # type: ignore[arg-type]
        ("limits as a mapping", lambda: Emulator(limits={"metadata_keys": 10}), "limits"),  # type: ignore[arg-type]
        ("chaos as a number", lambda: Emulator(chaos=0.1), "chaos"),  # type: ignore[arg-type]
        ("stall_timeout as text", lambda: Emulator(stall_timeout="5"), "stall_timeout"),  # type: ignore[arg-type]
        ("stall_timeout infinite", lambda: Emulator(stall_timeout=math.inf), "stall_timeout"),
        ("idempotency_ttl as text", lambda: Emulator(idempotency_ttl="x"), "idempotency_ttl"),  # type: ignore[arg-type]
        ("idempotency_ttl negative", lambda: Emulator(idempotency_ttl=-5), "idempotency_ttl"),
        ("idempotency as text", lambda: Emulator(idempotency="no"), "idempotency"),  # type: ignore[arg-type]
        ("auto_verify as text", lambda: Emulator(auto_verify="no"), "auto_verify"),  # type: ignore[arg-type]
        ("clock not callable", lambda: Emulator(clock=5), "clock"),  # type: ignore[arg-type]
        ("port as text", lambda: Emulator(port="abc"), "port"),  # type: ignore[arg-type]
        ("port out of range", lambda: Emulator(port=70000), "port"),
        ("host as a number", lambda: Emulator(host=123), "host"),  # type: ignore[arg-type]
        ("db as a number", lambda: Emulator(db=123), "db"),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("case", "make", "option"), _bad_options(), ids=[case for case, _, _ in _bad_options()])
def test_a_bad_option_is_refused_at_once_naming_it(case: str, make: Callable[[], object], option: str) -> None:
    # Each was accepted, then failed later deep inside (or as a 500 on every write).
    with pytest.raises((TypeError, ValueError), match=rf"^{option} "):
        make()


def test_a_fault_or_chaos_of_the_wrong_type_is_refused_naming_it() -> None:
    with Emulator().running_in_thread() as emulator:
        _refuses_faults_of_the_wrong_type(emulator)


def _refuses_faults_of_the_wrong_type(emulator: Emulator) -> None:
    with pytest.raises(TypeError, match="inject_fault takes a Fault"):
        emulator.inject_fault("503")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set_chaos takes a Chaos"):
        emulator.set_chaos(0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_after"):
        emulator.inject_fault(status=429, retry_after=-3)


def test_a_db_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\n" * 100)
    for path in (tmp_path / "nowhere" / "data.db", tmp_path, notes):
        with pytest.raises(DatabaseFileError, match=re.escape(f"cannot open the database file {str(path)!r}")):
            Emulator(db=path)


class _PathLike:
    def __init__(self, path: Path) -> None:
        self._path = path

    def __fspath__(self) -> str:
        return str(self._path)


class _Index:
    def __index__(self) -> int:
        return 0


def test_every_kind_of_value_an_option_took_before_is_still_taken(tmp_path: Path) -> None:
    for emulator in (
        Emulator(db=_PathLike(tmp_path / "a.db")),  # type: ignore[arg-type]  # pytest's tmpdir is one
        Emulator(rate_limits=None),  # type: ignore[arg-type]
        Emulator(port=_Index()),  # type: ignore[arg-type]  # numpy's integers are such
        Emulator(idempotency=0, auto_verify=1),
        Emulator(idempotency_ttl=Fraction(3, 2), stall_timeout=Fraction(5, 2)),  # type: ignore[arg-type]
        Emulator(idempotency_ttl=0),
        Emulator(idempotency_ttl=math.inf),
    ):
        with emulator.running_in_thread() as running:
            assert running.seed([{"name": "Acme"}])[0]["name"] == "Acme"
