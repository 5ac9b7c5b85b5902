"""``nox -s soak``: the fault storm and the emulator under load, bounded in time.

Runs, one after another (each a separate process, so one cannot disturb another):

1. the fault storm (`storm.py`), with the emulator's Idempotency-Key support on and off;
2. the emulator under load (`emulator_load.py`): in memory, with ``--db``, and with a
   ``kill -9`` halfway through and a restart on the same file.

    python benchmarks/soak.py [--seconds S]     (default 60 for the storm, 30 for the load)

Exits non-zero if any step reports a loss, a duplicate, an untyped error or an uninjected 5xx.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    cli.add_argument("--seconds", type=float, help="how long each step runs (default: 60 s storm, 30 s load)")
    args = cli.parse_args(argv)
    storm_seconds = f"{args.seconds or 60:g}"
    load_seconds = f"{args.seconds or 30:g}"
    steps = [
        ["storm.py", "--seconds", storm_seconds, "--workers", "32", "--rate", "0.1"],
        ["emulator_load.py", "--seconds", load_seconds, "--clients", "50"],
        ["emulator_load.py", "--seconds", load_seconds, "--clients", "50", "--db"],
        ["emulator_load.py", "--seconds", load_seconds, "--clients", "50", "--kill"],
    ]
    failed = []
    started = time.monotonic()
    for step in steps:
        print(f"\n## python benchmarks/{' '.join(step)}\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / step[0]), *step[1:]], check=False).returncode != 0:
            failed.append(" ".join(step))
    print(
        f"\nsoak finished in {time.monotonic() - started:.0f}s: "
        + ("all steps passed" if not failed else f"FAILED: {failed}")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
