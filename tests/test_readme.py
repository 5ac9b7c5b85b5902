"""The README's Python examples compile, and run against the emulator."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from workos_orgs import AsyncWorkOS, OrganizationRecord
from workos_orgs.emulator import Chaos, Emulator

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def block(starting_with: str) -> str:
    (found,) = [code for code in BLOCKS if starting_with in code]
    return found


async def run(code: str, namespace: dict[str, Any]) -> dict[str, Any]:
    namespace.setdefault("__name__", "readme_example")
    compiled = compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if result is not None:
        await result
    return namespace


def test_there_are_examples_and_every_one_compiles() -> None:
    assert len(BLOCKS) >= 8
    for code in BLOCKS:
        compile(code, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def test_web_handler_example_serves_an_organization(env: Emulator) -> None:
    (acme,) = env.seed([{"name": "Acme", "domains": ["acme.example"]}])
    namespace = await run(block("async def show_organization"), {})
    async with TestClient(TestServer(namespace["app"])) as http:
        response = await http.get(f"/orgs/{acme['id']}")
        assert response.status == 200
        assert await response.json() == {"id": acme["id"], "name": "Acme", "domains": ["acme.example"]}
        missing = await http.get("/orgs/org_01EHWNCE74X7JSDV0X3SZ3KJNY")
        assert missing.status == 404


async def test_async_for_example(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    await run(block("async for page in"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[1] == "Acme"
    assert printed[1:] == ["1 None", "1"]


async def test_errors_example_takes_the_bad_request_branch(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    env.seed([{"name": "Taken", "external_id": "acme-42"}])
    await run(block("except wo.BadRequestError"), {})
    assert capsys.readouterr().out.startswith("external_id_already_used ")


async def test_unset_example(env: Emulator) -> None:
    (acme,) = env.seed(
        [{"name": "Acme", "external_id": "a", "metadata": {"tier": "gold", "x": "y"}, "domains": ["acme.example"]}]
    )
    async with AsyncWorkOS() as client:
        await run(block("external_id=None)"), {"client": client, "org_id": acme["id"]})
        organization = await client.organizations.get(acme["id"])
    assert (organization.name, organization.external_id, dict(organization.metadata), organization.domains) == (
        "Acme Corp",
        None,
        {"x": "y"},
        (),
    )


async def test_bulk_sync_example(env: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        SimpleNamespace(id=f"c-{n}", name=f"Customer {n}", domains=[f"c{n}.example"], tier="gold") for n in range(3)
    ]
    await run(block("def customers():"), {"read_my_database": lambda: rows, "OrganizationRecord": OrganizationRecord})
    assert "created 3, updated 0, unchanged 0, deleted 0, failed 0" in capsys.readouterr().out


async def test_emulator_examples(capsys: pytest.CaptureFixture[str]) -> None:
    await run(block("print(emu.url, emu.api_key)"), {})
    assert capsys.readouterr().out.split()[1] == "sk_test_default"
    async with Emulator() as emu:
        await run(block("emu.inject_fault("), {"emu": emu, "Chaos": Chaos})
        assert emu.requests == []


async def test_pytest_fixture_example(emulator: Emulator) -> None:
    async def sign_up(client: AsyncWorkOS, company: str) -> None:
        await client.organizations.create(name=company)

    namespace = await run(block("async def test_signup"), {"my_app": SimpleNamespace(sign_up=sign_up)})
    await namespace["test_signup_creates_an_organization"](emulator)
    async with aiohttp.ClientSession() as http, http.get(f"{emulator.url}/health") as response:
        assert response.status == 200


async def test_domain_verification_example(emulator: Emulator) -> None:
    namespace = await run(block("async def test_domain_verification"), {})
    async with AsyncWorkOS(api_key=emulator.api_key, base_url=emulator.url) as client:
        await namespace["test_domain_verification"](emulator, client)
    assert [entry.status for entry in emulator.requests] == [201, 201, 201, 201]


async def test_configured_emulator_example() -> None:
    namespace = await run(block("async def test_with_a_configured_emulator"), {})
    [marker] = namespace["test_with_a_configured_emulator"].pytestmark
    async with Emulator(**marker.kwargs) as emu, AsyncWorkOS(api_key=emu.api_key, base_url=emu.url) as client:
        assert emu.limits.metadata_keys == 10
        await namespace["test_with_a_configured_emulator"](client)
