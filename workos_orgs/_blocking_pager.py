"""`Pager`: the blocking face of `AsyncPager` -- ``for`` over every item, or one page at a time.

The async pager does the walk on the loop thread (cursors, the next page asked for ahead,
``max_items``, the loop guard), as one task; the caller's thread receives whole pages (a few at
a time when they come quickly) and iterates their items itself, so a long walk costs at most
one hand-over per page, not one per item.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic

from ._loop_thread import LoopThread
from ._models import Page, T
from ._pagination import AsyncPager, Direction


async def _first_page(pager: AsyncPager[T]) -> Page[T]:
    return await pager


class Pager(Generic[T]):
    """The result of a blocking ``list()`` call; nothing is sent until you use it.

    ``for item in pager`` yields every item across pages (up to ``max_items``);
    ``pager.first_page()`` gives the first page; ``for page in pager.pages()`` gives pages::

        for organization in client.organizations.list(limit=100):
            print(organization.name)

        page = client.organizations.list(limit=10).first_page()
        print(page.data, page.list_metadata.after)

    Each ``for`` starts again from the first page.  Leaving a ``for`` early (``break``, an
    error) cancels the page already asked for and lets go of everything the walk held.
    """

    def __init__(
        self,
        loop_thread: LoopThread[Any],
        listing: Callable[[Any], AsyncPager[T]],
        *,
        client: Callable[[], object],
        owner: object,
    ) -> None:
        self._loop_thread = loop_thread
        self._listing = listing  # the async listing, made on a given async client (or view)
        self._client = client  # the async client (or view) calls go to now, in this process
        self._owner = owner  # what keeps the loop thread running: kept alive while the pager is in use
        self._made_on = client()
        self._pager = listing(self._made_on)  # made now: a bad argument is raised here, nothing sent

    def _walk(self) -> AsyncPager[T]:
        """The listing on the async client calls go to now: in a process forked since this
        pager was made, that is the child's own, and the listing is made anew on it."""
        client = self._client()
        return self._pager if client is self._made_on else self._listing(client)

    @property
    def direction(self) -> Direction:
        """The cursor this pager follows: ``"after"``, or ``"before"`` for a backwards walk."""
        return self._pager.direction

    def first_page(self) -> Page[T]:
        """The first page (cut at ``max_items``), as one request."""
        pager = self._walk()
        return self._loop_thread.call(lambda _: _first_page(pager))

    def pages(self) -> Generator[Page[T], None, None]:
        """Every page in turn; the last one is cut short at ``max_items``.

        Closing the generator (leaving its ``for`` early) stops the walk and cancels the
        page already asked for.
        """
        pager = self._walk()
        yield from self._loop_thread.stream(lambda _: pager.pages())

    def __iter__(self) -> Iterator[T]:
        pages = self.pages()
        in_walk_order = self._pager.in_walk_order
        try:
            for page in pages:
                items = iter(in_walk_order(page))
                # Nothing here keeps a page once its items are yielded: the loop thread frees it
                # once the caller has moved past its batch, before the next batch comes.
                del page
                yield from items
        finally:
            pages.close()

    def __repr__(self) -> str:
        return f"<Pager of {self._pager!r}>"
