"""The `workos_emulator` fixture as a user's own test suite sees it (installed via pytest11)."""

from __future__ import annotations

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
