"""Reading sync records from JSON Lines or CSV, and writing organizations as JSON Lines.

A record line that cannot be read becomes an `InvalidRecordError` in the stream, so the
sync counts it as a failed record and goes on; a file that cannot be read at all is an
`OSError` before the first record.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

import attrs
import orjson

from ._contract import format_timestamp
from ._models import Organization, OrganizationDomain
from ._sync import InvalidRecordError

RecordFormat = Literal["jsonl", "csv"]
FORMATS: tuple[RecordFormat, ...] = ("jsonl", "csv")
METADATA_COLUMN_PREFIX = "metadata."


def format_of(path: str, explicit: RecordFormat | None) -> RecordFormat:
    """The format named, or the one the file name says (``.csv``; JSON Lines otherwise)."""
    if explicit is not None:
        return explicit
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def read_records(stream: IO[str], fmt: RecordFormat, source: str) -> Iterator[Mapping[str, Any] | InvalidRecordError]:
    """Each record of `stream`, or the error that says why line N is not one."""
    yield from (_jsonl if fmt == "jsonl" else _csv)(stream, source)


def _not_utf8(text: str) -> bool:
    # Files are opened with errors="surrogateescape": undecodable bytes become lone surrogates.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _jsonl(stream: IO[str], source: str) -> Iterator[Mapping[str, Any] | InvalidRecordError]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        if _not_utf8(line):
            yield InvalidRecordError(f"{source} line {number}: not valid UTF-8.")
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield InvalidRecordError(f"{source} line {number}: not valid JSON ({error}).")
            continue
        if not isinstance(record, dict):
            yield InvalidRecordError(f"{source} line {number}: expected a JSON object, got {type(record).__name__}.")
            continue
        yield record


def _csv(stream: IO[str], source: str) -> Iterator[Mapping[str, Any] | InvalidRecordError]:
    """Columns ``external_id``, ``name``, ``domains`` and ``metadata.<key>``.

    ``domains`` holds names separated by spaces or ``;``, each optionally ``:verified`` or
    ``:pending`` (``acme.com:verified; acme.dev``); an empty ``metadata.<key>`` cell leaves
    that key out.
    """
    reader = csv.DictReader(stream)
    missing = {"external_id", "name"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(
            f"{source}: the CSV header must have columns external_id and name (missing {', '.join(sorted(missing))})."
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. a field larger than the csv module allows
            # The csv module has not counted the line it failed on.
            yield InvalidRecordError(f"{source} line {reader.line_num + 1}: not readable as CSV ({error}).")
            continue
        if any(_not_utf8(value) for value in row.values() if isinstance(value, str)):
            yield InvalidRecordError(f"{source} line {reader.line_num}: not valid UTF-8.")
            continue
        domains = []
        for entry in (row.get("domains") or "").replace(";", " ").split():
            domain, _, state = entry.partition(":")
            domains.append({"domain": domain, "state": state or "pending"})
        metadata = {
            column[len(METADATA_COLUMN_PREFIX) :]: value
            for column, value in row.items()
            if column and column.startswith(METADATA_COLUMN_PREFIX) and value
        }
        yield {"external_id": row["external_id"], "name": row["name"], "domains": domains, "metadata": metadata}


def open_records(path: str) -> IO[str]:
    """The file at `path` (``-``: standard input) as text."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline="")
    return Path(path).open(encoding="utf-8", errors="surrogateescape", newline="")


def domain_json(domain: OrganizationDomain) -> dict[str, Any]:
    """The domain in the API's own JSON shape."""
    return {"object": "organization_domain", **_plain(attrs.asdict(domain, recurse=False))}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: format_timestamp(value) if isinstance(value, datetime) else value for key, value in values.items()}


def organization_json(organization: Organization) -> dict[str, Any]:
    """The organization in the API's own JSON shape (so an export can be seeded back)."""
    values = _plain(attrs.asdict(organization, recurse=False))
    values["domains"] = [domain_json(domain) for domain in organization.domains]
    values["metadata"] = dict(organization.metadata)
    return {
        "object": "organization",
        **{key: value for key, value in values.items() if value is not None or key == "external_id"},
    }


def dumps_line(value: Any) -> bytes:
    return orjson.dumps(value) + b"\n"
