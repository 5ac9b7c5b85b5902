"""``python -m workos_orgs``: the same as the ``workos-orgs`` command."""

from .cli import run

run()
