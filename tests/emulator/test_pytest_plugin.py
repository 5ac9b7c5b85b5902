"""The `workos_emulator` fixture as a user's own test suite sees it (installed via pytest11)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

USER_TESTS = """
import json
import urllib.error
import urllib.request

import aiohttp
import pytest


def _get(emulator, path):
    request = urllib.request.Request(emulator.url + path, headers={"Authorization": "Bearer " + emulator.api_key})
    with urllib.request.urlopen(request) as response:
        return response.status, json.load(response)


def test_sync_test_gets_a_fresh_emulator(workos_emulator):
    workos_emulator.seed({"organizations": [{"name": "Acme"}]})
    status, body = _get(workos_emulator, "/organizations")
    assert status == 200
    assert [org["name"] for org in body["data"]] == ["Acme"]


def test_each_test_starts_empty(workos_emulator):
    assert _get(workos_emulator, "/organizations")[1]["data"] == []


def test_faults_are_settable_from_the_test(workos_emulator):
    workos_emulator.inject_fault(method="GET", path="/organizations", status=503)
    with pytest.raises(urllib.error.HTTPError) as raised:
        _get(workos_emulator, "/organizations")
    assert raised.value.code == 503
    raised.value.close()
    assert _get(workos_emulator, "/organizations")[0] == 200


@pytest.mark.asyncio
async def test_async_test_uses_it_too(workos_emulator):
    headers = {"Authorization": "Bearer " + workos_emulator.api_key}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(workos_emulator.url + "/organizations", json={"name": "Async"}) as response:
            assert response.status == 201
    assert [r.method for r in workos_emulator.requests] == ["POST"]
"""


def test_fixture_works_in_sync_and_async_user_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "asyncio", "-W", "error")
    result.assert_outcomes(passed=4)


CONFIGURED = """
import os

import pytest

from workos_orgs import AsyncWorkOS, DomainState
from workos_orgs.emulator import Limits

pytestmark = pytest.mark.workos_emulator(seed={"organizations": [{"name": "Module Seed"}]})


@pytest.mark.workos_emulator(auto_verify=True, limits=Limits(metadata_keys=1))
def test_marker_configures_the_emulator(workos_emulator):
    assert workos_emulator.limits.metadata_keys == 1
    assert [r.method for r in workos_emulator.requests] == []


def test_module_marker_seeds(workos_emulator):
    import json, urllib.request
    request = urllib.request.Request(
        workos_emulator.url + "/organizations", headers={"Authorization": "Bearer " + workos_emulator.api_key}
    )
    with urllib.request.urlopen(request) as response:
        assert [org["name"] for org in json.load(response)["data"]] == ["Module Seed"]


def test_environment_points_at_the_emulator(workos_emulator):
    assert os.environ["WORKOS_API_KEY"] == workos_emulator.api_key
    assert os.environ["WORKOS_BASE_URL"] == workos_emulator.url


def test_factory_starts_more(workos_emulator_factory):
    first = workos_emulator_factory(api_key="sk_test_first")
    second = workos_emulator_factory(auto_verify=True)
    assert first.url != second.url
    assert os.environ["WORKOS_BASE_URL"] == first.url


@pytest.mark.workos_emulator(auto_verify=True)
async def test_workos_client_is_ready(workos_client, workos_emulator):
    organization = await workos_client.organizations.create(name="Client")
    domain = await workos_client.organization_domains.create(organization_id=organization.id, domain="client.com")
    assert (await workos_client.organization_domains.verify(domain.id)).state is DomainState.VERIFIED
    assert [r.method for r in workos_emulator.requests] == ["POST", "POST", "POST"]


async def test_application_code_reads_the_environment(workos_emulator):
    async with AsyncWorkOS(api_key=os.environ["WORKOS_API_KEY"], base_url=os.environ["WORKOS_BASE_URL"]) as client:
        assert [org.name async for org in client.organizations.list()] == ["Module Seed"]
"""


@pytest.mark.parametrize(
    ("mode", "arguments"),
    [
        ("asyncio auto", ["-p", "asyncio", "-o", "asyncio_mode=auto"]),
        ("asyncio strict", ["-p", "asyncio", "-o", "asyncio_mode=strict"]),
        ("anyio", ["-p", "no:asyncio", "-p", "anyio"]),
    ],
)
def test_fixtures_configure_and_work_under_each_async_plugin(
    pytester: pytest.Pytester, mode: str, arguments: list[str]
) -> None:
    tests = CONFIGURED
    if mode == "asyncio strict":
        tests = tests.replace("\nasync def", "\n@pytest.mark.asyncio\nasync def")
    if mode == "anyio":
        tests = tests.replace("\nasync def", "\n@pytest.mark.anyio\nasync def")
        tests += "\n\n@pytest.fixture\ndef anyio_backend():\n    return 'asyncio'\n"
    if mode != "anyio":
        pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_configured=tests)
    result = pytester.runpytest_subprocess(*arguments, "-W", "error")
    result.assert_outcomes(passed=6)


def test_the_marker_takes_keywords_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_positional="""
import pytest

@pytest.mark.workos_emulator(True)
def test_it(workos_emulator):
    pass
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*takes keyword arguments only*"])


def test_loading_the_plugin_imports_nothing_of_the_sdk() -> None:
    # Every pytest run in an environment with the package loads the plugin: it must cost nothing
    # until a test asks for one of its fixtures.
    code = (
        "import sys, pytest_workos_orgs\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('workos_orgs', 'aiohttp'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_plugin_is_installed_under_its_entry_point() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "workos_orgs"]
    assert entry.value == "pytest_workos_orgs"
