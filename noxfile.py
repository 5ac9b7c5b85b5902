"""Developer tasks: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

TEST_DEPS = ["pytest>=8", "pytest-asyncio>=0.24", "hypothesis>=6.100"]
CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"
SUPPORTED = ["3.11", "3.12", "3.13"]


def _installed_pythons() -> list[str]:
    """The current interpreter, then every other supported one found on PATH or in pyenv."""
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [CURRENT]
    for version in SUPPORTED:
        if version == CURRENT:
            continue
        if shutil.which(f"python{version}") is None:
            for candidate in sorted(pyenv_versions.glob(f"{version}.*/bin")):
                if (candidate / f"python{version}").exists():
                    os.environ["PATH"] += os.pathsep + str(candidate)
                    break
        if shutil.which(f"python{version}") is not None:
            found.append(version)
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
    """mypy --strict on the package."""
    session.install(".", "mypy", "pytest")
    session.run("mypy", "--strict", "workos_orgs")
