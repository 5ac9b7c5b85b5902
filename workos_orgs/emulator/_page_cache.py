"""List responses already built, kept until the stored data changes.

Test suites, and clients that crawl again, ask for the same pages again and again between
writes; building a 100-organization page (a SQLite read of 100 rendered organizations,
joined: about 100 us) costs more than aiohttp's whole handling of the request.  Each body is
kept with the version of the data it was built from (`Store.version`), and the first lookup
at any other version forgets them all, so a page is served from here only while nothing it
was built from can have changed.  Pages are keyed by the query as the API reads it (a
`ListQuery`), so parameters it ignores neither make new entries nor weigh on the bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Final

# The most bytes of response bodies kept: a crawl of 10,000 organizations of the usual
# size (about 60 KB a page) fits; beyond it the least recently used pages go first.
MAX_BYTES: Final = 8 * 1024 * 1024
# What an entry costs besides its body and its key's text (the key's objects, the dict's
# slot): bounds the count of tiny pages (an empty listing) distinct queries could pile up.
_ENTRY_OVERHEAD: Final = 200


class PageCache:
    """Response bodies of list requests by query, all from one version of the data.

    Not locked: the API holds its lock around every request, and this is used only there.
    """

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0
        self._version: Hashable = None

    def get(self, query: Hashable, version: Hashable) -> bytes | None:
        """The body built for `query` at `version`, if one is kept; `version` None never matches."""
        if version is None or not self._at(version):
            return None
        body = self._pages.get(query)
        if body is not None:
            self._pages.move_to_end(query)
        return body

    def put(self, query: Hashable, version: Hashable, body: bytes) -> None:
        """Keep `body` for `query` at `version` (None: the data is mid-write, keep nothing)."""
        if version is None:
            return
        self._at(version)
        size = _size(query, body)
        if size > self._max_bytes:
            return
        previous = self._pages.pop(query, None)
        if previous is not None:
            self._bytes -= _size(query, previous)
        self._pages[query] = body
        self._bytes += size
        while self._bytes > self._max_bytes:
            oldest, oldest_body = self._pages.popitem(last=False)
            self._bytes -= _size(oldest, oldest_body)

    def _at(self, version: Hashable) -> bool:
        """Whether the kept pages are of `version`; if not, they are forgotten and it becomes the version."""
        if version == self._version:
            return True
        self.clear()
        self._version = version
        return False

    def clear(self) -> None:
        """Forget every page."""
        self._pages.clear()
        self._bytes = 0
        self._version = None

    def __len__(self) -> int:
        return len(self._pages)

    @property
    def bytes(self) -> int:
        """About how much memory the kept pages hold."""
        return self._bytes


def _size(query: Hashable, body: bytes) -> int:
    return _ENTRY_OVERHEAD + len(body) + len(repr(query))
