"""``workos-orgs``: the SDK from the shell.

Exit codes: 0 all good, 1 some records (or the one call) failed, 2 usage or configuration
error, 130 interrupted.  Errors are one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import stat
import sys
import time
import traceback
from collections.abc import Sequence
from typing import IO, Any, Final

import attrs

from .. import __version__
from .._arguments import given_keys, hiding
from .._bulk import DEFAULT_CONCURRENCY, SyncEvent, SyncInputError, SyncReport, SyncStoppedError
from .._client import API_KEY_ENV_VAR, AsyncWorkOS
from .._contract import (
    DOMAIN_ALREADY_VERIFIED,
    LIST_LIMIT_MAX,
    VERIFIED_STATES,
    DomainState,
    Order,
    normalize_domain,
    verification_record_name,
)
from .._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    InvalidArgumentError,
    WorkOSError,
)
from .._models import UNSET, DomainData, Organization, OrganizationDomain
from ._connect import UsageError, add_global_options, configure_logging, open_client, positive_int
from ._demo import add_demo_command, run_demo
from ._progress import Progress
from ._records import FORMATS, dumps_line, format_of, open_records, read_records

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130
PROG: Final = "workos-orgs"
_RUN_AGAIN: Final = "run it again to finish (it converges)"


def _domain_arg(text: str) -> tuple[str, DomainState | None]:
    """A ``--domain``: its name, and its state if one is given."""
    domain, sep, state = (part.strip() for part in text.partition(":"))
    try:
        return domain, DomainState(state) if sep else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a domain is NAME or NAME:verified / NAME:pending") from None


async def _domain_data(
    client: AsyncWorkOS, args: argparse.Namespace, domains: list[tuple[str, DomainState | None]]
) -> list[DomainData]:
    """The ``--domain`` options as domain data: a name given without a state is pending, but
    on update one the organization has verified stays verified."""
    current: dict[str, DomainState | str | None] = {}
    if args.command == "update" and any(state is None for _, state in domains):
        organization = await client.organizations.get(args.id)
        current = {normalize_domain(domain.domain): domain.state for domain in organization.domains}
    data = []
    for name, state in domains:
        if state is None:
            verified = current.get(normalize_domain(name)) in VERIFIED_STATES
            state = DomainState.VERIFIED if verified else DomainState.PENDING
        data.append(DomainData(name, state))
    return data


def _metadata_arg(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: metadata is KEY=VALUE (KEY= removes the key on update)")
    return key, value or None


def build_parser(*, hidden: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The whole command line; global options go before or after the command's name.

    Its usage errors never show the texts in `hidden` (see `given_keys`).
    """
    common = argparse.ArgumentParser(add_help=False)
    add_global_options(common, defaults=False)
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON (one object per line)")

    cli = hiding(hidden)(prog=PROG, description="WorkOS Organizations from the shell.")
    cli.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_global_options(cli, defaults=True)
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", parents=[common, as_json], help="list organizations, as pages arrive")
    listing.add_argument(
        "--domain", action="append", dest="domains", metavar="DOMAIN", help="having this domain (repeatable)"
    )
    listing.add_argument("--search", help="name contains this text")
    listing.add_argument(
        "--order",
        choices=[order.value for order in Order],
        default=None,
        help="sort order (default desc: newest first)",
    )
    listing.add_argument(
        "--max-items", type=positive_int, metavar="N", help="show at most N organizations (default: all)"
    )
    # The old name of --max-items, kept working; not shown, since the SDK's `limit` is a page size.
    listing.add_argument("--limit", type=positive_int, dest="max_items", help=argparse.SUPPRESS)

    get = commands.add_parser("get", parents=[common, as_json], help="show one organization")
    get.add_argument("id", nargs="?", help="organization ID (org_...)")
    get.add_argument("--external-id", help="look it up by your external ID instead")

    for name, summary in (("create", "create an organization"), ("update", "change an organization")):
        command = commands.add_parser(name, parents=[common, as_json], help=summary)
        if name == "update":
            command.add_argument("id", help="organization ID (org_...)")
        command.add_argument("--name", required=name == "create", help="the organization's name")
        command.add_argument(
            "--domain",
            action="append",
            dest="domains",
            type=_domain_arg,
            metavar="NAME[:STATE]",
            help="a domain, pending unless :verified (repeatable; on update replaces the set, and a domain"
            " named without a state keeps its own)",
        )
        command.add_argument("--external-id", help="your own ID for the organization (unique)")
        command.add_argument(
            "--metadata",
            action="append",
            type=_metadata_arg,
            metavar="KEY=VALUE",
            help="a metadata key (repeatable; on update KEY= removes the key)",
        )
        if name == "update":
            command.add_argument("--clear-external-id", action="store_true", help="remove the external ID")
            command.add_argument("--stripe-customer-id", help="the Stripe customer ID to link")
            command.add_argument(
                "--clear-stripe-customer-id", action="store_true", help="remove the Stripe customer ID"
            )

    delete = commands.add_parser("delete", parents=[common, as_json], help="delete an organization")
    delete.add_argument("id", help="organization ID (org_...)")

    domains = commands.add_parser("domains", parents=[common], help="organization domains").add_subparsers(
        dest="domains_command", required=True, metavar="ACTION"
    )
    create_domain = domains.add_parser(
        "create", parents=[common, as_json], help="add a domain (pending, DNS verification)"
    )
    create_domain.add_argument("--organization-id", required=True, help="the organization to add it to (org_...)")
    create_domain.add_argument("domain", help="the domain name, e.g. acme.com")
    for action, summary in (
        ("get", "show a domain"),
        ("verify", "check a domain's DNS record now"),
        ("delete", "remove a domain"),
    ):
        domains.add_parser(action, parents=[common, as_json], help=summary).add_argument(
            "id", help="domain ID (org_domain_...)"
        )

    sync = commands.add_parser(
        "sync", parents=[common], help="create/update organizations from a file, keyed by external_id"
    )
    sync.add_argument("file", help="JSON Lines or CSV file; - for standard input")
    sync.add_argument("--format", choices=FORMATS, help="default: from the file name (.csv), else JSON Lines")
    sync.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        help="records in flight at once (default %(default)s)",
    )
    sync.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="do not pace requests under WorkOS's limits (for the local emulator, which has none)",
    )
    sync.add_argument("--prune", action="store_true", help="delete organizations whose external_id is not in the file")
    sync.add_argument("--dry-run", action="store_true", help="print what would change, field by field; write nothing")
    sync.add_argument(
        "--json", action="store_true", help="print one JSON object per record, then the report (to audit or resume)"
    )

    export = commands.add_parser("export", parents=[common], help="every organization as JSON Lines")
    export.add_argument("--output", "-o", default="-", help="file to write (default: standard output)")

    commands.add_parser("emulator", add_help=False, help="run the local emulator (see: workos-orgs emulator --help)")
    add_demo_command(commands, parents=[common])
    return cli


def _write(stream: IO[bytes], value: Any) -> None:
    stream.write(dumps_line(value))


def _show(args: argparse.Namespace, value: Organization | OrganizationDomain) -> None:
    out = sys.stdout
    if isinstance(value, OrganizationDomain):
        if args.json:
            _write(out.buffer, value.to_dict())
            return
        out.write(f"{value.id}  {value.domain}  {value.state}  (organization {value.organization_id})\n")
        if value.verification_token and value.state not in VERIFIED_STATES:
            record = verification_record_name(value.verification_prefix or "", value.domain)
            out.write(f"verify with a DNS TXT record {record} = {value.verification_token}\n")
        return
    if args.json:
        _write(out.buffer, value.to_dict())
        return
    out.write(f"{value.id}  {value.name}\n")
    out.write(f"  external_id  {value.external_id or '-'}\n")
    for domain in value.domains:
        out.write(f"  domain       {domain.domain} ({domain.state})\n")
    for key, item in value.metadata.items():
        out.write(f"  metadata     {key} = {item}\n")
    out.write(f"  created      {value.created_at:%Y-%m-%d %H:%M:%S %Z}\n")


_HEADER: Final = ("ID", "NAME", "EXTERNAL ID", "DOMAINS")


def _cells(organization: Organization) -> tuple[str, str, str, str]:
    domains = ", ".join(domain.domain for domain in organization.domains) or "-"
    return organization.id, organization.name, organization.external_id or "-", domains


def _rows(rows: list[tuple[str, ...]], widths: list[int]) -> str:
    return "".join(
        "  ".join(value.ljust(width) for value, width in zip(row[:3], widths, strict=True)) + "  " + row[3] + "\n"
        for row in rows
    )


async def _list(args: argparse.Namespace) -> int:
    page_size = min(args.max_items or LIST_LIMIT_MAX, LIST_LIMIT_MAX)
    out = sys.stdout
    async with open_client(args) as client:
        pager = client.organizations.list(
            limit=page_size, order=args.order, domains=args.domains, search=args.search, max_items=args.max_items
        )
        if args.json:
            async for organization in pager:
                _write(out.buffer, organization.to_dict())
            return EXIT_OK
        # Rows are printed a page at a time, as the pages arrive; the first page sets the widths.
        widths: list[int] | None = None
        batch: list[tuple[str, ...]] = []

        def flush() -> None:
            nonlocal widths
            if widths is None:
                widths = [max(len(row[column]) for row in [_HEADER, *batch]) for column in range(3)]
                out.write(_rows([_HEADER], widths))
            out.write(_rows(batch, widths))
            out.flush()
            batch.clear()

        async for organization in pager:
            batch.append(_cells(organization))
            if len(batch) == page_size:
                flush()
        if batch:
            flush()
        if widths is None:
            out.write("No organizations.\n")
    return EXIT_OK


async def _get(args: argparse.Namespace) -> int:
    if (args.id is None) == (args.external_id is None):
        raise UsageError("give an organization ID or --external-id (one of them)")
    async with open_client(args) as client:
        if args.id is not None:
            organization = await client.organizations.get(args.id)
        else:
            organization = await client.organizations.get_by_external_id(args.external_id)
    _show(args, organization)
    return EXIT_OK


def _not_blank(value: str, option: str, clear: str | None) -> str:
    """An ID given on the command line; a blank one names the option that removes it, if any."""
    if not value.strip():
        raise UsageError(f"{option} must not be blank" + (f"; to remove it, use {clear}" if clear else ""))
    return value


async def _create_or_update(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {}
    if args.name is not None:
        fields["name"] = args.name
    if args.command == "update":
        # Before a blank value's message, which names the option that clears it.
        if args.clear_external_id and args.external_id is not None:
            raise UsageError("use --external-id or --clear-external-id, not both")
        if args.clear_stripe_customer_id and args.stripe_customer_id is not None:
            raise UsageError("use --stripe-customer-id or --clear-stripe-customer-id, not both")
    if args.external_id is not None:
        clear = "--clear-external-id" if args.command == "update" else None
        fields["external_id"] = _not_blank(args.external_id, "--external-id", clear)
    if args.metadata:
        fields["metadata"] = dict(args.metadata)
    if args.command == "create":
        if any(value is None for value in fields.get("metadata", {}).values()):
            raise UsageError("--metadata KEY= (an empty value) only removes a key on update")
    else:
        if args.clear_external_id:
            fields["external_id"] = None
        if args.stripe_customer_id is not None:
            fields["stripe_customer_id"] = _not_blank(
                args.stripe_customer_id, "--stripe-customer-id", "--clear-stripe-customer-id"
            )
        if args.clear_stripe_customer_id:
            fields["stripe_customer_id"] = None
        if not fields and args.domains is None:
            raise UsageError(
                "nothing to change: give --name, --domain, --external-id, --clear-external-id, --metadata,"
                " --stripe-customer-id or --clear-stripe-customer-id"
            )
    async with open_client(args) as client:
        if args.domains is not None:
            fields["domain_data"] = await _domain_data(client, args, args.domains)
        if args.command == "create":
            organization = await client.organizations.create(**fields)
        else:
            organization = await client.organizations.update(args.id, **fields)
    _show(args, organization)
    return EXIT_OK


def _deleted(args: argparse.Namespace, kind: str) -> None:
    if args.json:
        _write(sys.stdout.buffer, {"object": kind, "id": args.id, "deleted": True})
    else:
        sys.stdout.write(f"Deleted {args.id}.\n")


async def _delete(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        await client.organizations.delete(args.id)
    _deleted(args, "organization")
    return EXIT_OK


async def _domains(args: argparse.Namespace) -> int:
    async with open_client(args) as client:
        domains = client.organization_domains
        match args.domains_command:
            case "create":
                _show(args, await domains.create(organization_id=args.organization_id, domain=args.domain))
            case "get":
                _show(args, await domains.get(args.id))
            case "verify":
                try:
                    domain = await domains.verify(args.id)
                except BadRequestError as error:
                    if error.code != DOMAIN_ALREADY_VERIFIED:
                        raise
                    domain = await domains.get(args.id)  # nothing to verify: show the state it is in
                _show(args, domain)
            case _:
                await domains.delete(args.id)
                _deleted(args, "organization_domain")
    return EXIT_OK


class SyncTally:
    """What the CLI shows while a sync runs, and says if it is interrupted."""

    def __init__(self, progress: Progress, *, as_json: bool) -> None:
        self.progress = progress
        self.as_json = as_json
        self.report = SyncReport()
        self.finished: SyncReport | None = None  # the report of the job, once it has run to its end
        self._started = time.monotonic()

    def interrupted(self) -> SyncReport:
        """The report so far, of a job that Ctrl-C stopped."""
        self.report.stopped = "KeyboardInterrupt: interrupted"
        self.report.elapsed = time.monotonic() - self._started
        return self.report

    def __call__(self, event: SyncEvent) -> None:
        self.report.dry_run = event.dry_run
        self.report.record(event)
        if self.as_json:
            _write(sys.stdout.buffer, event.to_dict())
            sys.stdout.buffer.flush()  # a line as each event happens, for a reader that follows along
        elif event.dry_run and (event.changes or event.action == "deleted"):
            sys.stdout.write(_change_lines(event))
        self.progress.advance(str(self.report))


def _change_lines(event: SyncEvent) -> str:
    verb = {"created": "would create", "updated": "would update", "deleted": "would delete"}[event.action]
    where = f" ({event.source or event.organization_id})"
    lines = [f"{verb} {event.external_id}{where}"]
    lines += [f"  {change.field}: {change.old!r} -> {change.new!r}" for change in event.changes]
    return "\n".join(lines) + "\n"


def _count_lines(path: str) -> int | None:
    """The lines of `path`, for the progress bar; None where they cannot be known before the
    sync reads them: standard input, and anything but a regular file (``/dev/stdin``, a pipe
    from ``<(...)``), which read here would be read empty by the sync."""
    if path == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as stream:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: stream.read(1 << 20), b""))
    except OSError:
        return None


@attrs.define
class _Running:
    """What the command that runs has done so far, for the line that says how far it got."""

    sync: SyncTally | None = None
    exported: Progress | None = None


async def _sync(args: argparse.Namespace, running: _Running) -> int:
    fmt = format_of(args.file, args.format)
    try:
        stream = open_records(args.file)
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror}") from None
    total = _count_lines(args.file)
    if total is not None and fmt == "csv":
        total = max(0, total - 1)
    progress = Progress(sys.stderr, label="synced", total=total)
    on_event = SyncTally(progress, as_json=args.json)
    running.sync = on_event
    source = "stdin" if args.file == "-" else args.file
    with stream:
        try:
            records = read_records(stream, fmt, source)
        except ValueError as error:  # a CSV header sync cannot use
            raise UsageError(str(error)) from None
        try:
            async with open_client(args) as client:
                report = await client.organizations.sync(
                    records,
                    concurrency=args.concurrency,
                    prune=args.prune,
                    dry_run=args.dry_run,
                    on_event=on_event,
                    rate_limiter=None if args.no_rate_limit else UNSET,
                )
        except (SyncInputError, SyncStoppedError) as error:  # stopped midway: say what was done, then why
            _sync_report(args, progress, error.report)
            raise
    on_event.finished = report
    _sync_report(args, progress, report)
    # A prune asked for and held back is a job not done, though no record failed.
    return EXIT_OK if report.ok else EXIT_FAILED


def _sync_report(args: argparse.Namespace, progress: Progress, report: SyncReport) -> None:
    progress.finish(str(report))
    if args.json:
        _write(sys.stdout.buffer, report.to_dict())
    _failure_lines(report)
    sys.stderr.write(f"sync: {report} in {report.elapsed:,.1f}s\n")


def _failure_lines(report: SyncReport) -> None:
    """Each failed record of `report` on stderr, a line each."""
    for failure in report.failures:
        sys.stderr.write(f"failed {failure.external_id or '(no external_id)'}: {_one_line(failure)}\n")


async def _export(args: argparse.Namespace, running: _Running) -> int:
    try:
        # A local file opens at once; the slow part, the API, is awaited below.
        output = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")  # noqa: SIM115, ASYNC230
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
    progress = running.exported = Progress(sys.stderr, label="exported")
    try:
        async with open_client(args) as client:
            async for organization in client.organizations.list(limit=LIST_LIMIT_MAX):
                _write(output, organization.to_dict())
                progress.advance()
        output.flush()  # a failure here is the export's; after another, it must not replace it
    finally:
        if args.output != "-":
            with contextlib.suppress(OSError):
                output.close()
    progress.finish()
    sys.stderr.write(f"export: {progress.done:,} organizations\n")
    return EXIT_OK


def _run(args: argparse.Namespace, running: _Running) -> int:
    configure_logging(args.debug)
    match args.command:
        case "list":
            return asyncio.run(_list(args))
        case "get":
            return asyncio.run(_get(args))
        case "create" | "update":
            return asyncio.run(_create_or_update(args))
        case "delete":
            return asyncio.run(_delete(args))
        case "domains":
            return asyncio.run(_domains(args))
        case "sync":
            return asyncio.run(_sync(args, running))
        case "export":
            return asyncio.run(_export(args, running))
        case _:
            return asyncio.run(run_demo(args))


def _how_far(args: argparse.Namespace, running: _Running) -> str:
    """What an interrupted command got done, for the line that says it stopped (and, for
    ``sync --json``, the report as the last line of its output)."""
    if (tally := running.sync) is not None:
        if tally.finished is not None:  # interrupted after the end: the report is out already
            return f": the sync had finished: {tally.finished}"
        report = tally.interrupted()
        _failure_lines(report)  # a record stopped partway among them says what it changed
        if args.json:
            try:
                _write(sys.stdout.buffer, report.to_dict())
                sys.stdout.buffer.flush()
            except OSError:  # nobody reads it any more
                _discard_stdout()
        return f": {report} before stopping; {_RUN_AGAIN}"
    if running.exported is not None:
        return f": {running.exported.done:,} organizations exported before stopping"
    return ""


def _discard_stdout() -> None:
    """Send what is left for stdout, whose reader went away, nowhere: Python's flush as it
    exits would otherwise fail again, and exit with status 120."""
    with contextlib.suppress(OSError, ValueError):  # no file descriptor: nothing to redirect
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """The ``workos-orgs`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from ..emulator.__main__ import main as emulator_main

        return emulator_main(argv[1:], prog=f"{PROG} emulator")
    args = build_parser(hidden=given_keys(argv)).parse_args(argv)
    if sys.stdout is None:  # started with stdout closed (a cron job's `>&-`): output goes nowhere
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    code = _outcome(args, _Running())
    # Whatever is left for stdout goes now, or, its reader gone or its disk full, nowhere: not
    # to Python's own flush as it exits, which would fail again, with status 120.
    try:
        sys.stdout.flush()
    except OSError:
        _discard_stdout()
    return code


def _outcome(args: argparse.Namespace, running: _Running) -> int:
    """Run the command; its exit code, each failure said on stderr in one line."""
    try:
        code = _run(args, running)
        # Here: a reader gone away is then the BrokenPipeError below.
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        how_far = _how_far(args, running)
        sys.stderr.write(f"interrupted{how_far}\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`workos-orgs export | head`): it has what it wanted, so stop
        # quietly and successfully, as other tools do -- unless a sync was writing: it stopped
        # with its output, partway, and must say so.
        _discard_stdout()
        if (tally := running.sync) is None:
            return EXIT_OK
        if (finished := tally.finished) is not None:
            sys.stderr.write(
                f"error: standard output was closed before the report was written; the sync finished: {finished}\n"
            )
        else:
            sys.stderr.write(
                f"error: standard output was closed, and the sync stopped with it: {tally.report} before"
                f" stopping; {_RUN_AGAIN}\n"
            )
        return EXIT_FAILED
    except (UsageError, ConfigurationError, InvalidArgumentError) as error:
        _traceback_if(args.debug)
        sys.stderr.write(f"error: {_one_line(error)}\n")
        return EXIT_USAGE
    except (WorkOSError, OSError) as error:
        _traceback_if(args.debug)
        refused = isinstance(error, AuthenticationError) or isinstance(error.__cause__, AuthenticationError)
        hint = f" (check --api-key or {API_KEY_ENV_VAR}, and --base-url)" if refused else ""
        # A 4xx that is not the API's JSON: the request went somewhere else.  (A redirect says
        # so itself; a 5xx page is more likely a gateway's passing trouble.)
        if (
            not refused
            and isinstance(error, APIStatusError)
            and 400 <= error.status_code < 500
            and error.json is None
            and error.body.strip()
        ):
            hint = " (the response is not the API's: check --base-url, or the proxy in front of the API)"
        sys.stderr.write(f"error: {_one_line(error)}{hint}\n")
        return EXIT_FAILED


def _traceback_if(debug: bool) -> None:
    """With ``--debug``, the traceback of the error being handled, before its one line: the
    exit code stays the one the error has (a usage error 2, a failed call 1)."""
    if debug:
        traceback.print_exc(file=sys.stderr)


def run() -> None:
    """Run the command line and exit with its code."""
    sys.exit(main())
