"""Chaos mode: random faults on a share of requests, repeatable with a seed."""

from __future__ import annotations

import aiohttp
import pytest

from workos_orgs.emulator import Chaos, Emulator

REQUESTS = 200


async def _statuses(emulator: Emulator) -> list[int | None]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    connector = aiohttp.TCPConnector(force_close=True)  # a dropped connection never poisons the next request
    async with aiohttp.ClientSession(base_url=emulator.url, headers=headers, connector=connector) as http:
        for _ in range(REQUESTS):
            try:
                async with http.post("/organizations", json={"name": "Chaos"}) as response:
                    await response.read()
            except aiohttp.ClientConnectionError:
                pass
    return [request.status for request in emulator.requests]


async def test_faults_about_the_configured_share_with_every_kind() -> None:
    chaos = Chaos(rate=0.3, slow_ms=1, seed=7)
    async with Emulator(chaos=chaos) as emulator:
        await _statuses(emulator)
        kinds = [request.fault for request in emulator.requests]
    faulted = [kind for kind in kinds if kind is not None]
    assert len(kinds) == REQUESTS
    assert 0.2 * REQUESTS <= len(faulted) <= 0.4 * REQUESTS
    assert set(faulted) == {
        "status_429",
        "status_500",
        "status_502",
        "status_503",
        "delay",
        "drop_before",
        "drop_after",
    }


async def test_the_same_seed_gives_the_same_faults() -> None:
    runs = []
    for _ in range(2):
        async with Emulator(chaos=Chaos(rate=0.5, slow_ms=1, seed=42)) as emulator:
            await _statuses(emulator)
            runs.append([request.fault for request in emulator.requests])
    assert runs[0] == runs[1]


async def test_only_the_chosen_kinds_and_429s_say_when_to_retry() -> None:
    async with Emulator(chaos=Chaos(rate=1.0, kinds=("429",), retry_after=3, seed=1)) as emulator:
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        async with aiohttp.ClientSession(base_url=emulator.url, headers=headers) as http:
            async with http.get("/organizations") as response:
                assert response.status == 429
                assert response.headers["Retry-After"] == "3"
            emulator.set_chaos(None)
            async with http.get("/organizations") as response:
                assert response.status == 200


async def test_chaos_over_the_control_api(http: aiohttp.ClientSession) -> None:
    async with http.post("/_emulator/chaos", json={"rate": 1.0, "kinds": ["503"]}) as response:
        assert response.status == 201
        assert (await response.json())["rate"] == 1.0
    async with http.get("/organizations") as response:
        assert response.status == 503
    async with http.delete("/_emulator/chaos") as response:
        assert response.status == 204
    async with http.get("/organizations") as response:
        assert response.status == 200
    async with http.post("/_emulator/chaos", json={"rate": 2}) as response:
        assert response.status == 422
        assert "share of requests" in (await response.json())["message"]


@pytest.mark.parametrize(
    "spec",
    [{"rate": -0.1}, {"rate": 1.5}, {"kinds": ()}, {"kinds": ("418",)}, {"slow_ms": -1}],
)
def test_bad_chaos_settings_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"rate|kinds|slow_ms"):
        Chaos(**spec)  # type: ignore[arg-type]
