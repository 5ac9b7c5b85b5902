"""The package's version, as installed."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final


def _package_version() -> str:
    try:
        return version("workos-orgs")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"


VERSION: Final = _package_version()
