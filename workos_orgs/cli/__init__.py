"""The ``workos-orgs`` command line: an application built on the SDK, kept apart from it."""

from ._app import main, run

__all__ = ["main", "run"]
