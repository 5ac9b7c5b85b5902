"""Keeping the API key out of everything the SDK shows: what a key looks like, and the key
cut out of bytes, text and headers in every form a server or a mistake may put it in.

Pure functions; `_response` cuts the key out of what the transport read, `_request` keeps it
out of a request's repr, `_config` and `_arguments` out of their messages.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from itertools import chain
from typing import Final
from urllib.parse import unquote_to_bytes

from multidict import CIMultiDict, CIMultiDictProxy

REDACTED: Final = "[redacted]"
"""What stands in a message, a log line or a repr where the key was."""

MIN_SECRET_LENGTH: Final = 8
"""A key shorter than this cannot be a WorkOS key (those run to dozens of characters), and
cutting it out of every word it is part of would garble messages: it is left as it is."""


LOOKS_LIKE_A_KEY: Final = re.compile(rf"(?<![A-Za-z0-9])sk_[A-Za-z0-9_-]{{{MIN_SECRET_LENGTH},}}")
"""What a WorkOS secret key looks like (``sk_test_...``, ``sk_live_...``), wherever it is found
in text that is not the client's own key (a key given where a URL or a number was due): not
inside a word (``disk_usage``), though right after an underscore (``my_sk_test_...``)."""

_REDACTED_BYTES: Final = REDACTED.encode()
_URL_SAFE: Final = bytes.maketrans(b"+/", b"-_")


class Secret:
    """The API key, with the forms a server may echo it in worked out once, for a client's life.

    Besides the key itself: its hex (either case), and its base64, standard and URL-safe,
    wherever it sits in longer encoded text (``Bearer <key>`` encoded whole, say) -- for each
    of the three places it can start in a 3-byte group, the groups that hold only its own
    bytes, so at most two of its characters at each end are left beside the cut.  Escaped
    piecemeal, JSON's way (``\\u0073``) or a URL's (``%73``), it is found by `redact`'s
    pattern.  Its repr shows none of it.
    """

    __slots__ = ("_pattern", "_pieces", "encoded", "raw", "text", "texts")

    def __init__(self, key: str) -> None:
        self.text = key
        self.raw = raw = key.encode()
        self._pattern: bytes | None = None
        self._pieces: frozenset[str] | None = None
        encoded: set[bytes] = set()
        if len(key) >= MIN_SECRET_LENGTH:
            encoded.update((raw.hex().encode(), raw.hex().upper().encode()))
            for start in range(3):
                core = base64.b64encode(raw[start : start + (len(raw) - start) // 3 * 3])
                encoded.update((core, core.translate(_URL_SAFE)))
        self.encoded = tuple(encoded)
        """Hex and base64 forms."""
        self.texts = (key, *(form.decode() for form in encoded)) if encoded else ()
        """The key and its hex and base64 forms, as text (none for a key too short to look for)."""

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def pattern(self) -> bytes:
        """The key as it may appear escaped piecemeal (see `_secret_pattern`)."""
        if self._pattern is None:
            self._pattern = _secret_pattern(self.text)
        return self._pattern

    def pieces(self) -> frozenset[str]:
        """Every run of `MIN_SECRET_LENGTH` characters of `texts` (see `redact_cut_text`)."""
        if self._pieces is None:
            self._pieces = frozenset(
                form[start : start + MIN_SECRET_LENGTH]
                for form in self.texts
                for start in range(len(form) - MIN_SECRET_LENGTH + 1)
            )
        return self._pieces


def _secret_pattern(secret: str) -> bytes:
    """A pattern for `secret` escaped piecemeal: each character as itself, as a JSON
    ``\\uXXXX`` escape, or percent-encoded (hex in either case), and ``/`` also as ``\\/``."""
    parts = []
    for char in secret:
        forms = [re.escape(char.encode())]
        if ord(char) <= 0xFFFF:
            forms.append(rb"\\u" + _either_case(f"{ord(char):04x}"))
        forms.append(b"".join(b"%" + _either_case(f"{byte:02x}") for byte in char.encode()))
        if char == "/":
            forms.append(rb"\\/")
        parts.append(b"(?:" + b"|".join(forms) + b")")
    return b"".join(parts)


def _either_case(hex_digits: str) -> bytes:
    return "".join(f"[{digit}{digit.upper()}]" if digit.isalpha() else digit for digit in hex_digits).encode()


_PERCENT_SIGNS_DECODED: Final = 4096
"""Up to this many ``%`` in a body, it is decoded to tell whether it hides the key before the
(slower) pattern is run; a body with more is searched with the pattern at once."""


def _may_hide_percent_encoded(body: bytes, raw: bytes) -> bool:
    """Whether `body`, which has a ``%`` in it, may hold the key percent-encoded."""
    return body.count(b"%") > _PERCENT_SIGNS_DECODED or raw in unquote_to_bytes(body)


def redact(body: bytes, secret: Secret, *, cut_off: bool = False, encoded: bool = True) -> bytes:
    """`body` with every copy of `secret` (the API key) replaced: as it is, JSON-escaped, and
    (unless `encoded` is False) percent-encoded and in the hex and base64 forms `Secret` knows.

    A body that was `cut_off` mid-way also loses a trailing partial copy of the key.  A key
    shorter than `MIN_SECRET_LENGTH` is not looked for.
    """
    if not secret.texts:  # too short to look for
        return body
    raw = secret.raw
    # rfind, not ``in``: CPython's backward search skips further on JSON text, 2-3x faster
    # (8 µs rather than 21 on a 60 KB page with a 15-character key).
    if body.rfind(raw) >= 0:
        body = body.replace(raw, _REDACTED_BYTES)
    if encoded:
        for form in secret.encoded:
            if body.rfind(form) >= 0:
                body = body.replace(form, _REDACTED_BYTES)
    # Escaped piecemeal, the key has a backslash or a % in it, and most bodies have neither:
    # one byte is found with memchr, at a tenth of what the key's own search costs.
    if (b"\\" in body and (rb"\u" in body or (b"/" in raw and rb"\/" in body))) or (
        encoded and b"%" in body and _may_hide_percent_encoded(body, raw)
    ):
        body = re.sub(secret.pattern(), _REDACTED_BYTES, body)
    if cut_off:
        for length in range(min(len(raw) - 1, len(body)), 0, -1):
            if body.endswith(raw[:length]):
                return body[:-length]
    return body


def redact_text(text: str, secret: Secret) -> str:
    """`text` with every copy of `secret` replaced, as `redact` does (a key shorter than
    `MIN_SECRET_LENGTH` is left)."""
    if not secret.texts:  # too short to look for
        return text
    encoded = text.encode(errors="surrogatepass")
    redacted = redact(encoded, secret)
    return text if redacted == encoded else redacted.decode(errors="surrogatepass")


def redact_cut_text(text: str, secret: Secret) -> str:
    """`text` as `redact_text` leaves it, with every run of `MIN_SECRET_LENGTH` or more
    characters of the key, or of its hex or base64 forms, cut out too.

    For text a dependency cut short before the SDK saw it, where a copy of the key may end
    mid-way: aiohttp quotes only the first 100 bytes of a response's line too long to read.
    Text the SDK has whole is searched for whole copies only (`redact`), so that a few
    characters that happen to match are left as they are.
    """
    text = redact_text(text, secret)
    pieces = secret.pieces()
    spans: list[list[int]] = []
    for start in range(len(text) - MIN_SECRET_LENGTH + 1):
        if text[start : start + MIN_SECRET_LENGTH] in pieces:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + MIN_SECRET_LENGTH
            else:
                spans.append([start, start + MIN_SECRET_LENGTH])
    if not spans:
        return text
    parts: list[str] = []
    kept_from = 0
    for start, end in spans:
        parts += (text[kept_from:start], REDACTED)
        kept_from = end
    return "".join((*parts, text[kept_from:]))


def redact_headers(headers: Mapping[str, str], secret: Secret) -> Mapping[str, str]:
    """`headers` with `secret` replaced in every name and value (an echoed ``Authorization``),
    and bytes that are not UTF-8 replaced by U+FFFD: aiohttp keeps them as lone surrogates,
    which a message, a log line or JSON holding them cannot be encoded with."""
    # One look at them all: most responses hold none of the key's forms, no ``%`` or backslash
    # that could hide it escaped (then `redact_text` looks closer), and only ASCII.
    joined = "\n".join(chain.from_iterable(headers.items()))
    if joined.isascii() or _UNDECODED.search(joined) is None:
        if not secret.texts:  # too short to look for
            return headers
        for form in secret.texts:
            if form in joined:
                break
        else:
            if ("%" not in joined and "\\" not in joined) or redact_text(joined, secret) == joined:
                return headers
    return CIMultiDictProxy(
        CIMultiDict(
            (_readable(redact_text(name, secret)), _readable(redact_text(value, secret)))
            for name, value in headers.items()
        )
    )


_UNDECODED: Final = re.compile("[\udc80-\udcff]")
"""What a byte that is not UTF-8 becomes in text decoded with ``surrogateescape``."""


def _readable(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
