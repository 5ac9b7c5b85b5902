"""`workos-orgs` run as a user runs it: a subprocess against the emulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from workos_orgs.emulator import Emulator

from ..gate import Gate


@attrs.frozen
class Result:
    code: int
    out: str
    err: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


def child_environment(api_key: str | None = None, base_url: str | None = None, **env: str) -> dict[str, str]:
    """The environment a command line runs in: this one without WORKOS_ settings, and with
    stdout buffered, as it is when a user pipes it (whatever PYTHONUNBUFFERED the run has)."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("WORKOS_") and key != "PYTHONUNBUFFERED"
    }
    if api_key is not None:
        environment["WORKOS_API_KEY"] = api_key
    if base_url is not None:
        environment["WORKOS_BASE_URL"] = base_url
    return environment | env


async def cli(emulator: Emulator | None, *args: str, stdin: bytes | None = None, **env: str) -> Result:
    environment = (
        child_environment(**env) if emulator is None else child_environment(emulator.api_key, emulator.url, **env)
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workos_orgs",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), 60)  # only a hang reaches it
    except TimeoutError:
        process.kill()  # not left running into the tests after this one
        await process.communicate()
        raise
    return Result(process.returncode or 0, out.decode(), err.decode())


def seed(emulator: Emulator, *names: str) -> list[dict[str, Any]]:
    return emulator.seed(
        [
            {"name": name, "external_id": f"ext-{number}", "domains": [f"{name.lower().split()[0]}.example"]}
            for number, name in enumerate(names)
        ]
    )


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


RECORDS = [
    {"external_id": "c-1", "name": "Acme", "domains": ["acme.example"], "metadata": {"tier": "gold"}},
    {"external_id": "c-2", "name": "Globex", "domains": [{"domain": "globex.example", "state": "verified"}]},
    {"external_id": "c-3", "name": "Initech"},
]


# list


async def test_list_prints_a_table_newest_first(emulator: Emulator) -> None:
    seed(emulator, "Acme Corp", "Globex Corp")
    result = await cli(emulator, "list")
    assert result.code == 0
    header, *rows = result.out.splitlines()
    assert header.split() == ["ID", "NAME", "EXTERNAL", "ID", "DOMAINS"]
    assert [row.split("  ")[1].strip() for row in rows] == ["Globex Corp", "Acme Corp"]
    assert "globex.example" in rows[0]


async def test_list_json_is_one_api_shaped_object_per_line(emulator: Emulator) -> None:
    seeded = seed(emulator, "Acme Corp", "Globex Corp")
    result = await cli(emulator, "list", "--json", "--order", "asc")
    assert result.code == 0
    assert result.json_lines() == seeded


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--domain", "acme.example", "--domain", "initech.example"], ["ext-2", "ext-0"]),
        (["--search", "GLOBEX"], ["ext-1"]),
        (["--limit", "2", "--order", "asc"], ["ext-0", "ext-1"]),
    ],
)
async def test_list_filters(emulator: Emulator, args: list[str], expected: list[str]) -> None:
    seed(emulator, "Acme Corp", "Globex Corp", "Initech Corp")
    result = await cli(emulator, "list", "--json", *args)
    assert [org["external_id"] for org in result.json_lines()] == expected


async def test_list_of_nothing_says_so(emulator: Emulator) -> None:
    result = await cli(emulator, "list")
    assert (result.code, result.out) == (0, "No organizations.\n")


# get, create, update, delete


async def test_get_by_id_and_by_external_id(emulator: Emulator) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    by_id = await cli(emulator, "get", acme["id"], "--json")
    by_external_id = await cli(emulator, "get", "--external-id", "ext-0", "--json")
    assert by_id.json_lines() == by_external_id.json_lines() == [acme]
    readable = await cli(emulator, "get", acme["id"])
    assert readable.out.splitlines()[:3] == [
        f"{acme['id']}  Acme Corp",
        "  external_id  ext-0",
        "  domain       acme.example (pending)",
    ]


async def test_get_unknown_is_one_line_and_exit_1(emulator: Emulator) -> None:
    result = await cli(emulator, "get", "org_01EHWNCE74X7JSDV0X3SZ3KJNY")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert result.err.startswith("error: ")
    assert "Organization not found: 'org_01EHWNCE74X7JSDV0X3SZ3KJNY'" in result.err
    assert "Traceback" not in result.err


async def test_get_needs_exactly_one_way_to_find_it(emulator: Emulator) -> None:
    result = await cli(emulator, "get")
    assert (result.code, result.err) == (2, "error: give an organization ID or --external-id (one of them)\n")


async def test_create_with_domains_and_metadata(emulator: Emulator) -> None:
    result = await cli(
        emulator, "create", "--name", "Acme", "--domain", "acme.example:verified", "--domain", "acme.dev",
        "--external-id", "acme-1", "--metadata", "tier=gold", "--json",
    )  # fmt: skip
    assert result.code == 0
    (created,) = result.json_lines()
    assert created["name"] == "Acme"
    assert created["external_id"] == "acme-1"
    assert created["metadata"] == {"tier": "gold"}
    assert [(d["domain"], d["state"]) for d in created["domains"]] == [
        ("acme.example", "verified"),
        ("acme.dev", "pending"),
    ]


async def test_update_changes_only_what_is_given(emulator: Emulator) -> None:
    created = emulator.seed([{"name": "Acme", "external_id": "a", "metadata": {"tier": "gold", "region": "eu"}}])[0]
    result = await cli(
        emulator, "update", created["id"], "--name", "Acme Corp", "--metadata", "tier=", "--clear-external-id", "--json"
    )
    assert result.code == 0
    (updated,) = result.json_lines()
    assert (updated["name"], updated["external_id"], updated["metadata"]) == ("Acme Corp", None, {"region": "eu"})


async def test_update_with_domains_keeps_the_state_of_those_it_names_without_one(emulator: Emulator) -> None:
    # Naming a verified domain without :verified, to add another, made it pending again.
    created = emulator.seed(
        [
            {
                "name": "Acme",
                "domain_data": [
                    {"domain": "sso.example", "state": "verified"},
                    {"domain": "old.example", "state": "pending"},
                ],
            }
        ]
    )[0]
    result = await cli(
        emulator, "update", created["id"], "--domain", "sso.example", "--domain", "old.example",
        "--domain", "new.example", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    (updated,) = result.json_lines()
    assert sorted((d["domain"], d["state"]) for d in updated["domains"]) == [
        ("new.example", "pending"),
        ("old.example", "pending"),
        ("sso.example", "verified"),
    ]
    # A state given is the state sent.
    result = await cli(emulator, "update", created["id"], "--domain", "sso.example:pending", "--json")
    assert [(d["domain"], d["state"]) for d in result.json_lines()[0]["domains"]] == [("sso.example", "pending")]


async def test_create_without_a_name_is_a_usage_error(emulator: Emulator) -> None:
    result = await cli(emulator, "create")
    assert result.code == 2
    assert "--name" in result.err


async def test_delete_then_it_is_gone(emulator: Emulator) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    result = await cli(emulator, "delete", acme["id"])
    assert (result.code, result.out) == (0, f"Deleted {acme['id']}.\n")
    assert (await cli(emulator, "get", acme["id"])).code == 1


# domains


@pytest.mark.workos_emulator(auto_verify=True)  # instant verification, as these tests mean
async def test_domains_create_get_verify_delete(emulator: Emulator) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    created = await cli(emulator, "domains", "create", "--organization-id", acme["id"], "acme.dev", "--json")
    (domain,) = created.json_lines()
    assert (domain["domain"], domain["state"], domain["organization_id"]) == ("acme.dev", "pending", acme["id"])
    readable = await cli(emulator, "domains", "get", domain["id"])
    assert readable.out.splitlines()[0] == f"{domain['id']}  acme.dev  pending  (organization {acme['id']})"
    assert domain["verification_token"] in readable.out
    verified = await cli(emulator, "domains", "verify", domain["id"], "--json")
    assert verified.json_lines()[0]["state"] == "verified"
    deleted = await cli(emulator, "domains", "delete", domain["id"])
    assert (deleted.code, deleted.out) == (0, f"Deleted {domain['id']}.\n")
    assert (await cli(emulator, "domains", "get", domain["id"])).code == 1


async def test_domains_create_names_the_txt_record_that_verifies_it(emulator: Emulator) -> None:
    (acme,) = seed(emulator, "Acme Corp")
    created = await cli(emulator, "domains", "create", "--organization-id", acme["id"], "acme.dev")
    hint = created.out.splitlines()[1]
    assert hint.startswith("verify with a DNS TXT record ")
    name, value = hint.removeprefix("verify with a DNS TXT record ").split(" = ")
    domain_id = created.out.split()[0]
    # Publishing exactly the record the hint names verifies the domain.
    emulator.publish_txt_record(name, value)
    verified = await cli(emulator, "domains", "verify", domain_id, "--json")
    assert (verified.code, verified.json_lines()[0]["state"]) == (0, "verified")
    assert name.endswith(".acme.dev")


# sync


async def _external_ids(emulator: Emulator) -> list[str]:
    result = await cli(emulator, "list", "--json", "--order", "asc")
    return [org["external_id"] for org in result.json_lines()]


async def test_sync_jsonl_creates_then_converges(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    first = await cli(emulator, "sync", str(path))
    assert first.code == 0
    assert "sync: created 3, updated 0, unchanged 0, deleted 0, failed 0" in first.err
    second = await cli(emulator, "sync", str(path))
    assert "sync: created 0, updated 0, unchanged 3, deleted 0, failed 0" in second.err
    assert sorted(await _external_ids(emulator)) == ["c-1", "c-2", "c-3"]


async def test_sync_reads_csv(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text(
        "external_id,name,domains,metadata.tier\nc-1,Acme,acme.example:verified; acme.dev,gold\nc-2,Globex,,\n"
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 0, result.err
    acme = (await cli(emulator, "get", "--external-id", "c-1", "--json")).json_lines()[0]
    assert [(d["domain"], d["state"]) for d in acme["domains"]] == [
        ("acme.example", "verified"),
        ("acme.dev", "pending"),
    ]
    assert acme["metadata"] == {"tier": "gold"}
    globex = (await cli(emulator, "get", "--external-id", "c-2", "--json")).json_lines()[0]
    assert (globex["domains"], globex["metadata"]) == ([], {})


async def test_sync_reads_a_csv_domains_cell_as_entries_between_semicolons(emulator: Emulator, tmp_path: Path) -> None:
    # Split on any space, "a.com: verified" made a domain named "verified"; "a.com:" was pending.
    path = tmp_path / "orgs.csv"
    path.write_text(
        "external_id,name,domains\n"
        "d-1,D1,a1.example: verified\n"
        "d-2,D2,a2.example :verified ;b2.example ;\n"
        "d-3,D3,a3.example:\n"
        "d-4,D4,a4.example b4.example\n"
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    states = {}
    for external_id in ("d-1", "d-2"):
        found = (await cli(emulator, "get", "--external-id", external_id, "--json")).json_lines()[0]
        states[external_id] = sorted((d["domain"], d["state"]) for d in found["domains"])
    assert states == {
        "d-1": [("a1.example", "verified")],
        "d-2": [("a2.example", "verified"), ("b2.example", "pending")],
    }
    assert f"failed d-3: {path} line 4: each domain: state must be 'pending' or 'verified'; got ''" in result.err
    assert f"failed d-4: {path} line 5:" in result.err
    assert "'a4.example b4.example' is not a domain name: it holds a space" in result.err
    assert "in a CSV domains cell, separate them with ';'" in result.err
    assert await _external_ids(emulator) == ["d-1", "d-2"]


async def test_sync_refuses_a_csv_domains_cell_of_separators_alone(emulator: Emulator, tmp_path: Path) -> None:
    # ";;" names no domain: it was read as an empty cell, which removes every domain.
    emulator.seed(
        [{"name": "Acme", "external_id": "c-1", "domain_data": [{"domain": "sso.example", "state": "verified"}]}]
    )
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,domains\nc-1,Acme,;;\nc-2,Globex, ; \n")
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"{path} line 2: has a domains cell that names no domain (';;')" in result.err
    assert f"{path} line 3: has a domains cell that names no domain (' ; ')" in result.err
    found = (await cli(emulator, "get", "--external-id", "c-1", "--json")).json_lines()[0]
    assert [(d["domain"], d["state"]) for d in found["domains"]] == [("sso.example", "verified")]
    assert await _external_ids(emulator) == ["c-1"]


async def test_a_csv_row_refused_for_its_domains_cell_names_its_external_id_and_does_not_hold_back_prune(
    emulator: Emulator, tmp_path: Path
) -> None:
    # The row's external id was read and is sound; only its domains cell was not.  The row
    # failed as "(no external_id)", and, unidentified, held back the whole prune.
    emulator.seed([{"name": "Acme", "external_id": "c-1"}, {"name": "Gone", "external_id": "gone"}])
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,domains\nc-1,Acme,;;\nc-2,Globex,\n")
    result = await cli(emulator, "sync", str(path), "--prune")
    assert result.code == 1
    assert f"failed c-1: {path} line 2: has a domains cell that names no domain (';;')" in result.err
    assert "prune skipped" not in result.err
    assert await _external_ids(emulator) == ["c-1", "c-2"]


async def test_sync_reads_stdin(emulator: Emulator) -> None:
    stdin = "".join(json.dumps(record) + "\n" for record in RECORDS).encode()
    result = await cli(emulator, "sync", "-", stdin=stdin)
    assert result.code == 0
    assert "created 3" in result.err
    assert "\r" not in result.err  # piped: no progress bar


@pytest.mark.skipif(not os.path.exists("/dev/stdin"), reason="no /dev/stdin on this system")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
async def test_sync_reads_a_pipe_named_by_its_path(emulator: Emulator, fmt: str) -> None:
    # `sync /dev/stdin` (or `<(dump)`, a FIFO): the progress bar counted the lines by reading
    # the path again, which emptied the pipe, and the sync then read nothing: "created 0",
    # exit 0 (with --format csv, "the file is empty").
    if fmt == "jsonl":
        stdin = "".join(json.dumps(record) + "\n" for record in RECORDS).encode()
    else:
        stdin = ("external_id,name\n" + "".join(f"{r['external_id']},{r['name']}\n" for r in RECORDS)).encode()
    result = await cli(emulator, "sync", "/dev/stdin", "--format", fmt, stdin=stdin)
    assert (result.code, result.err.count("created 3")) == (0, 1), result.err
    assert sorted(await _external_ids(emulator)) == sorted(record["external_id"] for record in RECORDS)


async def test_sync_a_bad_record_fails_alone_with_exit_1(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.jsonl"
    path.write_text(
        json.dumps(RECORDS[0])
        + "\n{not json\n"
        + json.dumps({"external_id": "x"})
        + "\n"
        + json.dumps(RECORDS[2])
        + "\n"
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert "sync: created 2, updated 0, unchanged 0, deleted 0, failed 2" in result.err
    assert f"{path} line 2: not valid JSON" in result.err
    assert f"failed x: {path} line 3: name is required" in result.err  # every failure names its line
    assert sorted(await _external_ids(emulator)) == ["c-1", "c-3"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "missing.jsonl"), "cannot read"),
        (lambda tmp: str(_write(tmp / "bad.csv", "id,title\n1,Acme\n")), "must have columns external_id and name"),
    ],
)
async def test_sync_a_bad_file_is_one_clear_line_and_exit_2(
    emulator: Emulator, tmp_path: Path, make: Any, message: str
) -> None:
    result = await cli(emulator, "sync", make(tmp_path))
    assert result.code == 2
    assert result.err.startswith("error: ")
    assert message in result.err
    assert result.err.count("\n") == 1


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_sync_a_line_that_is_not_utf8_fails_alone(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.jsonl"
    path.write_bytes(
        json.dumps(RECORDS[0]).encode()
        + b"\n"
        + b'{"external_id": "x", "name": "\xff"}\n'
        + json.dumps(RECORDS[2]).encode()
        + b"\n"
    )
    result = await cli(emulator, "sync", str(path), "--no-rate-limit")
    assert result.code == 1
    assert f"{path} line 2: not valid UTF-8." in result.err
    assert "created 2, updated 0, unchanged 0, deleted 0, failed 1" in result.err


async def test_sync_an_oversized_csv_field_fails_alone(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text(f"external_id,name\nc-1,Acme\nc-2,{'G' * 200_000}\nc-3,Initech\n")
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"{path} line 3: not readable as CSV" in result.err
    assert sorted(await _external_ids(emulator)) == ["c-1", "c-3"]


async def test_sync_dry_run_writes_nothing(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    result = await cli(emulator, "sync", str(path), "--dry-run")
    assert result.code == 0
    assert "created 3, updated 0, unchanged 0, deleted 0, failed 0 (dry run: nothing was written)" in result.err
    assert await _external_ids(emulator) == []


async def test_sync_prune_deletes_organizations_missing_from_the_file(emulator: Emulator, tmp_path: Path) -> None:
    seed(emulator, "Stale Corp")
    emulator.seed([{"name": "Manual, no external id"}])
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    result = await cli(emulator, "sync", str(path), "--prune", "--concurrency", "2")
    assert result.code == 0
    assert "created 3, updated 0, unchanged 0, deleted 1, failed 0" in result.err
    assert sorted(await _external_ids(emulator), key=str) == sorted(["c-1", "c-2", "c-3", None], key=str)


async def test_sync_prune_holds_back_when_a_line_cannot_be_read(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    assert (await cli(emulator, "sync", str(path))).code == 0
    # Line 2 (Globex) is broken: its organization must not be pruned as if it were stale.
    lines = path.read_text().splitlines()
    path.write_text(f"{lines[0]}\n{lines[1][:-1]}\n{lines[2]}\n")
    result = await cli(emulator, "sync", str(path), "--prune")
    assert result.code == 1
    assert "deleted 0, failed 1 (prune skipped: 1 record(s) had no readable external_id" in result.err
    assert sorted(await _external_ids(emulator)) == ["c-1", "c-2", "c-3"]


async def test_sync_prune_of_an_empty_input_deletes_nothing_and_fails(emulator: Emulator) -> None:
    # `dump | workos-orgs sync - --prune` where the dump died before its first line.
    seed(emulator, "Acme Corp", "Globex")
    result = await cli(emulator, "sync", "-", "--prune", stdin=b"")
    assert result.code == 1
    assert "deleted 0, failed 0 (prune skipped: no records were read" in result.err
    assert sorted(await _external_ids(emulator)) == ["ext-0", "ext-1"]


async def test_sync_prints_each_failure_on_one_line(emulator: Emulator, tmp_path: Path) -> None:
    # A proxy's HTML error page runs to many lines; each failure is still one line.
    page = "<!DOCTYPE html>\n<html>\n<body>\n<h1>Bad request</h1>\n</body>\n</html>\n"
    emulator.inject_fault(
        method="GET", path="/organizations/external_id/c-1", status=400, body=page, content_type="text/html"
    )
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS[:1])
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    [failure] = [line for line in result.err.splitlines() if line.startswith("failed c-1: ")]
    assert "<html> <body> <h1>Bad request</h1>" in failure
    assert not [line for line in result.err.splitlines() if line.startswith(("<body>", "<h1>", "</html>"))]


async def test_sync_json_report_says_a_stopped_job_is_not_ok(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    result = await cli(emulator, "sync", str(path), "--json", WORKOS_API_KEY="sk_test_revoked_0000")
    assert result.code == 1
    report = result.json_lines()[-1]["report"]
    assert report["ok"] is False
    assert report["stopped"].startswith("AuthenticationError: ")


async def test_sync_whose_output_is_closed_says_it_stopped_and_fails(emulator: Emulator, tmp_path: Path) -> None:
    # `workos-orgs sync ... --json | head -1`: the job stops with its output, and must say so.
    path = write_jsonl(tmp_path / "orgs.jsonl", [{"external_id": f"c-{n}", "name": f"C {n}"} for n in range(300)])
    environment = child_environment(emulator.api_key, emulator.url)
    reading, writing = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workos_orgs", "sync", str(path), "--json", "--no-rate-limit", "--concurrency", "1",
        stdout=writing, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    os.close(writing)
    with os.fdopen(reading, "rb") as reader:  # closed after one line: the reader goes away
        first = await asyncio.wait_for(asyncio.to_thread(reader.readline), 60)
    assert json.loads(first)["event"] == "created"
    assert process.stderr is not None
    err = (await asyncio.wait_for(process.stderr.read(), 60)).decode()
    code = await asyncio.wait_for(process.wait(), 60)
    assert code == 1
    assert "standard output was closed" in err
    assert "run it again to finish" in err
    assert len(await _external_ids(emulator)) < 300


async def test_sync_whose_output_is_closed_only_for_the_report_says_it_finished(emulator: Emulator) -> None:
    # Nothing to sync: the report is the one thing written, and the pipe is closed already.
    environment = child_environment(emulator.api_key, emulator.url)
    reading, writing = os.pipe()
    os.close(reading)  # the reader is gone before the sync starts
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workos_orgs", "sync", "-", "--json",
        stdin=asyncio.subprocess.PIPE, stdout=writing, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    os.close(writing)
    _, err = await asyncio.wait_for(process.communicate(b""), 60)
    assert process.returncode == 1
    assert "the sync finished" in err.decode()
    assert "run it again" not in err.decode()


async def test_an_answer_that_is_not_the_apis_hints_at_the_base_url(emulator: Emulator) -> None:
    # A web server's HTML 404 (a base URL that points at the wrong place) said only HTTP 404.
    page = "<!DOCTYPE html><html><body>Not Found</body></html>"
    emulator.inject_fault(method="GET", path="/organizations/*", status=404, body=page, content_type="text/html")
    result = await cli(emulator, "get", "org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert result.code == 1
    assert "not the API's" in result.err
    assert "check --base-url" in result.err
    genuine = await cli(emulator, "get", "org_01ARZ3NDEKTSV4RRFFQ69G5FAV")  # the API's own 404
    assert genuine.code == 1
    assert "entity_not_found" in genuine.err
    assert "--base-url" not in genuine.err
    # A gateway's 502 page is passing trouble, and a redirect says where to look itself.
    emulator.inject_fault(method="GET", path="/organizations/*", status=502, body=page, content_type="text/html")
    gateway = await cli(emulator, "get", "org_01ARZ3NDEKTSV4RRFFQ69G5FAV", "--max-retries", "0")
    assert gateway.code == 1
    assert "HTTP 502" in gateway.err
    assert "--base-url" not in gateway.err
    emulator.inject_fault(method="GET", path="/organizations/*", status=301, body=page, content_type="text/html")
    moved = await cli(emulator, "get", "org_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert moved.code == 1
    assert "HTTP 301" in moved.err
    assert moved.err.lower().count("base_url") + moved.err.count("--base-url") == 1


async def test_a_sync_with_stdout_closed_runs_as_usual(emulator: Emulator, tmp_path: Path) -> None:
    # A cron job started with stdout closed: Python has no sys.stdout at all.
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS)
    process = await asyncio.create_subprocess_exec(
        "sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "workos_orgs", "sync", str(path),
        stderr=asyncio.subprocess.PIPE, env=child_environment(emulator.api_key, emulator.url),
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "created 3" in err.decode()
    assert "Traceback" not in err.decode()


async def test_a_full_disk_for_stdout_is_said_once(emulator: Emulator) -> None:
    seed(emulator, "Acme Corp")
    full = os.open("/dev/full", os.O_WRONLY)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workos_orgs", "list", "--json",
            stdout=full, stderr=asyncio.subprocess.PIPE, env=child_environment(emulator.api_key, emulator.url),
        )  # fmt: skip
    finally:
        os.close(full)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, err.decode()
    assert err.decode().count("No space left on device") == 1
    assert "Exception ignored" not in err.decode()


# export, emulator, configuration


async def test_export_streams_every_organization(emulator: Emulator, tmp_path: Path) -> None:
    seeded = emulator.seed([{"name": f"Org {number}"} for number in range(130)])
    to_stdout = await cli(emulator, "export")
    assert to_stdout.code == 0
    assert sorted(org["id"] for org in to_stdout.json_lines()) == sorted(org["id"] for org in seeded)
    assert "export: 130 organizations" in to_stdout.err
    target = tmp_path / "out.jsonl"
    to_file = await cli(emulator, "export", "--output", str(target))
    assert (to_file.code, to_file.out) == (0, "")
    assert target.read_text() == to_stdout.out


async def test_emulator_subcommand_is_the_emulator() -> None:
    result = await cli(None, "emulator", "--help")
    assert result.code == 0
    assert "--db PATH" in result.out
    assert "--rate-limits" in result.out


async def test_no_api_key_says_how_to_give_one() -> None:
    result = await cli(None, "list")
    assert (result.code, result.err) == (2, "error: no API key: pass --api-key or set WORKOS_API_KEY\n")


@pytest.mark.parametrize("blank", ["", "  "])
async def test_a_blank_api_key_option_is_refused_not_replaced_by_the_environments(
    emulator: Emulator, blank: str
) -> None:
    # `--api-key "$PROD_KEY"` with that variable unset: the empty option fell back to
    # WORKOS_API_KEY, another environment's key maybe, and a `sync --prune` would run there.
    seed(emulator, "Acme Corp")
    result = await cli(emulator, "sync", "-", "--prune", "--api-key", blank, stdin=b"")
    assert result.code == 2
    assert result.err == (
        "error: --api-key is blank (an unset variable, say); pass the key, or leave the option out to use"
        " WORKOS_API_KEY\n"
    )
    assert emulator.requests == []


async def test_a_blank_api_key_says_how_to_give_one() -> None:
    # Spaces only: the client's own message told a command-line user to pass AsyncWorkOS(api_key=...).
    result = await cli(None, "list", WORKOS_API_KEY="   ")
    assert (result.code, result.err) == (2, "error: no API key: pass --api-key or set WORKOS_API_KEY\n")
    result = await cli(None, "list", "--api-key", " \t")
    assert (result.code, result.err.startswith("error: --api-key is blank")) == (2, True)


async def test_a_wrong_api_key_says_what_to_check(emulator: Emulator) -> None:
    result = await cli(emulator, "list", "--api-key", "sk_test_wrong")
    assert result.code == 1
    assert result.err.startswith("error: HTTP 401")
    assert result.err.endswith("(check --api-key or WORKOS_API_KEY, and --base-url)\n")
    assert "sk_test_wrong" not in result.err


async def test_sync_with_a_wrong_api_key_stops_and_says_what_to_check(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "orgs.jsonl", RECORDS * 1)
    result = await cli(emulator, "sync", str(path), "--concurrency", "1", "--api-key", "sk_test_wrong")
    assert result.code == 1
    assert "sync: created 0, updated 0, unchanged 0, deleted 0, failed 0" in result.err
    assert result.err.endswith("(check --api-key or WORKOS_API_KEY, and --base-url)\n")
    assert "sk_test_wrong" not in result.err


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--count", "0"],
        ["list", "--limit", "0"],
        ["sync", "-", "--concurrency", "-1"],
        ["list", "--limit", "x"],
    ],
)
async def test_numbers_that_must_be_positive_are_usage_errors(emulator: Emulator, args: list[str]) -> None:
    result = await cli(emulator, *args)
    assert result.code == 2
    assert "a whole number, 1 or more" in result.err
    assert "Traceback" not in result.err


async def test_a_concurrency_past_any_use_is_a_usage_error(emulator: Emulator) -> None:
    result = await cli(emulator, "sync", "-", "--concurrency", "1001", stdin=b"")
    assert result.code == 2
    assert "concurrency must be a whole number from 1 to 1,000; got 1001." in result.err
    assert emulator.requests == []


async def test_a_closed_pipe_ends_quietly(emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {number}", "metadata": {"pad": "x" * 500}} for number in range(400)])
    environment = {**os.environ, "WORKOS_API_KEY": emulator.api_key, "WORKOS_BASE_URL": emulator.url}
    process = await asyncio.create_subprocess_shell(
        f"{sys.executable} -m workos_orgs export | head -n 1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert json.loads(out)["object"] == "organization"
    assert err == b""


async def test_emulator_with_an_empty_key_is_a_usage_error() -> None:
    result = await cli(None, "emulator", "--port", "0", "--api-key", "")
    assert result.code == 2
    assert result.err.endswith("error: --api-key must not be empty: it is the key clients must send\n")
    assert "Traceback" not in result.err


async def test_plain_http_to_a_remote_host_is_refused() -> None:
    result = await cli(None, "list", WORKOS_API_KEY="sk_test_secret_value", WORKOS_BASE_URL="http://example.com")
    assert result.code == 2
    assert "plain HTTP" in result.err
    assert "sk_test_secret_value" not in result.err


@pytest.mark.parametrize("count", [1, 2, 3])
async def test_demo_comes_out_right_with_very_few_organizations(count: int) -> None:
    # Five faults on creates were more than the three attempts one or two records get.
    result = await cli(None, "demo", "--count", str(count))
    assert result.code == 0, result.out
    assert f"{count} from this demo, 0 duplicated" in result.out


async def test_demo_runs_on_the_embedded_emulator() -> None:
    result = await cli(None, "demo", "--count", "60")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert any(line.startswith("2. sync again (converges)") and "unchanged 60" in line for line in lines)
    assert any("3. sync with 3 renamed" in line and "updated 3" in line for line in lines)
    assert any("60 from this demo, 0 duplicated" in line for line in lines)


WITH_DEFAULT_SIGINT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
    " sys.argv[0] = 'workos-orgs'; runpy.run_module('workos_orgs', run_name='__main__')"
)
"""``python -m workos_orgs`` with Python's own Ctrl-C handler, whatever the test run inherited."""


async def test_ctrl_c_during_sync_stops_cleanly_and_says_how_far_it_got(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "many.jsonl", [{"external_id": f"m-{n}", "name": f"M {n}"} for n in range(400)])
    async with Gate(emulator.url) as gate:
        # The first ten records go through; the lookups of the next two (one per worker) are
        # held, unanswered: when both have arrived, the child has finished exactly ten records
        # and cannot finish the rest before it is interrupted, however slow the machine.
        stuck = gate.hold("GET", "/organizations/external_id/*", skip=10, times=2)
        environment = child_environment(emulator.api_key, gate.url)
        # The child takes Ctrl-C as it does in a terminal. A test run started in the background
        # by a shell without job control inherits SIGINT *ignored*, and Python then installs no
        # KeyboardInterrupt handler in the child; this puts the default handler back first.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WITH_DEFAULT_SIGINT, "sync", str(path), "--concurrency", "2",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
        )  # fmt: skip
        await stuck.arrived(2)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 130, err.decode()
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith("interrupted: created ")
    assert line.endswith("before stopping; run it again to finish (it converges)")
    created = int(line.split("created ")[1].split(",")[0])
    assert 10 <= created < 400
    assert "Traceback" not in err.decode()


async def test_ctrl_c_between_an_updates_two_steps_says_what_the_first_changed(
    emulator: Emulator, tmp_path: Path
) -> None:
    # The first step had removed thirty metadata keys; the report said "failed 0" and the
    # keys were gone without a word.
    old = {f"old_{n}": "x" for n in range(30)}
    emulator.seed([{"name": "Acme", "external_id": "x", "metadata": old}])
    path = write_jsonl(
        tmp_path / "one.jsonl", [{"external_id": "x", "name": "Acme", "metadata": {f"new_{n}": "y" for n in range(30)}}]
    )
    async with Gate(emulator.url) as gate:
        second = gate.hold("PUT", "/organizations/*", skip=1, times=1)  # the first step passes
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WITH_DEFAULT_SIGINT, "sync", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=child_environment(emulator.api_key, gate.url),
        )  # fmt: skip
        await second.arrived()
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 130, err.decode()
    failed, interrupted = err.decode().strip().splitlines()[-2:]
    assert failed.startswith("failed x: ")
    assert "the sync stopped during this record's update" in failed
    assert "metadata.old_0" in failed
    assert interrupted.startswith("interrupted: ")
    assert "failed 1" in interrupted


async def _interrupted(
    emulator: Emulator, *args: str, hold: str, skip: int, reader_gone: bool = False
) -> tuple[int, str, str]:
    """Run the command line (Python's own Ctrl-C handler) until the request after `skip`
    requests to the path `hold` has arrived and is held, then press Ctrl-C: exit code, out, err.

    With `reader_gone`, the reader of its output goes first, as a pipeline's does when Ctrl-C
    reaches every process in it (``workos-orgs export | jq .``).
    """
    async with Gate(emulator.url) as gate:
        stuck = gate.hold("GET", hold, skip=skip, times=1)
        environment = child_environment(emulator.api_key, gate.url)
        reading, writing = os.pipe()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WITH_DEFAULT_SIGINT, *args,
            stdout=writing, stderr=asyncio.subprocess.PIPE, env=environment,
        )  # fmt: skip
        os.close(writing)
        with os.fdopen(reading, "rb") as reader:
            await stuck.arrived(1)
            if reader_gone:
                reader.close()
            process.send_signal(signal.SIGINT)
            out = b"" if reader_gone else await asyncio.wait_for(asyncio.to_thread(reader.read), 60)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.parametrize(
    "args",
    [["export"], ["list", "--json", "--max-items", "250"], ["sync", "{path}", "--dry-run", "--concurrency", "1"]],
    ids=["export", "list", "sync dry run"],
)
async def test_ctrl_c_with_the_reader_gone_too_still_says_it_was_interrupted(
    emulator: Emulator, tmp_path: Path, args: list[str]
) -> None:
    # What was buffered for the reader had nowhere to go: Python failed to flush it as it
    # exited (status 120), or export took it for a reader that had all it wanted (status 0).
    emulator.seed([{"name": f"Org {n}", "external_id": f"m-{n}"} for n in range(250)])
    path = write_jsonl(tmp_path / "m.jsonl", [{"external_id": f"m-{n}", "name": f"Renamed {n}"} for n in range(50)])
    hold, skip = ("/organizations/external_id/*", 5) if args[0] == "sync" else ("/organizations", 1)
    command = [str(path) if arg == "{path}" else arg for arg in args]
    code, _, err = await _interrupted(emulator, *command, hold=hold, skip=skip, reader_gone=True)
    assert code == 130, err
    assert "interrupted" in err
    assert "Exception ignored" not in err
    assert "Traceback" not in err


async def test_ctrl_c_during_export_says_how_far_it_got(emulator: Emulator) -> None:
    emulator.seed([{"name": f"Org {n}"} for n in range(250)])
    code, out, err = await _interrupted(emulator, "export", hold="/organizations", skip=1)
    assert code == 130, err
    (line,) = err.strip().splitlines()[-1:]
    assert line.startswith("interrupted: ")
    assert line.endswith(" organizations exported before stopping")
    exported = int(line.removeprefix("interrupted: ").split()[0].replace(",", ""))
    written = len(out.splitlines())
    assert written <= 100  # the first page's, no more: the second is held
    # Ctrl-C may land between writing an organization and counting it.
    assert exported in (written, written - 1)


async def test_ctrl_c_during_sync_json_ends_its_output_with_the_report(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "many.jsonl", [{"external_id": f"m-{n}", "name": f"M {n}"} for n in range(50)])
    code, out, err = await _interrupted(
        emulator, "sync", str(path), "--json", "--concurrency", "1", hold="/organizations/external_id/*", skip=5
    )
    assert code == 130, err
    *events, last = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 5
    assert last["report"]["created"] == 5
    assert last["report"]["ok"] is False
    assert last["report"]["stopped"] == "KeyboardInterrupt: interrupted"
    assert last["report"]["elapsed"] > 0  # it said 0.0: the time the job ran was not kept
