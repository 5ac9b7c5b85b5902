"""``python -m workos_orgs.emulator``: serve the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import sys
from collections.abc import Sequence

from .._arguments import given_keys, hiding
from .._config import is_loopback
from ._api import SeedError
from ._emulator import (
    DEFAULT_API_KEY,
    DEFAULT_HOST,
    DEFAULT_PORT,
    AcceptFailureLog,
    DatabaseFileError,
    Emulator,
    check_port,
)
from ._faults import Chaos
from ._limits import Limits


def _port(text: str) -> int:
    try:
        return check_port(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a port from 0 to 65535 (0 picks a free one)") from None


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of at least 1")
    return count


def parser(prog: str = "python -m workos_orgs.emulator", *, hidden: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The emulator's command line; its usage errors never show the texts in `hidden`."""
    cli = hiding(hidden)(
        prog=prog,
        description="Serve a local WorkOS Organizations API (no network, no WorkOS account).",
    )
    cli.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    cli.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port to bind; 0 picks a free one (default %(default)s)"
    )
    cli.add_argument(
        "--db",
        metavar="PATH",
        help="keep data in this SQLite file across restarts (default: in memory); --seed loads only into a new one",
    )
    cli.add_argument("--api-key", default=DEFAULT_API_KEY, help="the key clients must send (default %(default)s)")
    cli.add_argument(
        "--seed",
        metavar="FILE",
        help="load organizations from this JSON file at start; with --db, only into a new file"
        " (a restart keeps what the file holds)",
    )
    cli.add_argument(
        "--rate-limits",
        action="store_true",
        help="enforce WorkOS's rate limits (6,000 requests and 50 organization deletes per 60 s)",
    )
    cli.add_argument(
        "--metadata-keys",
        type=_count,
        default=Limits().metadata_keys,
        metavar="N",
        help="the most metadata keys an organization may have (default %(default)s, the API spec's;"
        " WorkOS's metadata docs say 10)",
    )
    cli.add_argument(
        "--metadata-ascii-only",
        action="store_true",
        help="refuse metadata keys and values that are not ASCII, as WorkOS's metadata docs say"
        " (default: any text, as the API spec says)",
    )
    cli.add_argument(
        "--chaos",
        type=float,
        metavar="RATE",
        help="fault this share of requests at random (429, 5xx, slow replies, dropped connections), e.g. 0.1",
    )
    cli.add_argument(
        "--no-idempotency", action="store_true", help="ignore Idempotency-Key headers (to test clients without it)"
    )
    cli.add_argument(
        "--auto-verify",
        action="store_true",
        help="verify domains at once, without a DNS record (default: pending until the record is published)",
    )
    return cli


async def serve(args: argparse.Namespace) -> None:
    emulator = Emulator(
        host=args.host,
        port=args.port,
        db=args.db,
        api_key=args.api_key,
        rate_limits=args.rate_limits,
        idempotency=not args.no_idempotency,
        seed=args.seed,
        chaos=None if not args.chaos else Chaos(rate=args.chaos),
        auto_verify=args.auto_verify,
        limits=Limits(metadata_keys=args.metadata_keys, metadata_ascii_only=args.metadata_ascii_only),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(AcceptFailureLog())
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await emulator.start()
    try:
        key = emulator.api_key if emulator.api_key == DEFAULT_API_KEY else "the one given with --api-key"
        print(f"WorkOS Organizations emulator listening on {emulator.url} (API key: {key})", flush=True)
        await stop.wait()
    finally:
        await emulator.close()
        print("Emulator stopped.", flush=True)


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m workos_orgs.emulator") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cli = parser(prog, hidden=given_keys(argv))
    args = cli.parse_args(argv)
    if not args.api_key.strip():
        cli.error("--api-key must not be empty: it is the key clients must send")
    if not is_loopback(args.host) and args.api_key == DEFAULT_API_KEY:
        print(
            f"warning: --host {args.host} lets other machines reach the emulator, and its default key"
            f" {DEFAULT_API_KEY} is published.",
            file=sys.stderr,
        )
        cli.error(f"--host {args.host} needs --api-key with a key of your own")
    if args.chaos is not None:
        try:
            Chaos(rate=args.chaos)
        except ValueError as error:
            cli.error(f"--chaos: {error}")
    try:
        asyncio.run(serve(args))
    except SeedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (DatabaseFileError, sqlite3.Error) as error:
        # Opening it: a directory that is not there, a file that is not a database; seeding
        # it: a file whose tables are another program's.
        reason = error.reason if isinstance(error, DatabaseFileError) else error
        print(f"error: cannot use --db {args.db}: {reason}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
