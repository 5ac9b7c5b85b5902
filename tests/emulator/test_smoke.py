"""The emulator serves the most basic round trip."""

from __future__ import annotations

import aiohttp


async def test_create_then_get_round_trip(http: aiohttp.ClientSession) -> None:
    async with http.post("/organizations", json={"name": "Acme"}) as response:
        assert response.status == 201
        created = await response.json()
    async with http.get(f"/organizations/{created['id']}") as response:
        assert response.status == 200
        assert await response.json() == created
