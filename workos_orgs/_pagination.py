"""Auto-pagination: a pager that is awaitable (first page) and async-iterable (every item).

Only the cursor changes from page to page; every filter is the pager's own and is sent with
each page.  A cursor that comes back again, or a page of items already seen, ends the walk
with `PaginationError` instead of looping.  No connection is held between pages, so leaving
an ``async for`` early leaks nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic

import attrs

from ._errors import InvalidArgumentError, PaginationError
from ._models import Page, T
from ._protocol import Direction

FetchPage = Callable[[Direction, str | None], Awaitable[Page[T]]]


def check_max_items(max_items: int | None) -> int | None:
    """``max_items``: None (no limit) or a whole number, 1 or more."""
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1):
        raise InvalidArgumentError(f"max_items must be a whole number, 1 or more, or None for all; got {max_items!r}.")
    return max_items


class AsyncPager(Generic[T]):
    """The result of a ``list()`` call; nothing is sent until you use it.

    ``async for item in pager`` yields every item across pages (up to ``max_items``);
    ``await pager`` gives the first page; ``async for page in pager.pages()`` gives pages::

        async for organization in client.organizations.list(limit=100):
            print(organization.name)

        page = await client.organizations.list(limit=10)
        print(page.data, page.list_metadata.after)

    Each ``async for`` starts again from the first page.
    """

    def __init__(self, fetch: FetchPage[T], *, direction: Direction, cursor: str | None, max_items: int | None) -> None:
        self._fetch = fetch
        self._direction: Direction = direction
        self._cursor = cursor
        self._max_items = check_max_items(max_items)

    @property
    def direction(self) -> Direction:
        """The cursor this pager follows: ``"after"``, or ``"before"`` for a backwards walk."""
        return self._direction

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(self._direction, self._cursor).__await__()

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page in turn; the last one is cut short at ``max_items``."""
        return _Pages(self._fetch, self._direction, self._cursor, self._max_items)

    def __aiter__(self) -> AsyncIterator[T]:
        return _Items(self.pages())

    def __repr__(self) -> str:
        return f"<AsyncPager direction={self._direction!r} cursor={self._cursor!r} max_items={self._max_items!r}>"


class _Pages(Generic[T]):
    def __init__(self, fetch: FetchPage[T], direction: Direction, cursor: str | None, max_items: int | None) -> None:
        self._fetch = fetch
        self._direction: Direction = direction
        self._cursor = cursor
        self._remaining = max_items
        self._seen_cursors: set[str] = set() if cursor is None else {cursor}
        self._seen_ids: set[str] = set()
        self._done = False
        self._stuck: PaginationError | None = None

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._stuck is not None:
            raise self._stuck
        if self._done:
            raise StopAsyncIteration
        cursor = self._cursor
        page = await self._fetch(self._direction, cursor)
        ids = [item.id for item in page.data]
        if ids and self._seen_ids.issuperset(ids):
            self._done = True
            raise PaginationError(
                f"The API sent the same page twice (following {self._direction}={cursor!r}); stopping rather"
                " than looping. The items already yielded are complete up to this point."
            )
        self._seen_ids.update(ids)
        next_cursor = getattr(page.list_metadata, self._direction)
        if not ids or next_cursor is None:
            self._done = True
        elif next_cursor in self._seen_cursors:
            self._stuck = PaginationError(
                f"The API's {self._direction} cursor did not advance ({next_cursor!r} came back);"
                " stopping rather than looping."
            )
        else:
            self._seen_cursors.add(next_cursor)
            self._cursor = next_cursor
        if self._remaining is not None:
            if len(ids) >= self._remaining:
                page = attrs.evolve(page, data=page.data[: self._remaining])
                self._done = True
                self._stuck = None
            self._remaining -= len(page.data)
        return page


class _Items(Generic[T]):
    def __init__(self, pages: AsyncIterator[Page[T]]) -> None:
        self._pages = pages
        self._buffer: tuple[T, ...] = ()
        self._index = 0

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._buffer):
            self._buffer = (await anext(self._pages)).data
            self._index = 0
        item = self._buffer[self._index]
        self._index += 1
        return item
