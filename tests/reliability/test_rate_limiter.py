"""A `RateLimiter` survives cancelled calls: a wait cut short gives its reservation back."""

from __future__ import annotations

import asyncio

import pytest

from workos_orgs import RateLimiter

ORG_ID = "org_01ARZ3NDEKTSV4RRFFQ69G5FAV"


class Sleeps:
    """A `sleep` that records each delay asked for and never returns until cancelled."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._never = asyncio.Event()
        self._asked = asyncio.Condition()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        async with self._asked:
            self._asked.notify_all()
        await self._never.wait()

    async def until(self, count: int) -> None:
        async with self._asked:
            await self._asked.wait_for(lambda: len(self.delays) >= count)


@pytest.mark.parametrize(
    ("method", "segments"), [("GET", ("organizations", ORG_ID)), ("DELETE", ("organizations", ORG_ID))]
)
async def test_cancelled_waits_give_their_reservations_back(method: str, segments: tuple[str, ...]) -> None:
    sleeps = Sleeps()
    limiter = RateLimiter(requests_per_minute=60, headroom=1.0, burst=1, clock=lambda: 0.0, sleep=sleeps)
    await limiter.wait(method, segments)  # the burst goes at once
    async with asyncio.timeout(30):
        first = asyncio.create_task(limiter.wait(method, segments))
        await sleeps.until(1)
        waiting = [asyncio.create_task(limiter.wait(method, segments)) for _ in range(3000)]
        await sleeps.until(3001)
        for task in [first, *waiting]:
            task.cancel()
        await asyncio.gather(first, *waiting, return_exceptions=True)
        after = asyncio.create_task(limiter.wait(method, segments))
        await sleeps.until(3002)
        after.cancel()
    assert sleeps.delays[-1] == sleeps.delays[0] > 0
    assert sleeps.delays[1] > sleeps.delays[0]  # while they waited, each queued behind the one before


async def test_a_wait_that_ran_its_course_keeps_its_reservation() -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    limiter = RateLimiter(requests_per_minute=60, headroom=1.0, burst=1, clock=lambda: 0.0, sleep=sleep)
    for _ in range(3):
        await limiter.wait("GET", ("organizations",))
    assert len(slept) == 2
    assert slept[1] == pytest.approx(2 * slept[0])
