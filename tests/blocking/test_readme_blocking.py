"""The README's "Blocking code" and "Event loops" examples run, against the emulator."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from workos_orgs import WorkOS
from workos_orgs.emulator import Emulator

README = Path(__file__).parent.parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def block(starting_with: str) -> str:
    (found,) = [code for code in BLOCKS if starting_with in code]
    return found


def run(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_shared_client_example(env: Emulator) -> None:
    (acme,) = env.seed([{"name": "Acme", "domains": ["acme.example"]}])
    namespace = run(block("def organization_summary"))
    workos: WorkOS = namespace["workos"]
    try:
        assert namespace["organization_summary"](acme["id"]) == {
            "id": acme["id"],
            "name": "Acme",
            "domains": ["acme.example"],
        }
    finally:
        workos.close()


def test_blocking_tour_example(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    run(block(".first_page()  # one Page"))
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5
    assert printed[0].split()[1] == "Acme"  # the walk
    assert printed[1:3] == ["1 None", "1"]  # the first page, then each page
    assert printed[3].split()[1] == "Acme"  # the raw response's request id, then the model
    assert printed[4] == "created 1, updated 1, unchanged 0, deleted 0, failed 0"
    with WorkOS() as client:
        assert sorted(org.name for org in client.organizations.list()) == ["Acme Inc.", "Globex"]


def test_script_example(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    env.seed([{"name": "Acme"}])
    run(block("asyncio.run(main())"))
    assert capsys.readouterr().out == "['Acme']\n"


def test_pytest_fixture_example(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        "import pytest\n"
        + block("async def workos_client(workos_emulator)")
        + "\n\n@pytest.mark.asyncio\nasync def test_it(workos_client):\n"
        + "    await workos_client.organizations.create(name='Acme')\n"
        + "    assert [org.name async for org in workos_client.organizations.list()] == ['Acme']\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
