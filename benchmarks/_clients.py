"""The clients under test, behind one small interface.

Each async client does the same three things against the same emulator: walk every
organization (page size 100), get one organization, and create one.  What each returns is
that client's own idea of an organization: this SDK's frozen attrs models, the official
SDK's dataclasses, or plain dicts for the floor.  This SDK's blocking client (``WorkOS``)
only crawls, to compare with the async client; it is optional, as is the official SDK.
"""

from __future__ import annotations

import contextlib
import importlib.util
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Final

import aiohttp
import attrs
import orjson
from _shapes import SampleOrganization

import workos_orgs
from workos_orgs import AsyncWorkOS, DomainData

PAGE_SIZE: Final = 100

THIS_SDK: Final = "workos-orgs"
OFFICIAL: Final = "official workos"
FLOOR: Final = "floor (aiohttp+orjson)"
ALL_CLIENTS: Final = (THIS_SDK, OFFICIAL, FLOOR)
BLOCKING: Final = "workos-orgs blocking (WorkOS)"


def official_sdk_available() -> bool:
    """Whether the official ``workos`` package can be imported (it is installed only for ``nox -s bench``)."""
    return importlib.util.find_spec("workos") is not None


def blocking_client_available() -> bool:
    """Whether this SDK has its blocking client, ``workos_orgs.WorkOS``."""
    return hasattr(workos_orgs, "WorkOS")


@attrs.define
class BenchClient:
    """What a scenario needs from a client: crawl everything, get one, create one."""

    name: str
    crawl: Callable[[], Awaitable[int]]
    get: Callable[[str], Awaitable[Any]]
    create: Callable[[SampleOrganization], Awaitable[Any]]


@contextlib.asynccontextmanager
async def this_sdk(url: str, api_key: str) -> AsyncIterator[BenchClient]:
    """This SDK as a user would write it: ``async for`` over ``list()``; no rate limiter (the default)."""
    async with AsyncWorkOS(api_key=api_key, base_url=url) as client:
        organizations = client.organizations

        async def crawl() -> int:
            count = 0
            async for _ in organizations.list(limit=PAGE_SIZE):
                count += 1
            return count

        async def get(org_id: str) -> Any:
            return await organizations.get(org_id)

        async def create(item: SampleOrganization) -> Any:
            return await organizations.create(
                name=item.name,
                external_id=item.external_id,
                domain_data=[DomainData(domain, state) for domain, state in item.domains],
                metadata=item.metadata,
            )

        yield BenchClient(THIS_SDK, crawl, get, create)


@contextlib.asynccontextmanager
async def official(url: str, api_key: str) -> AsyncIterator[BenchClient]:
    """The official SDK's async client, as its docs use it: ``list_organizations`` and ``auto_paging_iter``."""
    from workos import AsyncWorkOSClient
    from workos.organizations.models import OrganizationDomainData

    async with AsyncWorkOSClient(api_key=api_key, base_url=url) as client:
        organizations = client.organizations

        async def crawl() -> int:
            count = 0
            first = await organizations.list_organizations(limit=PAGE_SIZE)
            async for _ in first.auto_paging_iter():
                count += 1
            return count

        async def get(org_id: str) -> Any:
            return await organizations.get_organization(org_id)

        async def create(item: SampleOrganization) -> Any:
            return await organizations.create_organization(
                name=item.name,
                external_id=item.external_id,
                domain_data=[OrganizationDomainData.from_dict({"domain": d, "state": s}) for d, s in item.domains],
                metadata=item.metadata,
            )

        yield BenchClient(OFFICIAL, crawl, get, create)


@contextlib.asynccontextmanager
async def floor(url: str, api_key: str, *, timeout: aiohttp.ClientTimeout | None = None) -> AsyncIterator[BenchClient]:
    """The least a client can do: one aiohttp session, orjson, plain dicts, no checks, no retries.

    It sends an ``Idempotency-Key`` on creates as both SDKs do, so the server does the same work.
    `timeout` is the session's (aiohttp's default, which sets a timer per request, when None).
    """
    headers = {"Authorization": f"Bearer {api_key}"}
    options = {} if timeout is None else {"timeout": timeout}
    async with aiohttp.ClientSession(url, headers=headers, **options) as session:

        async def crawl() -> int:
            count = 0
            params = {"limit": str(PAGE_SIZE)}
            while True:
                async with session.get("/organizations", params=params) as response:
                    response.raise_for_status()
                    page = orjson.loads(await response.read())
                count += len(page["data"])
                after = page["list_metadata"]["after"]
                if after is None or not page["data"]:
                    return count
                params = {"limit": str(PAGE_SIZE), "after": after}

        async def get(org_id: str) -> Any:
            async with session.get(f"/organizations/{org_id}") as response:
                response.raise_for_status()
                return orjson.loads(await response.read())

        async def create(item: SampleOrganization) -> Any:
            body = {
                "name": item.name,
                "external_id": item.external_id,
                "domain_data": [{"domain": domain, "state": state} for domain, state in item.domains],
                "metadata": item.metadata,
            }
            post_headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
            async with session.post("/organizations", data=orjson.dumps(body), headers=post_headers) as response:
                response.raise_for_status()
                return orjson.loads(await response.read())

        yield BenchClient(FLOOR, crawl, get, create)


FACTORIES: Final[dict[str, Callable[[str, str], contextlib.AbstractAsyncContextManager[BenchClient]]]] = {
    THIS_SDK: this_sdk,
    OFFICIAL: official,
    FLOOR: floor,
}


@contextlib.contextmanager
def blocking(url: str, api_key: str) -> Iterator[Callable[[], int]]:
    """This SDK's blocking client as a user would write it: ``for`` over ``list()``; its crawl."""
    with workos_orgs.WorkOS(api_key=api_key, base_url=url) as client:
        organizations = client.organizations

        def crawl() -> int:
            count = 0
            for _ in organizations.list(limit=PAGE_SIZE):
                count += 1
            return count

        yield crawl
