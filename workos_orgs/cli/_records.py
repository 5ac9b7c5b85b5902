"""Reading sync records from JSON Lines or CSV, and writing organizations as JSON Lines.

Reading is strict.  A record line that cannot be used becomes an `InvalidRecordError` naming
its line, so the sync counts it as failed and goes on: JSON that does not parse or gives a
key twice, a key the record does not know, a CSV row whose quote is never closed (a field cannot span lines) or
whose field count differs from the header's.  A UTF-8 byte-order mark (Excel's "CSV UTF-8")
is accepted.  A file that cannot be read at all (no such file, a CSV header without
``external_id`` and ``name`` or with a column sync does not know) fails before the first record.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import orjson

from .._bulk import InvalidRecordError, OrganizationRecord, external_id_of

RecordFormat = Literal["jsonl", "csv"]
FORMATS: tuple[RecordFormat, ...] = ("jsonl", "csv")
METADATA_COLUMN_PREFIX = "metadata."
CSV_COLUMNS = ("external_id", "name", "domains")
BYTE_ORDER_MARK = "\ufeff"


class _Refusal(NamedTuple):
    """Why a line is not a record, when the external id it gives could be read: the failure
    names it, and it does not hold back a prune (its organization is known to be wanted)."""

    message: str
    external_id: str | None


Fields = dict[str, Any] | str | _Refusal
"""What a line reads as: a record's fields, or why it is not one (with its external id, if read)."""


def format_of(path: str, explicit: RecordFormat | None) -> RecordFormat:
    """The format named, or the one the file name says (``.csv``; JSON Lines otherwise)."""
    if explicit is not None:
        return explicit
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def read_records(stream: IO[str], fmt: RecordFormat, source: str) -> Iterator[OrganizationRecord | InvalidRecordError]:
    """Each record of `stream`, or the error that says why line N is not one.

    A CSV header is read at once: `ValueError` when sync cannot use it.
    """
    lines = _lines(stream)
    read = _json_fields if fmt == "jsonl" else _csv_fields(_header(lines, source))
    return _read_lines(lines, source, read)


def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        yield number, line.removeprefix(BYTE_ORDER_MARK) if number == 1 else line


def _not_utf8(text: str) -> bool:
    # Files are opened with errors="surrogateescape": undecodable bytes become lone surrogates.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _record(data: dict[str, Any], where: str) -> OrganizationRecord | InvalidRecordError:
    try:
        return OrganizationRecord.from_mapping(data, source=where)
    except InvalidRecordError as error:
        return error


def _read_lines(
    lines: Iterator[tuple[int, str]], source: str, read: Callable[[str], Fields]
) -> Iterator[OrganizationRecord | InvalidRecordError]:
    """Each line that is not blank, made a record from the fields `read` finds in it (or a
    failed record naming the line and what `read` said is wrong with it)."""
    for number, line in lines:
        if not line.strip():
            continue
        where = f"{source} line {number}"
        fields = "not valid UTF-8." if _not_utf8(line) else read(line)
        if isinstance(fields, str):
            yield InvalidRecordError(fields, source=where)
        elif isinstance(fields, _Refusal):
            yield InvalidRecordError(fields.message, source=where, external_id=fields.external_id)
        else:
            yield _record(fields, where)


def _json_fields(line: str) -> Fields:
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        columns = {column.strip() for column in line.split(",")}
        hint = " (a CSV header? For CSV, pass --format csv)" if {"external_id", "name"} <= columns else ""
        return f"not valid JSON ({error}){hint}."
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}."
    try:
        repeated = _repeated_key(line)
    except RecursionError:  # deeper than Python's parser goes, though orjson's went
        return "nests arrays or objects too deeply to check."
    if repeated is not None:
        # JSON parsers keep the last one: which the line meant cannot be told.
        return f"gives the key {repeated!r} twice."
    return data


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Repeated(key)
            seen.add(key)
    return data


def _repeated_key(line: str) -> str | None:
    """A key an object of this (valid) JSON line gives twice, if any."""
    try:
        json.loads(line, object_pairs_hook=_refuse_repeats)
    except _Repeated as repeated:
        return repeated.key
    return None


def _header(lines: Iterator[tuple[int, str]], source: str) -> list[str]:
    first = next(lines, None)
    if first is None:
        raise ValueError(f"{source}: the file is empty; a CSV starts with a header line such as external_id,name.")
    try:
        header = next(csv.reader([first[1]], strict=True))
    except csv.Error as error:
        raise ValueError(f"{source}: the CSV header is not readable ({error}).") from None
    missing = {"external_id", "name"} - set(header)
    if missing:
        raise ValueError(
            f"{source}: the CSV header must have columns external_id and name (missing {', '.join(sorted(missing))});"
            f" it reads {first[1].strip()[:80]!r}{_header_hint(first[1])}."
        )
    for column in header:
        if column not in CSV_COLUMNS and not (column.startswith(METADATA_COLUMN_PREFIX) and column != "metadata."):
            raise ValueError(
                f"{source}: unknown CSV column {column!r}; the columns are external_id, name, domains and"
                f" {METADATA_COLUMN_PREFIX}<key>."
            )
    if len(set(header)) != len(header):
        raise ValueError(f"{source}: the CSV header names a column twice.")
    return header


def _header_hint(line: str) -> str:
    """What a header line that names no known column may be, when it looks like it."""
    if "\x00" in line or _not_utf8(line):
        return ": is the file UTF-16 or another encoding? Save it as UTF-8"
    for separator, called in ((";", "';'"), ("\t", "tabs")):
        if separator in line and "," not in line:
            return f": the file looks separated by {called}; sync reads comma-separated files"
    return ""


def _csv_fields(header: list[str]) -> Callable[[str], Fields]:
    """Columns ``external_id``, ``name``, and optionally ``domains`` and ``metadata.<key>``.

    ``domains`` holds names separated by ``;`` (spaces around them ignored), each optionally
    ``:verified`` or ``:pending`` (``acme.com:verified; acme.dev``); without the column,
    domains are left alone, an empty cell removes them all, and a cell of separators alone
    (``;;``) fails its row.  With ``metadata.<key>`` columns, a row's
    metadata is the keys whose cells are not empty (others are removed); without any, it
    is left alone.  Each row is one line: a field cannot span lines.
    """
    metadata_columns = [column for column in header if column.startswith(METADATA_COLUMN_PREFIX)]

    def read(line: str) -> Fields:
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as error:
            hint = "; a quote is not closed on this line" if "end of data" in str(error) else ""
            return f"not readable as CSV ({error}{hint})."
        if len(fields) != len(header):
            return f"has {len(fields)} fields where the header has {len(header)} (a comma in an unquoted value?)."
        row = dict(zip(header, fields, strict=True))
        data: dict[str, Any] = {"external_id": row["external_id"], "name": row["name"]}
        if "domains" in row:
            cell = row["domains"]
            entries = [entry for entry in (entry.strip() for entry in cell.split(";")) if entry]
            if cell.strip() and not entries:
                # Not an empty cell, which removes every domain: what it meant cannot be told.
                return _Refusal(
                    f"has a domains cell that names no domain ({cell!r}); leave it empty to remove every domain.",
                    external_id_of(data),
                )
            domains = []
            for entry in entries:
                domain, sep, state = (part.strip() for part in entry.partition(":"))
                # "a.com:" says a state and gives none: refused by the record, not made pending.
                domains.append({"domain": domain, "state": state if sep else "pending"})
            data["domains"] = domains
        if metadata_columns:
            data["metadata"] = {
                column.removeprefix(METADATA_COLUMN_PREFIX): row[column] for column in metadata_columns if row[column]
            }
        return data

    return read


def open_records(path: str) -> IO[str]:
    """The file at `path` (``-``: standard input) as text."""
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline="")
    return Path(path).open(encoding="utf-8", errors="surrogateescape", newline="")


def dumps_line(value: Any) -> bytes:
    """One JSON Lines line."""
    return orjson.dumps(value) + b"\n"
