"""Processes beside the benchmark: the emulator, a bare aiohttp.web server, a busy loop; the load."""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import orjson
from _shapes import organizations

from workos_orgs.emulator import DEFAULT_API_KEY

STARTUP_SECONDS = 180
BUSY_LOOP_START_SECONDS = 0.5
BARE_SERVER = Path(__file__).resolve().parent / "_bare_server.py"
CHECKOUT_PACKAGE = Path(__file__).resolve().parent.parent / "workos_orgs"


def package_differs(imported: Path, checkout: Path = CHECKOUT_PACKAGE) -> str | None:
    """The first source file in which the package Python imports (at `imported`) differs from
    this checkout's, or None when they are the same.

    The suite measures whatever ``import workos_orgs`` finds: an install made before the
    checkout changed (``nox -R`` reuses one without installing again) would be measured in its
    place, and its figures written down as this checkout's.
    """
    if imported.resolve() == checkout.resolve():
        return None
    theirs = {path.relative_to(imported) for path in imported.rglob("*.py")}
    ours = {path.relative_to(checkout) for path in checkout.rglob("*.py")}
    for name in sorted(theirs ^ ours):
        return f"{name.as_posix()} (in one of them only)"
    for name in sorted(ours):
        if (imported / name).read_bytes() != (checkout / name).read_bytes():
            return name.as_posix()
    return None


@attrs.frozen
class EmulatorProcess:
    """A server in its own process, and where it listens."""

    url: str
    api_key: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def _server(command: list[str]) -> Iterator[EmulatorProcess]:
    """Run `command` until the block ends; it prints ``listening on URL`` once it serves."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        # Seeding 50,000 organizations takes tens of seconds on a busy machine: wait that long, not forever.
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
        banner = process.stdout.readline().decode() if ready else ""
        if "listening on " not in banner:
            code = process.poll()
            why = f"exited with code {code}" if code is not None else f"did not start within {STARTUP_SECONDS} s"
            if code is None:
                process.kill()
            raise RuntimeError(
                f"{command[1:3]} {why}: {banner!r} {process.stderr.read().decode() if process.stderr else ''}"
            )
        yield EmulatorProcess(banner.split("listening on ", 1)[1].split()[0], DEFAULT_API_KEY, process)
    finally:
        process.terminate()
        process.wait(timeout=30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def emulator_process(*args: str) -> contextlib.AbstractContextManager[EmulatorProcess]:
    """``python -m workos_orgs.emulator --port 0 ARGS`` until the block ends."""
    return _server([sys.executable, "-m", "workos_orgs.emulator", "--port", "0", *args])


@contextlib.contextmanager
def emulator_with_samples(count: int, shape: str) -> Iterator[EmulatorProcess]:
    """The emulator in its own process, seeded with `count` sample organizations of `shape`,
    until the block ends (the seed file lives in a temporary directory for as long)."""
    with tempfile.TemporaryDirectory(prefix="workos-seed-") as directory:
        seed = write_seed(Path(directory) / "seed.json", count, shape)
        with emulator_process("--seed", str(seed)) as emulator:
            yield emulator


def bare_server_process(page: Path, single: Path) -> contextlib.AbstractContextManager[EmulatorProcess]:
    """A bare aiohttp.web server that returns the bytes in `page` and `single`, until the block ends."""
    return _server([sys.executable, str(BARE_SERVER), "--page", str(page), "--single", str(single)])


@contextlib.contextmanager
def busy_loop() -> Iterator[subprocess.Popen[bytes]]:
    """One process spinning on a core until the block ends: the machine made busy on purpose."""
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        # Past the interpreter's start-up, so the first timed round already has it spinning.
        time.sleep(BUSY_LOOP_START_SECONDS)
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process `pid` has used so far (Linux); NaN where /proc has no figure."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    # Fields 14 and 15 of the file (utime, stime), counted after the pid and the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (zeros where the system has none)."""
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


def write_seed(path: Path, count: int, shape: str) -> Path:
    """A seed file of `count` sample organizations of `shape` (see `_shapes`)."""
    entries = [organization.seed_entry() for organization in organizations(shape, count)]
    path.write_bytes(orjson.dumps({"organizations": entries}))
    return path
