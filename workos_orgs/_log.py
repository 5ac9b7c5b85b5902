"""The SDK's logger, ``workos_orgs``: each attempt at DEBUG (method, path, status, request id,
attempt, elapsed time; never the key), each retry at INFO, and what a sync could tell no one
else (an ``on_event`` that raised as a cancelled sync told it of a failure)."""

from __future__ import annotations

import logging
from typing import Final

logger: Final = logging.getLogger("workos_orgs")
