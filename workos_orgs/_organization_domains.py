"""``client.organization_domains``: create, get, verify, delete."""

from __future__ import annotations

from typing import Any, Unpack

from ._contract import DOMAIN_ALREADY_EXISTS, DOMAIN_ALREADY_VERIFIED, normalize_domain
from ._errors import BadRequestError, ConflictError, InvalidArgumentError, NotFoundError, WorkOSError
from ._models import Organization, OrganizationDomain, structure_organization, structure_organization_domain
from ._request import check_id
from ._resource import APIResponse, Requester, RequestOptions, error_response, json_parser, no_content, parsed
from ._response import parse
from ._retry import outcome_unknown

ORGANIZATION_DOMAINS = "organization_domains"
ORGANIZATIONS = "organizations"


def _organization_domain(data: Any) -> OrganizationDomain:
    return structure_organization_domain(data, OrganizationDomain)  # type: ignore[no-any-return]


_parse_organization_domain = json_parser(_organization_domain)


def _organization(data: Any) -> Organization:
    return structure_organization(data, Organization)  # type: ignore[no-any-return]


class OrganizationDomains:
    """Organization domains: ``client.organization_domains``.

    Every method also takes ``timeout``, ``max_retries`` and ``extra_headers`` for that call
    alone; the POSTs (``create``, ``verify``) take an ``idempotency_key`` (generated when
    you pass none).
    """

    def __init__(self, client: Requester) -> None:
        self._client = client
        self.with_raw_response = OrganizationDomainsWithRawResponse(self)
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""

    async def _create(
        self,
        *,
        organization_id: str,
        domain: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain]:
        """Add a domain to an organization, pending DNS verification::

        domain = await client.organization_domains.create(organization_id=org.id, domain="acme.com")
        print(domain.verification_prefix, domain.verification_token)

        A domain the organization already has raises `ConflictError` (``domain_already_exists``)
        -- unless an earlier attempt of this call had an unknown outcome (a dropped connection,
        a timeout, a 5xx): that attempt may have added it, so the organization is looked up
        and its domain of that name returned (with ``with_raw_response``, the answer of a
        ``get`` of that domain).  If the lookup finds nothing, the 409 is raised.
        """
        if not isinstance(domain, str) or not domain.strip():
            raise InvalidArgumentError("domain must be a domain name such as 'acme.com'.")
        body = {"organization_id": check_id("organization_id", organization_id), "domain": domain}
        try:
            response = await self._client._request(
                "POST",
                (ORGANIZATION_DOMAINS,),
                json=body,
                idempotency_key=idempotency_key,
                **options,
            )
        except ConflictError as error:
            if error.code != DOMAIN_ALREADY_EXISTS or not outcome_unknown(error):
                raise
            found = await self._find_created(organization_id, domain, **options)
            if found is None:
                raise
            return found
        return APIResponse(response, _parse_organization_domain)

    async def _find_created(
        self,
        organization_id: str,
        domain: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain] | None:
        """The domain an uncertain create may have added, or None when the organization has
        no domain of that name (or the lookup got no answer)."""
        wanted = normalize_domain(domain)
        try:
            response = await self._client._request("GET", (ORGANIZATIONS, organization_id), **options)
            organization: Organization = parse(response, _organization)
            for candidate in organization.domains:
                if normalize_domain(candidate.domain) == wanted:
                    return await self._get(candidate.id, **options)
        except WorkOSError:
            return None
        return None

    async def _get(
        self,
        id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain]:
        """Get a domain by its ID (``org_domain_...``); `NotFoundError` when there is none."""
        response = await self._client._request(
            "GET",
            (ORGANIZATION_DOMAINS, check_id("id", id)),
            **options,
        )
        return APIResponse(response, _parse_organization_domain)

    async def _verify(
        self,
        id: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain]:
        """Start verifying a domain; the returned domain's ``state`` tells how it went.

        A domain that is already verified raises `BadRequestError` (``domain_already_verified``)
        -- unless an earlier attempt of this call had an unknown outcome: that attempt may have
        verified it, so the domain is fetched and returned instead (with ``with_raw_response``,
        the answer of that ``get``).  If the fetch fails, the 400 is raised.
        """
        try:
            response = await self._client._request(
                "POST",
                (ORGANIZATION_DOMAINS, check_id("id", id), "verify"),
                idempotency_key=idempotency_key,
                **options,
            )
        except BadRequestError as error:
            if error.code != DOMAIN_ALREADY_VERIFIED or not outcome_unknown(error):
                raise
            found = await self._find_verified(id, **options)
            if found is None:
                raise
            return found
        return APIResponse(response, _parse_organization_domain)

    async def _find_verified(
        self,
        id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[OrganizationDomain] | None:
        """The domain an uncertain verify acted on, or None when it cannot be fetched."""
        try:
            found = await self._get(id, **options)
            found.parse()
        except WorkOSError:
            return None
        return found

    async def _delete(
        self,
        id: str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[None]:
        """Remove a domain from its organization; returns None.

        A 404 counts as done when an earlier attempt of this call had an unknown outcome
        (that attempt removed it); a 404 on the first attempt raises `NotFoundError`.
        """
        try:
            response = await self._client._request(
                "DELETE",
                (ORGANIZATION_DOMAINS, check_id("id", id)),
                **options,
            )
        except NotFoundError as error:
            if not outcome_unknown(error):
                raise
            return APIResponse(error_response(error), no_content)
        return APIResponse(response, no_content)

    create = parsed(_create)
    get = parsed(_get)
    verify = parsed(_verify)
    delete = parsed(_delete)


class OrganizationDomainsWithRawResponse:
    """``client.organization_domains.with_raw_response``: each call returns an `APIResponse`."""

    def __init__(self, organization_domains: OrganizationDomains) -> None:
        self.create = organization_domains._create
        self.get = organization_domains._get
        self.verify = organization_domains._verify
        self.delete = organization_domains._delete
