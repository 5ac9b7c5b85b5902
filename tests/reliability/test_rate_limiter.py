"""A `RateLimiter` survives cancelled calls: a wait cut short gives its reservation back."""

from __future__ import annotations

import asyncio
import sys
import threading

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


def test_one_limiter_shared_by_clients_in_two_threads_loses_no_reservation() -> None:
    # Two blocking clients (each a loop thread of its own), or an AsyncWorkOS per thread, share
    # one limiter to keep a process under the key's limit.  The bucket was updated without a
    # lock: one thread's reservation overwrote the other's, and more went through than allowed.
    # The clock stands still, so the n-th reservation past the burst waits exactly n / rate.
    per_thread, burst = 50_000, 10
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    limiter = RateLimiter(requests_per_minute=6000, burst=burst, clock=lambda: 0.0, sleep=sleep)

    def reserve() -> None:
        async def each() -> None:
            for _ in range(per_thread):
                await limiter.wait("GET", ("organizations",))

        asyncio.run(each())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can: races show
    try:
        threads = [threading.Thread(target=reserve) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(delays) == 2 * per_thread - burst
    assert len(set(delays)) == len(delays)  # each its own place in the queue: none lost
