"""Each fact the SDK relies on is stated once, and the command line reads the environment without writing it."""

from __future__ import annotations

import inspect
import logging
import os

import pytest

from workos_orgs import (
    AsyncWorkOS,
    DomainData,
    DomainState,
    InvalidArgumentError,
    InvalidRecordError,
    OrganizationRecord,
    WorkOS,
    _arguments,
    _config,
    _redaction,
)
from workos_orgs._retry import DEFAULT_MAX_RETRIES, RETRYABLE_STATUSES, RetryPolicy
from workos_orgs._transport import logger
from workos_orgs.cli._app import build_parser
from workos_orgs.cli._connect import LOG_ENV_VAR, configure_logging


def test_debug_logging_from_the_command_line_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOG_ENV_VAR, raising=False)
    before_level, before_handlers = logger.level, list(logger.handlers)
    try:
        configure_logging(debug=True)
        assert LOG_ENV_VAR not in os.environ
        assert logger.level == logging.DEBUG
        assert len([handler for handler in logger.handlers if handler not in before_handlers]) == 1
    finally:
        logger.handlers[:] = before_handlers
        logger.setLevel(before_level)


def test_the_retried_statuses_the_docs_name_are_those_retried() -> None:
    # help(AsyncWorkOS) said "5xx", though a 501 is not retried.
    named = ", ".join(map(str, sorted(RETRYABLE_STATUSES)))
    assert f"HTTP {named};" in " ".join((AsyncWorkOS.__doc__ or "").split())
    assert f"HTTP {named}," in " ".join(build_parser().format_help().split())


def test_the_default_retry_count_is_one_number() -> None:
    assert RetryPolicy().max_retries == DEFAULT_MAX_RETRIES
    for client in (AsyncWorkOS, WorkOS):
        assert inspect.signature(client).parameters["max_retries"].default == DEFAULT_MAX_RETRIES


@pytest.mark.parametrize(
    "entry", [{"domain": " "}, {"domain": 7}, {"state": "verified"}, 7, None, DomainData(" ", DomainState.VERIFIED)]
)
async def test_a_record_and_a_create_refuse_the_same_domain_entries(entry: object) -> None:
    with pytest.raises(InvalidRecordError):
        OrganizationRecord("x", "X", domains=[entry])  # type: ignore[list-item]
    # Refused before anything is sent: the client points nowhere.
    async with AsyncWorkOS(api_key="sk_test_abcdefghijklmnop", base_url="http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(InvalidArgumentError, match=r"domain_data\[0\]"):
            await client.organizations.create(name="X", domain_data=[entry])  # type: ignore[list-item]


@pytest.mark.parametrize("metadata", [{"tier": 1}, {1: "gold"}, {"tier": None}, ["tier"]])
def test_a_record_refuses_metadata_that_is_not_strings(metadata: object) -> None:
    with pytest.raises(InvalidRecordError, match="metadata must map strings to strings"):
        OrganizationRecord("x", "X", metadata=metadata)  # type: ignore[arg-type]


def test_the_blocking_client_takes_every_setting_the_async_client_takes_with_the_same_defaults() -> None:
    # WorkOS writes its parameters out again (its own signature, for help()): an option added
    # to AsyncWorkOS alone would be missing from it without a word.  Only the aiohttp session,
    # which lives on the blocking client's own loop thread, is the async client's alone.
    asynchronous = dict(inspect.signature(AsyncWorkOS).parameters)
    del asynchronous["session"]
    assert list(inspect.signature(WorkOS).parameters.values()) == list(asynchronous.values())


def test_what_a_key_looks_like_is_one_pattern_for_the_client_and_the_command_line() -> None:
    # Two patterns disagreed: the client's messages hid only sk_test_/sk_live_ keys, the command
    # line's usage errors no key right after an underscore.
    assert _config.LOOKS_LIKE_A_KEY is _arguments.LOOKS_LIKE_A_KEY is _redaction.LOOKS_LIKE_A_KEY
    # ... and it looks for keys as short as the shortest looked for anywhere, no shorter.
    shortest = "sk_" + "a" * _redaction.MIN_SECRET_LENGTH
    assert _redaction.LOOKS_LIKE_A_KEY.fullmatch(shortest) is not None
    assert _redaction.LOOKS_LIKE_A_KEY.fullmatch(shortest[:-1]) is None
