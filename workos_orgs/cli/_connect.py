"""What every command shares: the global options, the client they describe, usage errors, logging."""

from __future__ import annotations

import argparse
import inspect
import logging
import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

from .._client import API_KEY_ENV_VAR, BASE_URL_ENV_VAR, AsyncWorkOS
from .._config import check_base_url, is_loopback, shown
from .._contract import DEFAULT_BASE_URL
from .._errors import ConfigurationError
from .._log import logger
from .._retry import RETRYABLE_STATUSES

ALLOW_INSECURE_HTTP_ENV_VAR: Final = "WORKOS_ALLOW_INSECURE_HTTP"
# The client's own defaults, as its signature states them, for the help text.
_CLIENT_DEFAULTS: Final = {
    name: parameter.default for name, parameter in inspect.signature(AsyncWorkOS).parameters.items()
}

_N = TypeVar("_N", int, float)


class UsageError(Exception):
    """A command line that cannot be carried out as written."""


def _number(convert: Callable[[str], _N], accept: Callable[[_N], bool], what: str) -> Callable[[str], _N]:
    """An argparse type: `text` converted, and refused with `what` it should be unless accepted."""

    def parse(text: str) -> _N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {what}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {what}")
        return value

    return parse


positive_int = _number(int, lambda value: value >= 1, "a whole number, 1 or more")
_whole = _number(int, lambda value: value >= 0, "a whole number, 0 or more")
_seconds = _number(float, lambda value: 0 < value < math.inf, "a number of seconds above 0")


def add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name.

    Given on the subcommand, an option has no default (``defaults=False``), so it cannot
    overwrite the same option given before the subcommand.
    """

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--api-key", default=default(None), help=f"WorkOS API key (default: ${API_KEY_ENV_VAR})", metavar="KEY"
    )
    parser.add_argument(
        "--base-url",
        default=default(None),
        metavar="URL",
        help=f"API base URL (default: ${BASE_URL_ENV_VAR} or {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default(None),
        metavar="SECONDS",
        help=f"give up on a connection or a response that is silent this long (default {_CLIENT_DEFAULTS['timeout']:g})",
    )
    parser.add_argument(
        "--max-retries",
        type=_whole,
        default=default(None),
        metavar="N",
        help=f"retries of a failed request: HTTP {', '.join(map(str, sorted(RETRYABLE_STATUSES)))}, timeouts,"
        f" dropped connections (default {_CLIENT_DEFAULTS['max_retries']})",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=default(False),
        help=f"send the API key over plain http:// to a host that is not loopback (or set {ALLOW_INSECURE_HTTP_ENV_VAR}=1)",
    )
    parser.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks and the SDK's debug log"
    )


LOG_ENV_VAR: Final = "WORKOS_LOG"
_LOG_LEVELS: Final = frozenset({"DEBUG", "INFO"})
_HANDLER_NAME: Final = "workos_orgs.env"


def configure_logging_from_env() -> None:
    """``WORKOS_LOG=debug`` (or ``info``) sends the ``workos_orgs`` log to stderr; unset or
    empty, nothing; anything else is a `UsageError`.  Idempotent: the handler is added once."""
    value = os.environ.get(LOG_ENV_VAR, "")
    level = value.strip().upper()
    if level in _LOG_LEVELS:
        log_to_stderr(level)
    elif level:
        raise UsageError(f"{LOG_ENV_VAR} must be debug or info (or unset); got {value!r}")


def log_to_stderr(level: str) -> None:
    """Send the ``workos_orgs`` log at `level` (``"DEBUG"``, ``"INFO"``) to stderr; idempotent."""
    logger.setLevel(level)
    if not any(handler.get_name() == _HANDLER_NAME for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


def configure_logging(debug: bool) -> None:
    """The SDK's log to stderr with ``--debug`` or ``WORKOS_LOG=debug`` (``info``); the SDK
    itself never sets up logging.  The environment is read, never written: a process that
    runs the command line in-process keeps its own."""
    if debug:
        log_to_stderr("DEBUG")
    else:
        configure_logging_from_env()


_ON: Final = frozenset({"1", "true", "yes", "on"})
_OFF: Final = frozenset({"", "0", "false", "no", "off"})


def _insecure_allowed(args: argparse.Namespace) -> bool:
    if args.allow_insecure_http:
        return True
    # Only a value that says so turns it on: "false" must not send the key in clear text.
    value = os.environ.get(ALLOW_INSECURE_HTTP_ENV_VAR, "")
    said = value.strip().lower()
    if said in _ON:
        return True
    if said in _OFF:
        return False
    raise UsageError(f"{ALLOW_INSECURE_HTTP_ENV_VAR} must be 1 or 0 (or true/false, yes/no, on/off); got {value!r}")


def _only_insecure(base_url: str, api_key: str) -> str | None:
    """The host of a base URL whose one fault is plain HTTP to a host that is not loopback,
    so that the flag that allows it is the fix to name (as a message may show it: see
    `shown`); None for a URL wrong in another way."""
    try:
        url = check_base_url(base_url, allow_insecure_http=True)
    except ConfigurationError:
        return None
    insecure = url.scheme == "http" and url.host and not is_loopback(url.host)
    return shown(url.host, api_key) if insecure and url.host else None


@asynccontextmanager
async def open_client(args: argparse.Namespace) -> AsyncIterator[AsyncWorkOS]:
    """The client the command line's options (or the environment) describe."""
    if args.api_key is not None and not args.api_key.strip():
        # `--api-key "$PROD_KEY"` with the variable unset: never another environment's key instead.
        raise UsageError(
            f"--api-key is blank (an unset variable, say); pass the key, or leave the option out to use {API_KEY_ENV_VAR}"
        )
    api_key = args.api_key or os.environ.get(API_KEY_ENV_VAR)
    if not api_key or not api_key.strip():
        raise UsageError(f"no API key: pass --api-key or set {API_KEY_ENV_VAR}")
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    allowed = _insecure_allowed(args)
    try:
        client = AsyncWorkOS(api_key=api_key, base_url=args.base_url, allow_insecure_http=allowed, **options)
    except ConfigurationError:
        base_url = args.base_url or os.environ.get(BASE_URL_ENV_VAR) or DEFAULT_BASE_URL
        if not allowed and (host := _only_insecure(base_url, api_key)) is not None:
            raise UsageError(
                f"refusing to send the API key over plain HTTP to {host}: use https://, a loopback"
                f" address, or pass --allow-insecure-http (or set {ALLOW_INSECURE_HTTP_ENV_VAR}=1) for a host"
                " you trust, such as an emulator in docker-compose"
            ) from None
        raise
    async with client:
        yield client
