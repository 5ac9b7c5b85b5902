"""Checks of the client's options: the API key, the base URL, timeouts, retries and pacing.

Pure functions that raise `ConfigurationError` with what was wrong and how to fix it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from yarl import URL

from ._errors import ConfigurationError, given, is_finite_number
from ._redaction import LOOKS_LIKE_A_KEY, MIN_SECRET_LENGTH, REDACTED
from ._retry import Backoff
from ._throttle import RateLimiter

LOOPBACK_HOSTS: Final = frozenset({"localhost"})

_USERINFO: Final = re.compile(r"//.*@", re.DOTALL)
"""The user name and password part of a URL's authority, with the ``//`` before it: up to the
last ``@``, as a password may hold ``@`` or ``#`` (hiding more than that, in a message, is fine)."""


def shown(text: str, api_key: str | None) -> str:
    """`text` as a message may quote it: without a user name or password it may hold, the
    client's key, or anything that looks like a key (the settings swapped, say)."""
    text = _USERINFO.sub("//", text)
    if api_key and len(api_key) >= MIN_SECRET_LENGTH:
        text = text.replace(api_key, REDACTED)
    return LOOKS_LIKE_A_KEY.sub(REDACTED, text)


def _holds_key(text: str, api_key: str | None) -> bool:
    own = api_key is not None and len(api_key) >= MIN_SECRET_LENGTH and api_key in text
    return own or LOOKS_LIKE_A_KEY.search(text) is not None


def check_base_url(base_url: str | URL, *, allow_insecure_http: bool, api_key: str | None = None) -> URL:
    """The base URL, checked: HTTPS, or plain HTTP only to a loopback host (or when allowed).

    The API key travels in every request, so sending it in clear text over a network is
    refused unless the caller says ``allow_insecure_http=True``.  A message never quotes
    `api_key`, nor anything that looks like a key.
    """
    if not isinstance(allow_insecure_http, bool):
        # A string from a config file or the environment is truthy, "false" included.
        raise ConfigurationError(
            f"allow_insecure_http must be True or False; got {type(allow_insecure_http).__name__}"
            f" {allow_insecure_http!r}."
        )
    if not isinstance(base_url, str | URL):
        raise ConfigurationError(
            f"base_url must be a string such as 'https://api.workos.com'; got {type(base_url).__name__}."
        )
    quoted = repr(shown(str(base_url), api_key))
    try:
        url = URL(base_url) if isinstance(base_url, str) else base_url
        valid = url.is_absolute() and url.scheme in ("http", "https") and bool(url.host)
    except (TypeError, ValueError) as error:  # yarl: "Invalid IPv6 URL", a bad port, ...
        raise ConfigurationError(
            f"base_url is not a valid URL ({shown(str(error), api_key)}); it must be an absolute http(s) URL such as"
            f" 'https://api.workos.com'; got {quoted}."
        ) from None
    if _holds_key(str(base_url), api_key) or _holds_key(url.path, api_key):
        raise ConfigurationError(
            "base_url must not hold an API key: the key goes in each request's Authorization header,"
            f" never in its URL (pass it as api_key=); got {quoted}."
        )
    if url.user is not None or url.password is not None:
        raise ConfigurationError(
            f"base_url must not hold a user name or password (the API key is the only credential sent); got {quoted}."
        )
    if not valid or url.host is None:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as 'https://api.workos.com'; got {quoted}."
        )
    if url.query_string or url.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment; got {quoted}.")
    try:
        (url.raw_host or "").encode("idna")  # what the name lookup will do with it
    except UnicodeError:
        raise ConfigurationError(
            "base_url's host name cannot be looked up: each part between dots must hold 1 to 63 characters;"
            f" got {quoted}."
        ) from None
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"Refusing to send the API key over plain HTTP to {shown(url.host, api_key)}: use https://, a loopback"
            " address (127.0.0.1, ::1, localhost), or pass allow_insecure_http=True if you really mean it."
        )
    return url


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_timeout(timeout: float | None, name: str = "timeout") -> float | None:
    """A timeout in seconds (the option `name`): positive and finite, or None for no limit."""
    if timeout is not None and (not is_finite_number(timeout) or timeout <= 0):
        raise ConfigurationError(f"{name} must be a positive number of seconds or None; got {given(timeout)}.")
    return None if timeout is None else float(timeout)


def check_max_retries(max_retries: int) -> int:
    """A retry count: a whole number, 0 or more."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be a whole number, 0 or more; got {given(max_retries)}.")
    return max_retries


def check_backoff(backoff: Backoff) -> Backoff:
    """A `Backoff`."""
    if not isinstance(backoff, Backoff):
        raise ConfigurationError(f"backoff must be a Backoff(base=..., cap=...); got {given(backoff)}.")
    return backoff


def check_limiter(rate_limiter: RateLimiter | None) -> RateLimiter | None:
    """A `RateLimiter` or None."""
    if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
        raise ConfigurationError(f"rate_limiter must be a RateLimiter or None; got {type(rate_limiter).__name__}.")
    return rate_limiter


def check_api_key(api_key: str) -> str:
    """The API key without surrounding whitespace; `ConfigurationError` when what is left is
    not printable ASCII, as every WorkOS key is: a key pasted with a newline, say, or mangled
    on its way (a typographic character, undecodable bytes in the environment), which the API
    could only refuse with a 401 that says nothing of why.

    The message never repeats the key.
    """
    key = api_key.strip()
    if not (key.isascii() and key.isprintable()) or " " in key:
        raise ConfigurationError(
            "The WorkOS API key looks malformed: it contains whitespace, control or non-ASCII characters"
            f" ({len(key)} characters after trimming). Copy it again from the WorkOS dashboard."
        )
    return key
