"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

TEST_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.24",
    "anyio>=4",  # the pytest plugin is tested under anyio too
    "hypothesis>=6.100",
    "jsonschema>=4.18",
    "openapi-spec-validator>=0.7",
]
# The official SDK the benchmarks compare against, pinned so runs stay comparable.
OFFICIAL_SDK = "workos==10.8.0"
CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"
SUPPORTED = ["3.11", "3.12", "3.13"]
# The share of public symbols whose types pyright --verifytypes finds complete.
TYPE_COMPLETENESS_MIN = 0.95


def _runs(executable: str | None) -> bool:
    # A pyenv shim exists on PATH even when its version is not active, and then fails.
    return executable is not None and subprocess.run([executable, "-c", ""], capture_output=True).returncode == 0


def _installed_pythons() -> list[str]:
    """The current interpreter, then every other supported one found on PATH or in pyenv.

    Interpreters found only under pyenv are linked into `.nox/interpreters`, which goes to
    the front of PATH, so nox finds them by their usual names.
    """
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    links = Path(__file__).parent / ".nox" / "interpreters"
    found = [CURRENT]
    for version in SUPPORTED:
        name = f"python{version}"
        if version == CURRENT:
            continue
        if _runs(shutil.which(name)):
            found.append(version)
            continue
        for candidate in sorted(pyenv_versions.glob(f"{version}.*/bin/{name}")):
            if _runs(str(candidate)):
                links.mkdir(parents=True, exist_ok=True)
                (links / name).unlink(missing_ok=True)
                (links / name).symlink_to(candidate)
                os.environ["PATH"] = f"{links}{os.pathsep}{os.environ['PATH']}"
                found.append(version)
                break
    return found


@nox.session(python=_installed_pythons())
def tests(session: nox.Session) -> None:
    """Run the test suite against the embedded emulator."""
    session.install(".", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session(python=CURRENT)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=CURRENT)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package, and pyright's measure of how complete its public types are."""
    session.install(".", "mypy", "pytest", "pyright")
    session.run("mypy", "--strict", "workos_orgs")
    # --verifytypes exits 1 below 100%; the score itself is held to a floor.
    report = str(
        session.run(
            "pyright",
            "--verifytypes",
            "workos_orgs",
            "--ignoreexternal",
            "--outputjson",
            silent=True,
            success_codes=[0, 1],
            env={"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        )
    )
    # The JSON report, without any line the pyright wrapper may print around it.
    score = json.loads(report[report.index("{") : report.rindex("}") + 1])["typeCompleteness"]["completenessScore"]
    session.log(f"pyright --verifytypes: {score:.1%} of the public symbols have complete types")
    if score < TYPE_COMPLETENESS_MIN:
        session.error(
            f"type completeness {score:.1%} is below {TYPE_COMPLETENESS_MIN:.0%}; run the command to see which"
        )


@nox.session(python=CURRENT)
def bench(session: nox.Session) -> None:
    """Benchmarks against the official SDK and raw aiohttp; rewrites benchmarks/RESULTS.md and the chart.

    Prints the README's Performance table. ``nox -s bench -- --quick`` checks the suite in seconds.
    """
    session.install(".", OFFICIAL_SDK, "matplotlib")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(python=CURRENT)
def soak(session: nox.Session) -> None:
    """The fault storm and the emulator under load, bounded in time; prints the figures for the README."""
    session.install(".", *TEST_DEPS)
    session.run("python", "benchmarks/soak.py", *session.posargs)
