"""The emulated API as a synchronous function of a request: routing, rules, storage.

`EmulatedApi.handle` runs a whole request -- idempotency check, validation, reads, writes --
without yielding to the event loop, under one lock, so every request is atomic.  The aiohttp
layer (`_server`) only moves bytes and applies faults around it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import attrs
import orjson

from .._contract import (
    DELETED_ORGANIZATION_BODY,
    DOMAIN_ALREADY_EXISTS,
    DOMAIN_ALREADY_VERIFIED,
    EXTERNAL_ID_ALREADY_USED,
    IDEMPOTENCY_TTL_SECONDS,
    ORGANIZATION_DOMAIN_ID_PREFIX,
    ORGANIZATION_DOMAIN_ID_RE,
    ORGANIZATION_ID_PREFIX,
    ORGANIZATION_ID_RE,
    STRIPE_CUSTOMER_ID_ALREADY_USED,
    ULID_LENGTH,
    VERIFICATION_TOKEN_LENGTH,
    VERIFIED_STATES,
    DomainState,
    DomainVerificationStrategy,
    is_organization_delete,
    normalize_domain,
    verification_record_name,
)
from . import _routes as routes
from . import _rules as rules
from ._faults import ChaosSource, FaultQueue
from ._held import HeldRequests
from ._ids import (
    UlidFactory,
    epoch_timestamp,
    is_timestamp,
    timestamp_milliseconds,
    ulid_milliseconds,
    verification_prefix,
    verification_token,
)
from ._limits import Limits
from ._page_cache import PageCache
from ._ratelimit import RateLimits, SlidingWindow
from ._request_log import RecordedRequest, RequestLog
from ._store import Json, Store

JSON = "application/json"
# Idempotency keys kept at most (beyond it the soonest to expire go first), and how many new
# keys come between two purges of expired ones: the table stays bounded under any load.
IDEMPOTENCY_KEYS_KEPT = 100_000
IDEMPOTENCY_PURGE_EVERY = 1_000
# The app name in verification prefixes, as in `superapp-domain-verification-z3kjny`.
VERIFICATION_APP_NAME = "emulator"


class SeedError(ValueError):
    """A seed file or payload that cannot be loaded; the message says which entry and why."""


@attrs.frozen
class ApiRequest:
    method: str
    segments: tuple[str, ...]
    query: tuple[tuple[str, str], ...] = ()
    idempotency_key: str | None = None
    body: bytes = b""


@attrs.frozen
class ApiResponse:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class TxtRecord:
    """A DNS TXT record in the emulator's simulated DNS."""

    name: str
    value: str


def verification_record(domain: Json) -> TxtRecord | None:
    """The TXT record that verifies `domain`: ``<prefix>.<domain>`` holding the token."""
    token, prefix = domain.get("verification_token"), domain.get("verification_prefix")
    if not token or not prefix:
        return None
    return TxtRecord(verification_record_name(prefix, domain["domain"]), token)


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, orjson.dumps(body), JSON, dict(headers or {}))


def error_response(error: rules.ApiError) -> ApiResponse:
    return json_response(error.status, error.body, error.headers)


class EmulatedApi:
    """State and behaviour of one emulated WorkOS environment."""

    def __init__(
        self,
        *,
        api_key: str,
        db: str | None = None,
        rate_limits: RateLimits | None = None,
        idempotency: bool = True,
        idempotency_ttl: float = IDEMPOTENCY_TTL_SECONDS,
        idempotency_keys_kept: int = IDEMPOTENCY_KEYS_KEPT,
        auto_verify: bool = False,
        limits: Limits | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.api_key = api_key
        self._expected_authorization = f"Bearer {api_key}".encode()
        self.auto_verify = auto_verify
        self.limits = limits or Limits()
        self.faults = FaultQueue()
        self.held = HeldRequests()
        self.chaos = ChaosSource()
        self.idempotency = idempotency
        self._idempotency_ttl = idempotency_ttl
        # Without a test clock, the windows read a clock that a change of the system time
        # cannot move; timestamps and idempotency expiry read the time of day.
        self._clock = clock or time.time
        self._window_clock = clock or time.monotonic
        self._lock = threading.RLock()
        self._store = Store(db)
        self._pages = PageCache()
        self._ids = UlidFactory(self._clock)
        self._rate_limits = rate_limits
        self._request_window: SlidingWindow | None = None
        self._delete_window: SlidingWindow | None = None
        self._reset_rate_limits()
        self._failing_verifications = 0
        self._log = RequestLog(self.limits.request_log_entries, self.limits.request_log_bytes)
        self._idempotent_writes = 0
        self._idempotency_keys_kept = idempotency_keys_kept
        self._purge_every = max(1, min(IDEMPOTENCY_PURGE_EVERY, idempotency_keys_kept))
        # Requests that ended in an unexpected exception (a bug); the tests require 0.
        self.internal_errors = 0

    def close(self) -> None:
        with self._lock:
            self._store.close()

    @property
    def new_database(self) -> bool:
        """Whether this emulator made its database, rather than opened a file an earlier run kept."""
        return self._store.created

    # Control: used by the in-process Emulator and the /_emulator/ routes.

    def reset(self) -> None:
        """Forget every organization, domain, idempotency key, fault and logged request."""
        with self._lock:
            self._store.clear()
            self.faults.clear()
            self.chaos.set(None)
            self._log.clear()
            self._failing_verifications = 0
            self._reset_rate_limits()

    def fail_next_verifications(self, times: int = 1) -> None:
        with self._lock:
            self._failing_verifications += times

    def record(self, entry: RecordedRequest) -> None:
        self._log.append(entry)

    def requests(self) -> list[RecordedRequest]:
        return self._log.entries()

    def authorized(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        # aiohttp hands bytes that are not UTF-8 over as lone surrogates; they compare as sent.
        sent = authorization.encode("utf-8", "surrogateescape")
        return hmac.compare_digest(sent, self._expected_authorization)

    def _reset_rate_limits(self) -> None:
        limits = self._rate_limits
        if limits is not None:
            self._request_window = SlidingWindow(limits.requests, limits.window_seconds, self._window_clock)
            self._delete_window = SlidingWindow(limits.organization_deletes, limits.window_seconds, self._window_clock)

    # Requests.

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Respond to one API request that has already been authorized.

        A request that may write runs in one transaction: its checks, its writes and its
        idempotency record commit together (a crash leaves all or none of them), and another
        process on the same file cannot slip a write between a check and the write it allows.
        """
        with self._lock:
            try:
                self._check_rate_limits(request)
                if request.method == "GET":
                    return self._idempotent(request)
                with self._store.transaction():
                    return self._idempotent(request)
            except rules.ApiError as error:
                return error_response(error)
            except sqlite3.OperationalError as error:
                if not self._store.busy(error):
                    raise
                # Another process held the file past the busy timeout: a retry will do.
                return error_response(rules.busy())

    def _check_rate_limits(self, request: ApiRequest) -> None:
        if self._request_window is None or self._delete_window is None:
            return
        wait = self._request_window.acquire(self.api_key)
        if wait is None and is_organization_delete(request.method, request.segments):
            wait = self._delete_window.acquire(self.api_key)
        if wait is not None:
            raise rules.rate_limited(wait)

    def _idempotent(self, request: ApiRequest) -> ApiResponse:
        found = routes.find(routes.API_ROUTES, request.method, request.segments)
        if found is None:
            # Not a route: no key is looked up or spent on it.
            raise rules.not_found()
        route, params = found
        key = request.idempotency_key
        if not route.idempotent_post or not key or not self.idempotency:
            return _OPERATIONS[route.operation_id](self, request, params)
        rules.check_idempotency_key(key, self.limits)
        fingerprint = hashlib.sha256(
            b"%s %s\n%s" % (request.method.encode(), "/".join(request.segments).encode(), _canonical(request.body))
        ).digest()
        now = self._clock()
        stored = self._store.get_idempotent(key, now)
        if stored is not None:
            stored_fingerprint, status, content_type, body = stored
            if stored_fingerprint != fingerprint:
                raise rules.bad_request(
                    None,
                    f"Another idempotency key ({key}) with different request parameters was found."
                    " Please use a different idempotency key.",
                )
            return ApiResponse(status, body, content_type)
        try:
            response = _OPERATIONS[route.operation_id](self, request, params)
        except rules.ApiError as error:
            # A refusal is a response too: replaying it keeps a retry from turning into a create.
            response = error_response(error)
        if response.status < 500:
            self._idempotent_writes += 1
            if self._idempotent_writes % self._purge_every == 0:
                self._store.purge_idempotent(now, self._idempotency_keys_kept - 1)
            self._store.put_idempotent(
                key,
                fingerprint,
                response.status,
                response.content_type or "",
                response.body,
                now + self._idempotency_ttl,
            )
            # Every time, not at the purges: one refusal may echo most of a 1 MiB body.
            self._store.trim_idempotent(self.limits.idempotency_bytes, spare=key)
        return response

    # Organizations.

    def _organization(self, organization_id: str) -> Json:
        rules.path_id(ORGANIZATION_ID_RE, organization_id)
        organization = self._store.get_organization(organization_id)
        if organization is None:
            raise rules.not_found("Organization", organization_id)
        return organization

    def _list_organizations(self, query: Sequence[tuple[str, str]]) -> ApiResponse:
        params = rules.list_query(dict(query), [value for name, value in query if name == "domains"])
        # The same query at the same version of the data is the same page: built once.  The
        # key is the query as read, so parameters the API ignores do not make new ones.
        version = self._store.version()
        body = self._pages.get(params, version)
        if body is None:
            body = self._list_body(params)
            self._pages.put(params, version, body)
        return ApiResponse(200, body, JSON)

    def _list_body(self, params: rules.ListQuery) -> bytes:
        data, before, after = self._store.list_organizations(
            order=params.order,
            limit=params.limit,
            before=params.before,
            after=params.after,
            domains=params.domains,
            search=params.search,
        )
        # The organizations are stored rendered: the page is joined, not built and encoded again.
        metadata = orjson.dumps({"before": before, "after": after})
        return b'{"object":"list","data":[' + b",".join(data) + b'],"list_metadata":' + metadata + b"}"

    def _get_organization(self, organization_id: str) -> ApiResponse:
        rules.path_id(ORGANIZATION_ID_RE, organization_id)
        # Served as stored, like a listing: a GET runs outside any transaction, so it is current.
        rendered = self._store.rendered_organization("id", organization_id)
        if rendered is None:
            raise rules.not_found("Organization", organization_id)
        return ApiResponse(200, rendered, JSON)

    def _get_organization_by_external_id(self, external_id: str) -> ApiResponse:
        rendered = self._store.rendered_organization("external_id", external_id)
        if rendered is None:
            raise rules.not_found("Organization", external_id)
        return ApiResponse(200, rendered, JSON)

    def _create_organization(self, body: Json) -> ApiResponse:
        changes = rules.organization_changes(body, creating=True, limits=self.limits)
        metadata = {key: value for key, value in (changes.metadata or {}).items() if value is not None}
        rules.check_metadata_limits(metadata, self.limits)
        self._check_unique("external_id", changes.external_id, None)
        _check_distinct(changes.domains)
        rules.check_domain_count("domain_data", len(changes.domains), self.limits)
        now = self._now()
        organization_id = self._new_id(ORGANIZATION_ID_PREFIX)
        with self._store.transaction():
            self._store.insert_organization(
                {
                    "id": organization_id,
                    "name": changes.name,
                    "external_id": changes.external_id,
                    "stripe_customer_id": None,
                    "metadata": metadata,
                    "allow_profiles_outside_organization": changes.allow_profiles_outside_organization,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for request in changes.domains:
                self._store.insert_domain(self._new_domain(organization_id, request.domain, request.state, now))
        return json_response(201, self._store.get_organization(organization_id))

    def _update_organization(self, organization_id: str, request: ApiRequest) -> ApiResponse:
        # The organization first, then its body, whatever is wrong with the body: an unknown ID
        # is a 404 alike for a malformed body and for a field of the wrong type.  Assumed.
        current = self._organization(organization_id)
        changes = rules.organization_changes(_body(request), creating=False, limits=self.limits)
        given = changes.given
        update: Json = {}
        if "name" in given:
            update["name"] = changes.name
        if "external_id" in given:
            self._check_unique("external_id", changes.external_id, organization_id)
            update["external_id"] = changes.external_id
        if "stripe_customer_id" in given:
            self._check_unique("stripe_customer_id", changes.stripe_customer_id, organization_id)
            update["stripe_customer_id"] = changes.stripe_customer_id
        if "allow_profiles_outside_organization" in given:
            update["allow_profiles_outside_organization"] = changes.allow_profiles_outside_organization
        if "metadata" in given:
            # Keys given are set, a key given as null is removed, others are kept, and
            # `metadata: {}` removes every key (WorkOS's metadata docs); `metadata: null`
            # removing every key too is assumed.
            metadata: dict[str, str] = {}
            if changes.metadata:
                rules.check_metadata_limits(changes.metadata, self.limits, given=True)
                metadata = dict(current["metadata"])
                for key, value in changes.metadata.items():
                    if value is None:
                        metadata.pop(key, None)
                    else:
                        metadata[key] = value
            rules.check_metadata_limits(metadata, self.limits)
            update["metadata"] = metadata
        if "domains" in given:
            _check_distinct(changes.domains)
            rules.check_domain_count("domain_data", len(changes.domains), self.limits)
        now = self._now()
        update["updated_at"] = now
        with self._store.transaction():
            self._store.update_organization(organization_id, update)
            if "domains" in given:
                self._replace_domains(organization_id, current["domains"], changes.domains, now)
        return json_response(200, self._store.get_organization(organization_id))

    def _replace_domains(
        self, organization_id: str, existing: list[Json], wanted: Iterable[rules.DomainRequest], now: str
    ) -> None:
        """Listed domains that exist keep their IDs, missing ones go, new ones are added.

        A name in the deprecated ``domains`` list (asking for ``legacy_verified``) asks for no
        state: a domain the organization has keeps its own (assumed; the sources are silent).
        """
        by_name = {domain["domain"]: domain for domain in existing}
        for request in wanted:
            current = by_name.pop(request.domain, None)
            if current is None:
                self._store.insert_domain(self._new_domain(organization_id, request.domain, request.state, now))
            elif request.state is not DomainState.LEGACY_VERIFIED and current["state"] != request.state:
                fresh = self._new_domain(organization_id, request.domain, request.state, now)
                changed = {
                    name: fresh[name]
                    for name in (
                        "state",
                        "verification_strategy",
                        "verification_token",
                        "verification_prefix",
                        "updated_at",
                    )
                }
                self._store.update_domain(current["id"], changed)
        for stale in by_name.values():
            self._store.delete_domain(stale["id"])

    def _delete_organization(self, organization_id: str) -> ApiResponse:
        self._organization(organization_id)
        with self._store.transaction():
            self._store.delete_organization(organization_id)
        return ApiResponse(202, DELETED_ORGANIZATION_BODY, "text/plain")

    def _check_unique(self, column: str, value: str | None, organization_id: str | None) -> None:
        if value is None:
            return
        owner = self._store.owner_of(column, value)
        if owner is not None and owner != organization_id:
            raise rules.bad_request(
                _ALREADY_USED[column],
                f"The {column} {value!r} is already used by another organization in this environment.",
            )

    # Domains.

    def _new_domain(self, organization_id: str, domain: str, state: DomainState, now: str) -> Json:
        # As recorded live: a pending domain is checked by DNS (a token and a prefix), one
        # added as verified was verified by hand, and a legacy one has no strategy at all.
        pending = state is DomainState.PENDING
        strategy = None
        if pending:
            strategy = DomainVerificationStrategy.DNS.value
        elif state is not DomainState.LEGACY_VERIFIED:
            strategy = DomainVerificationStrategy.MANUAL.value
        return {
            "id": self._new_id(ORGANIZATION_DOMAIN_ID_PREFIX),
            "organization_id": organization_id,
            "domain": domain,
            "state": state.value,
            "verification_strategy": strategy,
            "verification_token": verification_token(VERIFICATION_TOKEN_LENGTH) if pending else None,
            "verification_prefix": verification_prefix(VERIFICATION_APP_NAME) if pending else None,
            "created_at": now,
            "updated_at": now,
        }

    def _domain(self, domain_id: str) -> Json:
        rules.path_id(ORGANIZATION_DOMAIN_ID_RE, domain_id)
        domain = self._store.get_domain(domain_id)
        if domain is None:
            raise rules.not_found("Organization Domain", domain_id)
        return domain

    def _delete_domain(self, domain_id: str) -> ApiResponse:
        self._domain(domain_id)
        with self._store.transaction():
            self._store.delete_domain(domain_id)
        return ApiResponse(204, b"", None)

    def _create_domain(self, body: Json) -> ApiResponse:
        organization_id, domain = rules.domain_create(body)
        if not ORGANIZATION_ID_RE.fullmatch(organization_id) or self._store.get_organization(organization_id) is None:
            raise rules.not_found("Organization", organization_id)
        existing = self._store.domains_of(organization_id)
        if any(known["domain"] == domain for known in existing):
            raise _domain_exists(domain)
        rules.check_domain_count("domain", len(existing) + 1, self.limits)
        row = self._new_domain(organization_id, domain, DomainState.PENDING, self._now())
        with self._store.transaction():
            self._store.insert_domain(row)
        return json_response(201, self._store.get_domain(row["id"]))

    def _verify_domain(self, domain_id: str) -> ApiResponse:
        """Look the domain's TXT record up now: found, the domain is verified; not yet, pending.

        Live, WorkOS keeps checking in the background and may end `failed`; here each verify
        call is one check (assumed), `fail_next_verifications` ends checks `failed`, and a
        failed domain verified again is checked again.
        """
        domain = self._domain(domain_id)
        if domain["state"] in VERIFIED_STATES:
            raise rules.bad_request(DOMAIN_ALREADY_VERIFIED, f"The domain {domain['domain']} is already verified.")
        if self._failing_verifications:
            self._failing_verifications -= 1
            state = DomainState.FAILED
        elif self.auto_verify or self._dns_holds(domain):
            state = DomainState.VERIFIED
        else:
            state = DomainState.PENDING
        if domain["state"] != state:
            with self._store.transaction():
                self._store.update_domain(domain_id, {"state": state.value, "updated_at": self._now()})
            domain = self._domain(domain_id)
        return json_response(201, domain)

    def _dns_holds(self, domain: Json) -> bool:
        record = verification_record(domain)
        return record is not None and self._store.has_txt_record(record.name, record.value)

    # The simulated DNS.

    def publish_verification_record(self, domain_id: str) -> TxtRecord:
        """Publish the TXT record that verifies this domain, as its owner would."""
        with self._lock:
            domain = self._store.get_domain(domain_id) if isinstance(domain_id, str) else None
            if domain is None:
                raise ValueError(f"There is no organization domain {domain_id!r} to publish a TXT record for.")
            record = verification_record(domain)
            if record is None:
                raise ValueError(
                    f"The domain {domain['domain']} ({domain_id}) has no verification token and prefix:"
                    " only a domain waiting for DNS verification (state pending or failed) has one."
                )
            with self._store.transaction():
                self._store.publish_txt_record(record.name, record.value)
            return record

    def publish_txt_record(self, name: str, value: str) -> TxtRecord:
        """Publish any TXT record (a wrong token, say)."""
        if not isinstance(name, str) or not isinstance(value, str) or not name.strip():
            raise ValueError("A TXT record needs a non-empty name and a value, both strings.")
        record = TxtRecord(normalize_domain(name), value)
        with self._lock, self._store.transaction():
            self._store.publish_txt_record(record.name, record.value)
        return record

    def txt_records(self) -> list[TxtRecord]:
        with self._lock:
            return [TxtRecord(name, value) for name, value in self._store.txt_records()]

    def remove_txt_records(self) -> None:
        with self._lock, self._store.transaction():
            self._store.remove_txt_records()

    def _now(self) -> str:
        return epoch_timestamp(self._clock())

    def _new_id(self, prefix: str) -> str:
        """A new ID, after every one stored: called in a write transaction, so the newest stored
        is read under the write lock (``BEGIN IMMEDIATE``), and no other process on the file
        can make one in between.  Read only at start-up, two processes on one file made IDs
        out of creation order, and an ``order=asc`` walk missed what the other made."""
        for ident in self._store.newest_ids():
            self._ids.observe(ident.rsplit("_", 1)[1])
        return prefix + self._ids.new()

    # Seeding.

    def seed(self, data: Any) -> list[Json]:
        """Load organizations (with their domains) from seed data; all of it, or none.

        `data` is ``{"organizations": [...]}`` or the list itself.  Each entry takes the
        create body's fields plus ``stripe_customer_id`` and, optionally, a pinned ``id`` and
        ``created_at``/``updated_at``; ``domains`` (or ``domain_data``) holds names or objects with ``domain``,
        ``state`` and, optionally, ``id``, ``verification_strategy``, ``verification_token``,
        ``verification_prefix``.  An organization as the API returns it is a valid entry; a key
        neither takes is refused (a misspelt one would be dropped unseen).
        """
        entries = data.get("organizations") if isinstance(data, Mapping) else data
        if not isinstance(entries, list):
            raise SeedError('Seed data must be {"organizations": [...]} or a list of organizations.')
        with self._lock:
            with self._store.transaction():
                ids = [self._seed_organization(index, entry) for index, entry in enumerate(entries)]
            # Read back under the same lock: a request in between could change or delete them.
            return [self._store.get_organization(ident) or {} for ident in ids]

    def _seed_organization(self, index: int, entry: Any) -> str:
        where = f"organizations[{index}]"
        if not isinstance(entry, dict):
            raise SeedError(f"{where} must be an object.")
        _check_seed_keys(where, entry, _SEED_ORGANIZATION_KEYS, "a seed entry")
        fields = ("name", "external_id", "metadata", "allow_profiles_outside_organization", "stripe_customer_id")
        try:
            changes = rules.organization_changes(
                {k: entry[k] for k in fields if k in entry}, creating=False, limits=self.limits
            )
            if changes.name is None:
                raise SeedError(f"{where}: name is required.")
            metadata = {k: v for k, v in (changes.metadata or {}).items() if v is not None}
            rules.check_metadata_limits(metadata, self.limits)
            self._check_unique("external_id", changes.external_id, None)
            self._check_unique("stripe_customer_id", changes.stripe_customer_id, None)
        except rules.ApiError as error:
            raise SeedError(f"{where}: {_describe(error)}") from None
        organization_id, created_at, updated_at = self._seed_identity(
            where, entry, ORGANIZATION_ID_PREFIX, ORGANIZATION_ID_RE
        )
        self._store.insert_organization(
            {
                "id": organization_id,
                "name": changes.name,
                "external_id": changes.external_id,
                "stripe_customer_id": changes.stripe_customer_id,
                "metadata": metadata,
                "allow_profiles_outside_organization": changes.allow_profiles_outside_organization,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        # The create body's name for them, domain_data, is taken too.
        key = "domain_data" if "domain_data" in entry else "domains"
        if "domain_data" in entry and "domains" in entry:
            raise SeedError(f"{where}: give domains or domain_data, not both.")
        domains = entry.get(key) or []
        if not isinstance(domains, list):
            raise SeedError(f"{where}.{key} must be a list.")
        if len(domains) > self.limits.domains_per_organization:
            raise SeedError(
                f"{where}.{key} lists {len(domains)} domains; an organization can have at most"
                f" {self.limits.domains_per_organization} (see Limits.domains_per_organization)."
            )
        seen: set[str] = set()
        for number, item in enumerate(domains):
            self._seed_domain(f"{where}.{key}[{number}]", organization_id, item, seen)
        return organization_id

    def _seed_domain(self, where: str, organization_id: str, item: Any, seen: set[str]) -> None:
        spec = {"domain": item} if isinstance(item, str) else item
        if not isinstance(spec, dict):
            raise SeedError(f"{where} must be a domain name or an object with 'domain'.")
        _check_seed_keys(where, spec, _SEED_DOMAIN_KEYS, "a seed domain")
        check = rules.Checker()
        name = check.domain(where, spec.get("domain"))
        if name is None:
            raise SeedError(f"{where}: {check.errors[0].message}" if check.errors else f"{where}: domain is required.")
        if name in seen:
            raise SeedError(f"{where}: {name} is listed twice for this organization.")
        seen.add(name)
        try:
            state = DomainState(spec.get("state", DomainState.PENDING))
        except ValueError:
            allowed = ", ".join(member.value for member in DomainState)
            raise SeedError(f"{where}.state must be one of {allowed}.") from None
        domain_id, created_at, updated_at = self._seed_identity(
            where, spec, ORGANIZATION_DOMAIN_ID_PREFIX, ORGANIZATION_DOMAIN_ID_RE
        )
        row = self._new_domain(organization_id, name, state, created_at)
        row.update(id=domain_id, created_at=created_at, updated_at=updated_at)
        for column in ("verification_strategy", "verification_token", "verification_prefix"):
            if column in spec:
                if spec[column] is not None and not isinstance(spec[column], str):
                    raise SeedError(f"{where}.{column} must be a string or null.")
                row[column] = spec[column]
        self._store.insert_domain(row)

    def _seed_identity(self, where: str, entry: Json, prefix: str, pattern: re.Pattern[str]) -> tuple[str, str, str]:
        """A seeded record's ID, ``created_at`` and ``updated_at``: each as pinned, or else an ID
        made for the pinned ``created_at`` (listings are ordered by ID: one made now would list
        a record seeded as made in 2019 after one made in 2025), a ``created_at`` read from the
        pinned ID, or both now; ``updated_at`` is ``created_at`` unless pinned."""
        for field in ("created_at", "updated_at"):
            value = entry.get(field)
            if value and not is_timestamp(value):
                raise SeedError(
                    f"{where}.{field} must be an ISO 8601 UTC timestamp like 2026-01-15T12:00:00.000Z; got {value!r}."
                )
        created_at: str | None = entry.get("created_at") or None
        if entry.get("id") is not None:
            ident = self._pinned_id(where, entry["id"], prefix, pattern)
        elif created_at is not None:
            # After any stored for that moment: records seeded with one time keep their order.
            moment = timestamp_milliseconds(created_at)
            low, high = self._ids.moment_bounds(moment)
            table = "organizations" if prefix == ORGANIZATION_ID_PREFIX else "organization_domains"
            newest = self._store.newest_id_between(table, prefix + low, prefix + high)
            ident = prefix + self._ids.at(moment, after=None if newest is None else newest[len(prefix) :])
        else:
            ident = self._new_id(prefix)
        created_at = created_at or epoch_timestamp(ulid_milliseconds(ident.rsplit("_", 1)[1]) / 1000)
        return ident, created_at, entry.get("updated_at") or created_at

    def _pinned_id(self, where: str, pinned: Any, prefix: str, pattern: re.Pattern[str]) -> str:
        if not isinstance(pinned, str) or not pattern.fullmatch(pinned):
            raise SeedError(f"{where}.id {pinned!r} is not a valid ID ({prefix} and {ULID_LENGTH} ULID characters).")
        exists = (
            self._store.get_organization(pinned) if prefix == ORGANIZATION_ID_PREFIX else self._store.get_domain(pinned)
        )
        if exists is not None:
            raise SeedError(f"{where}.id {pinned} is already taken.")
        self._ids.observe(pinned[len(prefix) :])
        return pinned


_SEED_ORGANIZATION_KEYS: Final = frozenset(routes.SCHEMAS["Organization"]["properties"]) | {"domain_data"}
"""What a seed entry takes: an organization as the API returns it, and the create body's ``domain_data``."""

_SEED_DOMAIN_KEYS: Final = frozenset(routes.SCHEMAS["OrganizationDomain"]["properties"])
"""What a seed domain object takes: a domain as the API returns it (its organization_id is
the entry's own, whatever it says)."""


def _check_seed_keys(where: str, entry: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    """Refuse a key `entry` does not take, naming it: a misspelt one would be dropped unseen."""
    unknown = sorted(str(key) for key in entry.keys() - known)
    if unknown:
        keys = ", ".join(repr(key) for key in unknown)
        raise SeedError(f"{where} has a key {what} does not take: {keys} (it takes {', '.join(sorted(known))}).")


Operation = Callable[[EmulatedApi, ApiRequest, Mapping[str, str]], ApiResponse]

# The handler of each operation in `routes.API_ROUTES`, by operation ID.
_OPERATIONS: Mapping[str, Operation] = {
    "list_organizations": lambda api, request, _: api._list_organizations(request.query),
    "create_organization": lambda api, request, _: api._create_organization(_body(request)),
    "get_organization_by_external_id": lambda api, _, path: api._get_organization_by_external_id(path["external_id"]),
    "get_organization": lambda api, _, path: api._get_organization(path["id"]),
    "update_organization": lambda api, request, path: api._update_organization(path["id"], request),
    "delete_organization": lambda api, _, path: api._delete_organization(path["id"]),
    "create_organization_domain": lambda api, request, _: api._create_domain(_body(request)),
    "get_organization_domain": lambda api, _, path: json_response(200, api._domain(path["id"])),
    "verify_organization_domain": lambda api, _, path: api._verify_domain(path["id"]),
    "delete_organization_domain": lambda api, _, path: api._delete_domain(path["id"]),
}
routes.check_handlers(routes.API_ROUTES, _OPERATIONS)


def _body(request: ApiRequest) -> Json:
    try:
        return rules.json_object(orjson.loads(request.body or b"{}"))
    except orjson.JSONDecodeError as error:
        raise rules.malformed_json(str(error)) from None


def _canonical(body: bytes) -> bytes:
    try:
        return orjson.dumps(orjson.loads(body or b"null"), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        return body


_ALREADY_USED: Final[Mapping[str, str]] = MappingProxyType(
    {"external_id": EXTERNAL_ID_ALREADY_USED, "stripe_customer_id": STRIPE_CUSTOMER_ID_ALREADY_USED}
)
"""The code of the 400 for each column unique across organizations."""


def _check_distinct(domains: Sequence[rules.DomainRequest]) -> None:
    seen: set[str] = set()
    for request in domains:
        if request.domain in seen:
            raise _domain_exists(request.domain)
        seen.add(request.domain)


def _domain_exists(domain: str) -> rules.ApiError:
    return rules.ApiError(
        409, {"code": DOMAIN_ALREADY_EXISTS, "message": f"The domain {domain} already exists on this organization."}
    )


def _describe(error: rules.ApiError) -> str:
    errors = error.body.get("errors")
    if errors:
        return "; ".join(str(item["message"]) for item in errors)
    return str(error.body.get("message"))
