"""The command line as its users expect: global options anywhere, honest usage errors, JSON everywhere."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys

import pytest

import workos_orgs
from workos_orgs.cli._app import build_parser
from workos_orgs.cli._progress import Progress
from workos_orgs.emulator import Emulator

from ..gate import Gate
from .test_cli import cli, seed


async def test_version() -> None:
    result = await cli(None, "--version")
    assert (result.code, result.out) == (0, f"workos-orgs {workos_orgs.__version__}\n")


async def test_global_options_go_before_the_command_too(emulator: Emulator) -> None:
    seed(emulator, "Acme Corp")
    before = await cli(None, "--api-key", emulator.api_key, "--base-url", emulator.url, "list", "--json")
    after = await cli(None, "list", "--json", "--api-key", emulator.api_key, "--base-url", emulator.url)
    assert before.code == after.code == 0, before.err
    assert before.json_lines() == after.json_lines()
    assert [org["name"] for org in before.json_lines()] == ["Acme Corp"]


async def test_timeout_and_max_retries_bound_a_silent_server(emulator: Emulator) -> None:
    # Only the first request is held, never answered: one retry would have succeeded.
    async with Gate(emulator.url) as gate:
        gate.hold("GET", "/organizations")
        result = await cli(
            None, "--timeout", "0.2", "--max-retries", "0", "list",
            WORKOS_API_KEY=emulator.api_key, WORKOS_BASE_URL=gate.url,
        )  # fmt: skip
    assert result.code == 1
    assert result.err.startswith("error: ")
    assert "0.2s socket timeout" in result.err


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--timeout", "soon"], ["--max-retries", "-1"]])
async def test_bad_timeout_or_retries_are_usage_errors(args: list[str]) -> None:
    result = await cli(None, *args, "list")
    assert result.code == 2
    assert "Traceback" not in result.err


async def test_plain_http_error_names_the_flag_and_the_flag_allows_it() -> None:
    refused = await cli(None, "list", WORKOS_API_KEY="sk_test_x", WORKOS_BASE_URL="http://example.invalid")
    assert refused.code == 2
    assert "--allow-insecure-http" in refused.err
    assert "WORKOS_ALLOW_INSECURE_HTTP=1" in refused.err
    assert "allow_insecure_http=True" not in refused.err
    # Allowed, the request is made: the host does not exist, so it fails to connect, not to start.
    for allowed in (
        await cli(None, "--allow-insecure-http", "--max-retries", "0", "list", WORKOS_API_KEY="sk_test_x",
                  WORKOS_BASE_URL="http://example.invalid"),
        await cli(None, "list", "--max-retries", "0", WORKOS_API_KEY="sk_test_x",
                  WORKOS_BASE_URL="http://example.invalid", WORKOS_ALLOW_INSECURE_HTTP="1"),
    ):  # fmt: skip
        assert allowed.code == 1, allowed.err
        assert "plain HTTP" not in allowed.err


@pytest.mark.parametrize("value", ["false", "no", "off", "0", ""])
async def test_allow_insecure_http_in_the_environment_is_off_unless_it_says_so(value: str) -> None:
    refused = await cli(
        None, "list", WORKOS_API_KEY="sk_test_x", WORKOS_BASE_URL="http://example.invalid",
        WORKOS_ALLOW_INSECURE_HTTP=value,
    )  # fmt: skip
    assert refused.code == 2
    assert "plain HTTP" in refused.err


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on"])
async def test_allow_insecure_http_in_the_environment_is_on_when_it_says_so(value: str) -> None:
    allowed = await cli(
        None, "list", "--max-retries", "0", WORKOS_API_KEY="sk_test_x", WORKOS_BASE_URL="http://example.invalid",
        WORKOS_ALLOW_INSECURE_HTTP=value,
    )  # fmt: skip
    assert allowed.code == 1, allowed.err
    assert "plain HTTP" not in allowed.err


async def test_allow_insecure_http_in_the_environment_that_says_neither_is_a_usage_error() -> None:
    result = await cli(
        None, "list", WORKOS_API_KEY="sk_test_x", WORKOS_BASE_URL="http://example.invalid",
        WORKOS_ALLOW_INSECURE_HTTP="maybe",
    )  # fmt: skip
    assert result.code == 2
    assert "WORKOS_ALLOW_INSECURE_HTTP must be 1 or 0" in result.err
    assert "'maybe'" in result.err


async def test_update_with_nothing_to_change_is_a_usage_error(emulator: Emulator) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    before = len(emulator.requests)
    result = await cli(emulator, "update", acme["id"])
    assert result.code == 2
    assert result.err.startswith("error: nothing to change: give --name")
    assert len(emulator.requests) == before  # no empty PUT


@pytest.mark.parametrize(
    ("option", "clear"),
    [("--external-id", "--clear-external-id"), ("--stripe-customer-id", "--clear-stripe-customer-id")],
)
async def test_a_blank_id_is_a_usage_error_that_names_the_option_that_clears_it(
    emulator: Emulator, option: str, clear: str
) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    before = len(emulator.requests)
    result = await cli(emulator, "update", acme["id"], option, " ")
    assert result.code == 2
    assert clear in result.err
    assert "None" not in result.err
    both = await cli(emulator, "update", acme["id"], option, " ", clear)
    assert (both.code, "not both" in both.err) == (2, True)  # not told to use what it gave
    assert len(emulator.requests) == before


async def test_clear_stripe_customer_id_removes_it(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme", "stripe_customer_id": "cus_1"}])
    result = await cli(emulator, "update", acme["id"], "--clear-stripe-customer-id", "--json")
    assert result.code == 0, result.err
    assert "stripe_customer_id" not in result.json_lines()[0]
    both = await cli(emulator, "update", acme["id"], "--clear-stripe-customer-id", "--stripe-customer-id", "cus_2")
    assert both.code == 2


async def test_delete_json_prints_json(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme", "domains": ["acme.example", "acme.dev"]}])
    domain_id = acme["domains"][0]["id"]
    deleted = await cli(emulator, "domains", "delete", domain_id, "--json")
    assert (deleted.code, deleted.json_lines()) == (
        0,
        [{"object": "organization_domain", "id": domain_id, "deleted": True}],
    )
    gone = await cli(emulator, "delete", acme["id"], "--json")
    assert (gone.code, gone.json_lines()) == (0, [{"object": "organization", "id": acme["id"], "deleted": True}])


async def test_verify_of_a_verified_domain_shows_its_state_not_dns_instructions(emulator: Emulator) -> None:
    (acme,) = emulator.seed([{"name": "Acme", "domains": [{"domain": "acme.example", "state": "verified"}]}])
    domain_id = acme["domains"][0]["id"]
    result = await cli(emulator, "domains", "verify", domain_id)
    assert result.code == 0, result.err
    assert result.out == f"{domain_id}  acme.example  verified  (organization {acme['id']})\n"


async def test_emulator_help_names_itself() -> None:
    result = await cli(None, "emulator", "--help")
    assert result.out.startswith("usage: workos-orgs emulator ")


def _actions(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:  # argparse has no public way to walk a parser's options
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {where}", inner) for where, inner in _actions(sub)]
        else:
            found.append((parser.prog, action))
    return found


def test_every_option_has_help_text() -> None:
    missing = [
        f"{where}: {'/'.join(action.option_strings) or action.dest}"
        for where, action in _actions(build_parser())
        if not action.help and action.dest != "help"
    ]
    assert missing == []


async def test_list_max_items_and_the_old_limit_name(emulator: Emulator) -> None:
    seed(emulator, "Acme Corp", "Globex Corp", "Initech Corp")
    new = await cli(emulator, "list", "--json", "--max-items", "2", "--order", "asc")
    old = await cli(emulator, "list", "--json", "--limit", "2", "--order", "asc")
    assert [org["external_id"] for org in new.json_lines()] == ["ext-0", "ext-1"]
    assert new.json_lines() == old.json_lines()
    assert "--limit" not in (await cli(None, "list", "--help")).out


async def test_a_listing_longer_than_a_page_is_one_table(emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {number:03d}", "external_id": f"e-{number}"} for number in range(250)])
    result = await cli(emulator, "list", "--order", "asc")
    header, *rows = result.out.splitlines()
    assert header.split() == ["ID", "NAME", "EXTERNAL", "ID", "DOMAINS"]
    assert [row.split("  ")[1].strip() for row in rows] == [f"Org {number:03d}" for number in range(250)]


async def test_export_into_a_closed_pipe_exits_0_quietly(emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {number}", "metadata": {"pad": "x" * 500}} for number in range(400)])
    environment = {**os.environ, "WORKOS_API_KEY": emulator.api_key, "WORKOS_BASE_URL": emulator.url}
    process = await asyncio.create_subprocess_exec(
        "bash", "-o", "pipefail", "-c", f"{sys.executable} -m workos_orgs export | head -n 1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert (process.returncode, err) == (0, b"")
    assert out.count(b"\n") == 1


async def test_demo_refuses_another_api_without_yes(emulator: Emulator) -> None:
    result = await cli(emulator, "demo", "--count", "5", "--base-url", emulator.url)
    assert result.code == 2
    assert "pass --yes" in result.err
    assert emulator.requests == []


async def test_demo_on_another_api_removes_what_it_made(emulator: Emulator) -> None:
    seed(emulator, "Customer Corp")
    result = await cli(emulator, "demo", "--count", "20", "--base-url", emulator.url, "--yes")
    assert result.code == 0, result.out + result.err
    assert "5. remove the sample organizations" in result.out
    assert "20 deleted" in result.out
    assert "injected" not in result.out  # no fault was injected into someone else's API
    left = await cli(emulator, "list", "--json")
    assert [org["name"] for org in left.json_lines()] == ["Customer Corp"]


async def test_demo_names_only_the_faults_it_met() -> None:
    result = await cli(None, "demo", "--count", "30")
    assert result.code == 0, result.out + result.err
    (line,) = [line for line in result.out.splitlines() if "injected faults met" in line]
    assert line.strip() == "injected faults met and retried away: 1 x dropped connection, 2 x 429, 1 x 500, 3 x 503"


def test_the_progress_line_never_wraps() -> None:
    stream = io.StringIO()
    progress = Progress(
        stream, label="synced", total=10_000, enabled=True, clock=iter(range(100)).__next__, columns=lambda: 40
    )
    progress.advance("created 1, updated 0, unchanged 0, deleted 0, failed 0")
    progress.finish("created 1, updated 0, unchanged 0, deleted 0, failed 0")
    drawn = [line.removeprefix("\x1b[K") for line in stream.getvalue().rstrip("\n").split("\r") if line]
    assert drawn
    assert all(len(line) == 39 for line in drawn)


async def test_debug_sends_the_sdk_log_to_stderr(emulator: Emulator) -> None:
    quiet = await cli(emulator, "list")
    loud = await cli(emulator, "--debug", "list")
    assert "GET /organizations -> 200" not in quiet.err
    assert "GET /organizations -> 200" in loud.err
    assert emulator.api_key not in loud.err


@pytest.mark.parametrize(
    ("arguments", "code", "said"),
    [
        (("sync", "no-such-file.jsonl"), 2, "error: cannot read no-such-file.jsonl"),
        (("get", "org_01ARZ3NDEKTSV4RRFFQ69G5FAV"), 1, "error: HTTP 404 entity_not_found"),
    ],
    ids=["usage", "failed call"],
)
async def test_debug_adds_the_traceback_and_keeps_the_exit_code(
    emulator: Emulator, arguments: tuple[str, ...], code: int, said: str
) -> None:
    # --debug let the error escape, so a usage error exited 1 rather than 2, and a script that
    # told them apart by the code was wrong while debugging.
    plain = await cli(emulator, *arguments)
    debugged = await cli(emulator, "--debug", *arguments)
    assert (plain.code, debugged.code) == (code, code)
    assert said in plain.err
    assert said in debugged.err
    assert "Traceback (most recent call last)" not in plain.err
    assert "Traceback (most recent call last)" in debugged.err
    assert emulator.api_key not in debugged.err


@pytest.mark.parametrize("value", ["verbose", "trace", "2"])
async def test_a_workos_log_level_it_does_not_know_is_a_usage_error(emulator: Emulator, value: str) -> None:
    # It was ignored without a word, so a typo looked like a quiet SDK.
    result = await cli(emulator, "list", WORKOS_LOG=value)
    assert result.code == 2
    assert f"WORKOS_LOG must be debug or info (or unset); got {value!r}" in result.err
    assert emulator.requests == []
    assert (await cli(emulator, "list", WORKOS_LOG="")).code == 0


KEY = "sk_live_ThisKeyMustNeverBeShown42"


@pytest.mark.parametrize(
    "args",
    [
        ["domains", "--api-key", KEY, "get"],  # the action missing: argparse named the key as the action
        ["list", "--apikey", KEY],  # a misspelt option: argparse listed it, with the key, as unrecognized
        ["list", f"--api_key={KEY}"],
        ["get", "--api-key", KEY, "too", "many"],
        ["--api-kye", KEY, "list"],  # misspelt beyond "key": the key stood where a command was due
        ["--token", KEY, "list"],
        [KEY, "list"],
        ["list", "--max-items", KEY],  # given to an option that wanted a number
        ["domains", "--api-kye", KEY, "get", "x"],
        ["emulator", "--api-kye", KEY],  # the emulator's own command line
        ["emulator", "--port", KEY],
        ["list", "--max-items", f"x_{KEY}"],  # after an underscore: the client's messages hid it, these did not
    ],
)
async def test_a_usage_error_never_shows_the_api_key(args: list[str]) -> None:
    result = await cli(None, *args)
    assert result.code == 2
    assert "error:" in result.err
    for shown in (result.out, result.err):
        assert KEY not in shown
        assert "ThisKeyMustNeverBeShown" not in shown


async def test_a_short_option_value_is_not_taken_for_a_key() -> None:
    # Hiding every value after --api-key garbled the message: 'list' is no key.
    result = await cli(None, "--api-key", "list", "lst")
    assert result.code == 2
    assert "invalid choice: 'lst'" in result.err
    assert "'list'" in result.err


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["disk_usage_report"], "'disk_usage_report'"),
        (["get", "org_1", "task_force_alpha"], "task_force_alpha"),
        (["list", "--max-items", "mask_all_values"], "'mask_all_values'"),
    ],
)
async def test_words_with_sk_inside_are_not_taken_for_keys(args: list[str], shown: str) -> None:
    result = await cli(None, *args)
    assert result.code == 2
    assert shown in result.err
    assert "[redacted]" not in result.err


async def test_a_usage_error_never_shows_the_key_from_the_environment() -> None:
    result = await cli(None, "domains", KEY, WORKOS_API_KEY=KEY)
    assert result.code == 2
    assert KEY not in result.err


async def test_the_domains_commands_take_the_global_options_too(emulator: Emulator) -> None:
    organization = seed(emulator, "Acme Corp")[0]
    domain_id = organization["domains"][0]["id"]
    result = await cli(None, "domains", "--api-key", emulator.api_key, "--base-url", emulator.url, "get", domain_id)
    assert result.code == 0, result.err
    assert domain_id in result.out


@pytest.mark.parametrize(
    ("base_url", "said"),
    [
        ("http://127.0.0.1:99999", "base_url is not a valid URL"),
        ("http://[::1", "base_url is not a valid URL"),
        ("https://api..workos.com", "base_url's host name cannot be looked up"),
        ("http://127.0.0.1:4100/v1?x=1", "base_url must not have a query or fragment"),
        ("http://admin:hunter2secret@127.0.0.1:4100", "base_url must not hold a user name or password"),
    ],
)
async def test_a_bad_base_url_is_a_usage_error_that_says_what_is_wrong(base_url: str, said: str) -> None:
    result = await cli(None, "list", "--base-url", base_url, WORKOS_API_KEY=KEY)
    assert result.code == 2
    assert result.err.startswith(f"error: {said}"), result.err
    assert "Traceback" not in result.err
    assert "hunter2secret" not in result.err
