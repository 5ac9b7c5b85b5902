"""Listing: everything about walking a list endpoint, for any resource that has one.

A resource says *what* it lists -- a function that sends one page's query, the filters, and
how to build a `Page` -- and `paginate` does the rest: it checks the arguments, decides which
cursor to follow, and returns an `AsyncPager`, which is awaitable (the first page) and
async-iterable (every item).

Only the cursor changes from page to page; every filter is sent with each page.  A cursor
that comes back again, or a page that repeats an earlier one (the same first and last item),
ends the walk with `PaginationError` instead of looping.  What a walk remembers to tell that
is two IDs and a cursor per page.

While you work through one page, the next is already on its way: the pager reads the next
cursor from the end of the response's body, sends that request, and only then decodes the page
and builds its models, so the API's time and yours overlap.  Leaving an ``async for`` early cancels that request (it may
have reached the API: one extra GET); ``max_items`` never asks for a page it will not use.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterator, Sequence
from typing import Any, Final, Generic, Literal

import attrs
import orjson

from ._contract import LIST_LIMIT_MAX, LIST_LIMIT_MIN, Order, normalize_cursor
from ._errors import InvalidArgumentError, PaginationError, given
from ._event_loops import being_cancelled
from ._models import ListMetadata, Page, T, structure_list_metadata
from ._request import check_id
from ._response import APIResponse, Response, decode_json, structure_data

Direction = Literal["before", "after"]
Query = Sequence[tuple[str, str]]
FetchResponse = Callable[[Query], Awaitable[Response]]
"""Sends the GET of one page with this query; the resource's half of a listing."""


def list_query(
    *, limit: int | None, order: Order | str | None, before: str | None = None, after: str | None = None
) -> list[tuple[str, str]]:
    """The query of one page of any list, with the values the SDK owns checked first."""
    query: list[tuple[str, str]] = []
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not LIST_LIMIT_MIN <= limit <= LIST_LIMIT_MAX:
            raise InvalidArgumentError(
                f"limit is the page size and must be a whole number from {LIST_LIMIT_MIN} to {LIST_LIMIT_MAX};"
                f" got {given(limit)}. To stop after N items overall, pass max_items=N."
            )
        query.append(("limit", str(limit)))
    if order is not None:
        query.append(("order", check_order(order).value))
    if before is not None and after is not None:
        raise InvalidArgumentError("Pass either before= or after=, not both: they walk in opposite directions.")
    if before is not None:
        query.append(("before", check_id("before", before)))
    if after is not None:
        query.append(("after", check_id("after", after)))
    return query


def check_order(order: Order | str) -> Order:
    """An `Order` member from a member or its value."""
    try:
        return Order(order)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in Order)
        raise InvalidArgumentError(
            f"order must be one of {allowed} (or an Order member); got {given(order)}."
        ) from None


def check_max_items(max_items: int | None) -> int | None:
    """``max_items``: None (no limit) or a whole number, 1 or more."""
    if max_items is not None and (isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1):
        raise InvalidArgumentError(
            f"max_items must be a whole number, 1 or more, or None for all; got {given(max_items)}."
        )
    return max_items


def pagination_direction(order: Order | None, *, before: str | None, after: str | None) -> Direction:
    """Which cursor a listing keeps following.

    A caller who starts from a cursor keeps walking that way (``before=`` walks backwards).
    Otherwise it is ``after`` -- except under ``normal``, which lists newest first but where
    ``after`` means newer, so walking on through the list follows ``before``.
    """
    if before is not None:
        return "before"
    if after is not None:
        return "after"
    return "before" if order is Order.NORMAL else "after"


def walks_in_display_order(order: Order | None, direction: Direction) -> bool:
    """Whether following `direction` meets items in the order each page shows them.

    True for ``desc``/``asc`` followed by ``after`` and ``normal`` followed by ``before``; then
    a page cut short can point its cursor at the last item kept, and resuming from it misses
    nothing.
    """
    return (direction == "after") != (order is Order.NORMAL)


def peek_cursor(data: Any, direction: Direction) -> str | None:
    """The `direction` cursor of a decoded list body, or None; never raises.

    Read before the page's models are built, so the next page can be asked for first.
    """
    metadata = data.get("list_metadata") if isinstance(data, dict) else None
    cursor = metadata.get(direction) if isinstance(metadata, dict) else None
    return normalize_cursor(cursor) if isinstance(cursor, str) else None


MOST_TAIL_BYTES: Final = 4096
"""The longest ``list_metadata`` read to guess the next cursor: the API's is under 100 bytes."""


def peek_tail_cursor(body: bytes, direction: Direction) -> str | None:
    """The `direction` cursor read from the end of a list body, before the body is decoded; or None.

    The API sends ``list_metadata`` last, so only the bytes from its key on are decoded, and
    only when they are few (`MOST_TAIL_BYTES`): the body's own decode checks a large body for
    how many elements it holds first, and a hostile tail must not be decoded before that.  A
    guess: the walk checks it against the decoded body before it trusts it.
    """
    start = body.rfind(b'"list_metadata"')
    if start < 0 or len(body) - start > MOST_TAIL_BYTES:
        return None
    try:
        tail = orjson.loads(b"{" + body[start:])
    except orjson.JSONDecodeError:
        return None
    return peek_cursor(tail, direction)


def peek_size(data: Any) -> int:
    """How many items a decoded list body holds (0 when it is not a list body)."""
    items = data.get("data") if isinstance(data, dict) else None
    return len(items) if isinstance(items, list) else 0


def page_structure(hook: Callable[[Any, type[T]], T], item: type[T]) -> Callable[[Any], Page[T]]:
    """How to build a `Page` of `item` from a decoded list body, `hook` building each item."""

    def structure(data: Any) -> Page[T]:
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise TypeError("expected a list object with a data array")
        list_metadata = data.get("list_metadata")
        if list_metadata is None:
            list_metadata = {}
        elif not isinstance(list_metadata, dict):
            raise TypeError("expected list_metadata to be an object")
        items = tuple([hook(value, item) for value in data["data"]])
        return Page(items, structure_list_metadata(list_metadata, ListMetadata))

    return structure


@attrs.frozen
class RawPage(Generic[T]):
    """A page as it came, before its models are built: enough to ask for the next one."""

    response: Response
    data: Any
    structure: Callable[[Any], Page[T]]

    @classmethod
    def of(cls, response: Response, structure: Callable[[Any], Page[T]]) -> RawPage[T]:
        """`response`'s body decoded, its models left to `structure` until `page` is called."""
        return cls(response, decode_json(response), structure)

    def cursor(self, direction: Direction) -> str | None:
        """The cursor on the `direction` side, read before the page's models are built."""
        return peek_cursor(self.data, direction)

    def page(self, direction: Direction) -> Page[T]:
        """The page's models, for a walk that follows `direction` (so `Page.has_more` knows which cursor leads on)."""
        page: Page[T] = structure_data(self.response, self.data, self.structure)
        return page if page.direction == direction else attrs.evolve(page, direction=direction)


def cut(page: Page[T], count: int, direction: Direction, in_display_order: bool) -> Page[T]:
    """The `count` items of `page` nearest where the walk started, for ``max_items``.

    A walk that meets items in the order the page shows them keeps the first `count`; one
    that walks against it keeps the last.  Either way the cursor it follows moves to the
    farthest item kept, so passing it back resumes at the first item cut off.
    """
    if count >= len(page.data):
        return page
    if in_display_order:
        data = page.data[:count]
        farthest = data[-1]
    else:
        data = page.data[len(page.data) - count :]
        farthest = data[0]
    metadata = attrs.evolve(page.list_metadata, **{direction: farthest.id})
    return attrs.evolve(page, data=data, list_metadata=metadata)


@attrs.frozen
class _Walk(Generic[T]):
    """What a listing fixes once: how to fetch, which cursor to follow, from where, how far."""

    fetch: FetchResponse
    structure: Callable[[Any], Page[T]]
    query: tuple[tuple[str, str], ...]
    direction: Direction
    cursor: str | None
    max_items: int | None
    in_display_order: bool

    async def response(self, cursor: str | None) -> Response:
        """The response with the page that starts at `cursor` (the first page when None)."""
        return await self.fetch(self.query if cursor is None else (*self.query, (self.direction, cursor)))

    async def page(self, cursor: str | None) -> RawPage[T]:
        """The page that starts at `cursor` (the first page when None), as it came."""
        return RawPage.of(await self.response(cursor), self.structure)

    def cut(self, page: Page[T], count: int) -> Page[T]:
        return cut(page, count, self.direction, self.in_display_order)


@attrs.frozen
class Listing:
    """What every ``list()`` call takes, as the caller gave it (checked by `paginate`)."""

    limit: int | None
    order: Order | str | None
    before: str | None
    after: str | None
    max_items: int | None


def paginate(
    fetch: FetchResponse,
    structure: Callable[[Any], Page[T]],
    listing: Listing,
    *,
    filters: Query = (),
    raw_response: bool = False,
) -> AsyncPager[T]:
    """A pager over a list endpoint; every argument is checked here, so a bad one fails at the
    ``list()`` call, not at the first page.

    `fetch` sends one page's query; `structure` builds a `Page` from its decoded body;
    `filters` are the resource's own query values, sent with every page.
    """
    before, after = listing.before, listing.after
    query = list_query(limit=listing.limit, order=listing.order, before=before, after=after)
    order = None if listing.order is None else Order(listing.order)
    direction = pagination_direction(order, before=before, after=after)
    walk = _Walk(
        fetch,
        structure,
        (*(pair for pair in query if pair[0] not in ("before", "after")), *filters),
        direction,
        before if before is not None else after,
        check_max_items(listing.max_items),
        walks_in_display_order(order, direction),
    )
    return AsyncPager(walk, raw_response=raw_response)


class AsyncPager(Generic[T]):
    """The result of a ``list()`` call; nothing is sent until you use it.

    ``async for item in pager`` yields every item across pages (up to ``max_items``);
    ``await pager`` gives the first page (cut at ``max_items`` too); ``async for page in pager.pages()`` gives pages::

        async for organization in client.organizations.list(limit=100):
            print(organization.name)

        page = await client.organizations.list(limit=10)
        print(page.data, page.list_metadata.after)

    Each ``async for`` starts again from the first page.  The items come as a monotonic
    stream: a walk that starts from a cursor yields the items nearest it first, in all three
    orders -- so walking backwards (``before=`` under ``asc``, say) reads each page from its
    end, while ``pages()`` gives each page as the API sent it.  Tasks sharing one walk
    (``aiter(pager)``, or ``pager.pages()``) take turns: each item, or page, goes to one of
    them.  A call that fails, or whose task is cancelled, leaves the walk where it was: the
    next call asks for that page again.  ``aclose()``
    (``contextlib.aclosing(client.organizations.list())``) stops every walk the pager
    started, from any task, and cancels the pages they asked for.
    """

    def __init__(self, walk: _Walk[T], *, raw_response: bool = False) -> None:
        self._walk = walk
        # Set by ``with_raw_response.list``: awaiting then gives the first page's `APIResponse`.
        self._raw_response = raw_response
        self._walks: weakref.WeakSet[_Pages[T] | _Items[T]] = weakref.WeakSet()  # for `aclose`

    @property
    def direction(self) -> Direction:
        """The cursor this pager follows: ``"after"``, or ``"before"`` for a backwards walk."""
        return self._walk.direction

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._first_page().__await__()

    async def _first_page(self) -> Page[T]:
        walk = self._walk
        raw = await walk.page(walk.cursor)
        if self._raw_response:
            result: Any = APIResponse(raw.response, lambda _: self._cut_first(raw.page(walk.direction)))
            return result  # type: ignore[no-any-return]
        return self._cut_first(raw.page(walk.direction))

    def _cut_first(self, page: Page[T]) -> Page[T]:
        walk = self._walk
        return page if walk.max_items is None else walk.cut(page, walk.max_items)

    def pages(self) -> _Pages[T]:
        """Every page in turn; the last one is cut short at ``max_items``."""
        pages = _Pages(self._walk)
        self._walks.add(pages)
        return pages

    async def aclose(self) -> None:
        """Stop every walk this pager started, and cancel the pages they asked for ahead."""
        for walk in list(self._walks):
            await walk.aclose()

    def __aiter__(self) -> _Items[T]:
        items = _Items(_Pages(self._walk), self.in_walk_order)
        self._walks.add(items)  # its `aclose` lets go of its page in hand and closes its pages
        return items

    def in_walk_order(self, page: Page[T]) -> tuple[T, ...]:
        """`page`'s items in the order this walk yields them: nearest the starting cursor first.

        A walk against the order the API shows its pages in (``before=`` under ``desc`` or
        ``asc``, ``after=`` under ``normal``) reads each page from its end.
        """
        return page.data if self._walk.in_display_order else page.data[::-1]

    def __repr__(self) -> str:
        walk = self._walk
        return f"<AsyncPager direction={walk.direction!r} cursor={walk.cursor!r} max_items={walk.max_items!r}>"


class _Pages(Generic[T]):
    def __init__(self, walk: _Walk[T]) -> None:
        self._walk = walk
        self._direction: Direction = walk.direction
        self._cursor = walk.cursor  # where the next page starts; moves as the walk goes
        self._remaining = walk.max_items
        self._seen_cursors: set[str] = set() if walk.cursor is None else {walk.cursor}
        # Each page's first and last IDs: two pages of one listing never share both.
        self._seen_pages: set[tuple[str, str]] = set()
        self._done = False
        self._stuck: PaginationError | None = None
        # The page asked for and not yet read: the next one, asked for ahead, or the one a call
        # waits for (a task of its own, so that `aclose` can cancel it from any task).
        self._ahead: asyncio.Future[Response] | None = None
        self._turn = asyncio.Lock()  # tasks sharing the walk: one moves it on at a time

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        async with self._turn:
            return await self._next()

    async def _next(self) -> Page[T]:
        if self._stuck is not None:
            raise self._stuck
        if self._done:
            raise StopAsyncIteration
        cursor = self._cursor
        if self._ahead is None:
            self._ahead = asyncio.ensure_future(self._walk.response(cursor))
        try:
            response = await self._ahead
            self._ahead = None
            if self._done:  # closed (`aclose`) while the page was on its way
                raise StopAsyncIteration
            # Without max_items the next page is wanted whatever this one holds: it is asked
            # for at once, with the cursor at the end of the body (unless the body was cut off),
            # and one turn of the loop puts that request on the wire before this page is
            # decoded and its models built.
            guessing = self._remaining is None and response.complete
            guess = peek_tail_cursor(response.body, self._direction) if guessing else None
            if self._fetch_ahead(guess):
                await asyncio.sleep(0)
            raw = RawPage.of(response, self._walk.structure)
            next_cursor = raw.cursor(self._direction)
            if next_cursor != guess:
                self._cancel_ahead()  # a wrong guess, if any: its page is not read
                wanted = self._remaining is None or self._remaining > peek_size(raw.data)
                if wanted and self._fetch_ahead(next_cursor):
                    await asyncio.sleep(0)
            page = raw.page(self._direction)
        except StopAsyncIteration:
            raise
        except asyncio.CancelledError:
            self._cancel_ahead()
            if self._done and not being_cancelled():
                # `aclose` cancelled the page this call waited for; nobody cancelled the task.
                raise StopAsyncIteration from None
            # This task was cancelled: the walk stays where it was (its cursor moves only with
            # a page returned), for the next call -- another task's, sharing it -- to go on from.
            raise
        except Exception:
            # The same: the next call asks for this page again, and meets the error again
            # unless it has passed.  Marked done instead, the walk ended quietly for every
            # other task sharing it, as if the listing were complete.
            self._cancel_ahead()
            raise
        except BaseException:
            self._finish()
            raise
        data = page.data
        if data:
            ends = (data[0].id, data[-1].id)
            if ends in self._seen_pages:
                self._finish()
                raise PaginationError(
                    f"The API sent the same page twice (following {self._direction}={cursor!r}); stopping rather"
                    " than looping. The items already yielded are complete up to this point."
                )
            self._seen_pages.add(ends)
        next_cursor = getattr(page.list_metadata, self._direction)
        if not data or next_cursor is None:
            self._finish()
        elif next_cursor in self._seen_cursors:
            self._cancel_ahead()
            self._stuck = PaginationError(
                f"The API's {self._direction} cursor did not advance ({next_cursor!r} came back);"
                " stopping rather than looping."
            )
        else:
            self._seen_cursors.add(next_cursor)
            self._cursor = next_cursor
        if self._remaining is not None:
            if len(data) >= self._remaining:
                page = self._walk.cut(page, self._remaining)
                self._finish()
                self._stuck = None
            self._remaining -= len(page.data)
        return page

    def _fetch_ahead(self, cursor: str | None) -> bool:
        """Ask for the page at `cursor` now, unless there is none, the walk has been there, or
        it is over."""
        if cursor is None or cursor in self._seen_cursors or self._done:
            return False
        self._ahead = asyncio.ensure_future(self._walk.response(cursor))
        return True

    def _finish(self) -> None:
        self._done = True
        self._cancel_ahead()

    def _cancel_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        if ahead.done():
            if not ahead.cancelled():
                ahead.exception()  # retrieved: a page nobody will ask for failed, and that is fine
        else:
            ahead.cancel()

    async def aclose(self) -> None:
        """Stop the walk and cancel the page already asked for (``contextlib.aclosing``)."""
        ahead = self._ahead
        self._finish()
        if ahead is not None:
            # Wait for the cancellation to land; the caller's own cancellation still gets through.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()

    def __del__(self) -> None:
        # Left mid-walk without aclose(): cancel the request for a page nobody will read.
        # With the event loop already closed there is nothing left to cancel.
        with contextlib.suppress(RuntimeError):
            self._cancel_ahead()


_NO_ITEM: Any = object()


class _Items(Generic[T]):
    def __init__(self, pages: _Pages[T], in_walk_order: Callable[[Page[T]], tuple[T, ...]]) -> None:
        self._pages = pages
        self._in_walk_order = in_walk_order
        self._items: Iterator[T] = iter(())
        self._turn = asyncio.Lock()  # tasks sharing the walk: one takes the next page at a time

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        # Once per item: one call of the page's iterator, rather than indexing and counting.
        item: T = next(self._items, _NO_ITEM)
        if item is _NO_ITEM:
            async with self._turn:
                item = next(self._items, _NO_ITEM)  # another task may have taken the next page meanwhile
                while item is _NO_ITEM:
                    self._items = iter(self._in_walk_order(await anext(self._pages)))
                    item = next(self._items, _NO_ITEM)
        return item

    async def aclose(self) -> None:
        """Stop the walk, let go of the page in hand and cancel the page already asked for."""
        self._items = iter(())
        await self._pages.aclose()
