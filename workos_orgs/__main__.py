"""``python -m workos_orgs``: the same as the ``workos-orgs`` command."""

from ._cli import run

run()
