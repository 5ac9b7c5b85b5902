"""CI checks what the README promises: its command is the README's, line for line."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_command_and_nox_runs_every_check() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"exactly what CI runs\):\n\n```console\n(.+)\n```", readme)
    assert match is not None, "README's quick start must show the command CI runs"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == match.group(1) == "python -m pip install nox && nox"
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    assert 'nox.options.sessions = ["lint", "typecheck", "tests"]' in noxfile
