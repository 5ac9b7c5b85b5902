"""The emulator's kept list pages: one version of the data at a time, bounded in bytes."""

from __future__ import annotations

from workos_orgs.emulator._page_cache import PageCache

FIRST = (("limit", "100"),)
SECOND = (("limit", "10"),)


def test_a_page_is_served_only_at_the_version_it_was_built_at() -> None:
    cache = PageCache()
    cache.put(FIRST, (1, 1), b"page one")
    assert cache.get(FIRST, (1, 1)) == b"page one"
    assert cache.get(SECOND, (1, 1)) is None
    assert cache.get(FIRST, (2, 1)) is None
    assert cache.get(FIRST, (1, 1)) is None  # a newer version was seen: everything older is gone
    assert cache.bytes == 0


def test_nothing_is_kept_or_served_mid_write() -> None:
    cache = PageCache()
    cache.put(FIRST, None, b"uncommitted")
    assert cache.get(FIRST, None) is None
    cache.put(FIRST, (1, 1), b"committed")
    assert cache.get(FIRST, None) is None
    assert cache.get(FIRST, (1, 1)) == b"committed"


def test_distinct_queries_never_hold_more_than_the_bound() -> None:
    cache = PageCache(max_bytes=10_000)
    for number in range(1_000):
        cache.put((("search", f"name {number}"),), (1, 1), b"x" * 500)
        assert cache.bytes <= 10_000
    assert cache.get((("search", "name 999"),), (1, 1)) == b"x" * 500  # the newest are kept
    assert cache.get((("search", "name 0"),), (1, 1)) is None
    cache.put(FIRST, (1, 1), b"x" * 20_000)  # larger than the bound alone: not kept
    assert cache.get(FIRST, (1, 1)) is None
    assert cache.bytes <= 10_000


def test_the_page_used_last_is_kept_longest() -> None:
    cache = PageCache(max_bytes=2_000)
    cache.put(FIRST, (1, 1), b"a" * 700)
    cache.put(SECOND, (1, 1), b"b" * 700)
    assert cache.get(FIRST, (1, 1)) == b"a" * 700
    cache.put((("order", "asc"),), (1, 1), b"c" * 700)  # one must go: the one least recently used
    assert cache.get(SECOND, (1, 1)) is None
    assert cache.get(FIRST, (1, 1)) == b"a" * 700


def test_a_query_built_again_replaces_its_page() -> None:
    cache = PageCache()
    cache.put(FIRST, (1, 1), b"old")
    before = cache.bytes
    cache.put(FIRST, (1, 1), b"new")
    assert cache.get(FIRST, (1, 1)) == b"new"
    assert cache.bytes == before
