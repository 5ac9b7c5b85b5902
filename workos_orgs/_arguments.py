"""Command lines that never show an API key: argparse's parser, its usage errors hiding the
keys a command line may hold.

argparse quotes what it could not place -- a key after a misspelt ``--apikey``, where a command
was due, or given to an option that wanted a number -- so the keys are found in the command
line first, by where they stand and by how they look, and cut out of every usage error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import NoReturn

from ._client import API_KEY_ENV_VAR
from ._redaction import LOOKS_LIKE_A_KEY, MIN_SECRET_LENGTH, REDACTED


def given_keys(argv: Sequence[str]) -> list[str]:
    """The API keys `argv` may hold, longest first: the environment's, the value of any option
    whose name says key (``--api-key``, misspelt ``--apikey`` or ``--api_key=``), and any
    argument that looks like a WorkOS key, wherever it stands."""
    keys = [os.environ.get(API_KEY_ENV_VAR, "")]
    for index, token in enumerate(argv):
        name, equals, value = token.partition("=")
        if name.startswith("-") and "key" in name.lower():
            keys.append(value if equals else argv[index + 1] if index + 1 < len(argv) else "")
        keys.extend(LOOKS_LIKE_A_KEY.findall(token))
    # Longest first, so that no key is left half shown by a shorter one inside it.
    return sorted({key for key in keys if len(key.strip()) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def hiding(secrets: Sequence[str]) -> type[argparse.ArgumentParser]:
    """argparse's parser class, its usage errors (its subcommands' too) never showing `secrets`."""

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            for secret in secrets:
                message = message.replace(secret, REDACTED)
            super().error(message)

    return Parser
