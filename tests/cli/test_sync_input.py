"""`workos-orgs sync` reads its input strictly and says what it will change, then what it changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workos_orgs.emulator import Emulator

from .test_cli import RECORDS, cli, write_jsonl


async def external_ids(emulator: Emulator) -> list[str]:
    result = await cli(emulator, "list", "--json", "--order", "asc")
    return [org["external_id"] for org in result.json_lines()]


async def test_an_unterminated_quote_fails_its_row_alone(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text('external_id,name\nc-1,Acme\nc-2,"Globex\nc-3,Initech\nc-4,Umbrella\n')
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"failed (no external_id): {path} line 3: not readable as CSV" in result.err
    assert "a quote is not closed on this line" in result.err
    assert "created 3, updated 0, unchanged 0, deleted 0, failed 1" in result.err
    assert sorted(await external_ids(emulator)) == ["c-1", "c-3", "c-4"]


async def test_csv_on_stdin_read_as_json_lines_says_how_to_read_it_as_csv(emulator: Emulator) -> None:
    result = await cli(emulator, "sync", "-", stdin=b"external_id,name\nc-1,Acme\n")
    assert result.code == 1
    assert "stdin line 1: not valid JSON" in result.err
    assert "a CSV header? For CSV, pass --format csv" in result.err
    assert await external_ids(emulator) == []
    result = await cli(emulator, "sync", "-", "--format", "csv", stdin=b"external_id,name\nc-1,Acme\n")
    assert result.code == 0, result.err
    assert await external_ids(emulator) == ["c-1"]


async def test_a_row_with_a_stray_comma_fails_naming_its_line(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name\nc-1,Acme, Inc.\nc-2,Globex\n")
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"{path} line 2: has 3 fields where the header has 2" in result.err
    assert await external_ids(emulator) == ["c-2"]


@pytest.mark.parametrize("name", ["orgs.csv", "orgs.jsonl"])
async def test_a_byte_order_mark_is_accepted(emulator: Emulator, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = "external_id,name\nc-1,Acme\n" if name.endswith(".csv") else json.dumps(RECORDS[2]) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = await cli(emulator, "sync", str(path))
    assert (result.code, result.err.splitlines()[-1].split(" in ")[0]) == (
        0,
        "sync: created 1, updated 0, unchanged 0, deleted 0, failed 0",
    )


@pytest.mark.parametrize("key", ["domain", "metdata"])
async def test_an_unknown_key_fails_the_record_naming_the_key(emulator: Emulator, tmp_path: Path, key: str) -> None:
    path = write_jsonl(
        tmp_path / "orgs.jsonl", [{"external_id": "c-1", "name": "Acme", key: ["acme.example"]}, RECORDS[2]]
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"failed c-1: {path} line 1: unknown key {key!r}" in result.err
    assert await external_ids(emulator) == ["c-3"]


async def test_an_unknown_csv_column_is_refused_before_any_write(emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name,domain\nc-1,Acme,acme.example\n")
    result = await cli(emulator, "sync", str(path))
    assert result.code == 2
    assert "unknown CSV column 'domain'" in result.err
    assert await external_ids(emulator) == []


async def test_a_csv_without_domain_or_metadata_columns_leaves_them_alone(emulator: Emulator, tmp_path: Path) -> None:
    emulator.seed([{"name": "Acme", "external_id": "c-1", "domains": ["acme.example"], "metadata": {"tier": "gold"}}])
    path = tmp_path / "orgs.csv"
    path.write_text("external_id,name\nc-1,Acme Corp\n")
    result = await cli(emulator, "sync", str(path))
    assert result.code == 0, result.err
    (acme,) = (await cli(emulator, "get", "--external-id", "c-1", "--json")).json_lines()
    assert acme["name"] == "Acme Corp"
    assert [domain["domain"] for domain in acme["domains"]] == ["acme.example"]
    assert acme["metadata"] == {"tier": "gold"}


async def test_sync_json_prints_each_event_then_the_report(emulator: Emulator, tmp_path: Path) -> None:
    emulator.seed([{"name": "Acme", "external_id": "c-1"}])
    path = write_jsonl(tmp_path / "orgs.jsonl", [{"external_id": "c-1", "name": "Acme Corp"}, {"external_id": "c-9"}])
    result = await cli(emulator, "sync", str(path), "--json")
    assert result.code == 1
    *events, report = result.json_lines()
    by_line = {event["source"]: event for event in events}
    updated = by_line[f"{path} line 1"]
    assert (updated["event"], updated["external_id"], updated["dry_run"]) == ("updated", "c-1", False)
    assert updated["organization_id"].startswith("org_")
    assert updated["changes"] == [{"field": "name", "old": "Acme", "new": "Acme Corp"}]
    failed = by_line[f"{path} line 2"]
    assert failed["event"] == "failed"
    assert failed["error"]["type"] == "InvalidRecordError"
    assert "name is required" in failed["error"]["message"]
    assert report["report"]["updated"] == 1
    assert report["report"]["failed"] == 1
    assert report["report"]["ok"] is False
    assert report["report"]["failures"][0]["source"] == f"{path} line 2"


async def test_dry_run_prints_each_change_with_old_and_new(emulator: Emulator, tmp_path: Path) -> None:
    emulator.seed([{"name": "Acme", "external_id": "c-1", "metadata": {"tier": "gold"}}])
    path = write_jsonl(
        tmp_path / "orgs.jsonl",
        [{"external_id": "c-1", "name": "Acme", "metadata": {"tier": "silver"}}, {"external_id": "c-2", "name": "New"}],
    )
    (stale,) = emulator.seed([{"name": "Stale", "external_id": "stale"}])
    result = await cli(emulator, "sync", str(path), "--dry-run", "--prune", "--concurrency", "1")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"would update c-1 ({path} line 1)",
        "  metadata.tier: 'gold' -> 'silver'",
        f"would create c-2 ({path} line 2)",
        "  name: None -> 'New'",
        f"would delete stale ({stale['id']})",
    ]
    assert await external_ids(emulator) == ["c-1", "stale"]


async def test_duplicate_external_ids_in_a_file_fail_naming_the_first_line(emulator: Emulator, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "orgs.jsonl",
        [{"external_id": "c-1", "name": "First"}, {"external_id": "c-1", "name": "Second"}],
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"failed c-1: {path} line 2: external_id 'c-1' repeats {path} line 1" in result.err
    (acme,) = (await cli(emulator, "get", "--external-id", "c-1", "--json")).json_lines()
    assert acme["name"] == "First"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"external_id;name\nc-1;Acme\n", "separated by ';'"),
        (b"external_id\tname\nc-1\tAcme\n", "separated by tabs"),
        ("external_id,name\nc-1,Acme\n".encode("utf-16"), "UTF-16"),
        (b"", "the file is empty"),
    ],
    ids=["semicolons", "tabs", "utf-16", "empty"],
)
async def test_a_csv_header_sync_cannot_read_says_why(
    emulator: Emulator, tmp_path: Path, content: bytes, said: str
) -> None:
    # Each said only "missing external_id, name", hiding the real problem.
    path = tmp_path / "orgs.csv"
    path.write_bytes(content)
    result = await cli(emulator, "sync", str(path))
    assert result.code == 2
    assert said in result.err
    assert "Traceback" not in result.err


async def test_a_json_line_that_gives_a_key_twice_fails_naming_it(emulator: Emulator, tmp_path: Path) -> None:
    # The last one won, silently.
    path = tmp_path / "orgs.jsonl"
    path.write_text(
        '{"external_id": "n4", "name": "N4", "name": "dupkey"}\n'
        '{"external_id": "n5", "name": "N5", "metadata": {"tier": "a", "tier": "b"}}\n'
        '{"external_id": "n6", "name": "N6"}\n'
    )
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"{path} line 1: gives the key 'name' twice" in result.err
    assert f"{path} line 2: gives the key 'tier' twice" in result.err
    assert await external_ids(emulator) == ["n6"]


async def test_a_json_line_nested_too_deep_to_check_fails_alone(emulator: Emulator, tmp_path: Path) -> None:
    # Checking its keys overflowed Python's recursion limit, which stopped the whole sync.
    deep = '{"external_id": "d1", "name": "D", "metadata": ' + "[" * 1000 + "]" * 1000 + "}"
    path = tmp_path / "orgs.jsonl"
    path.write_text(deep + "\n" + '{"external_id": "d2", "name": "D2"}\n')
    result = await cli(emulator, "sync", str(path))
    assert result.code == 1
    assert f"{path} line 1: " in result.err
    assert "reading the records failed" not in result.err
    assert await external_ids(emulator) == ["d2"]
