"""Shared benchmark plumbing: the emulator in its own process, so only client work is timed."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from workos_orgs.emulator import DEFAULT_API_KEY

STARTUP_SECONDS = 30


@attrs.frozen
class EmulatorProcess:
    url: str
    api_key: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def emulator_process(*args: str) -> Iterator[EmulatorProcess]:
    """``python -m workos_orgs.emulator --port 0 ARGS`` until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workos_orgs.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        banner = process.stdout.readline().decode()
        if "listening on " not in banner or time.monotonic() > deadline:
            raise RuntimeError(
                f"the emulator did not start: {banner!r} {process.stderr.read().decode() if process.stderr else ''}"
            )
        yield EmulatorProcess(banner.split("listening on ", 1)[1].split()[0], DEFAULT_API_KEY, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def write_seed(path: Path, count: int) -> Path:
    """A seed file of `count` sample organizations (1-3 domains each, and metadata)."""
    import orjson

    from workos_orgs.cli._sample import sample_records, seed_entry

    path.write_bytes(orjson.dumps({"organizations": [seed_entry(record) for record in sample_records(count)]}))
    return path
