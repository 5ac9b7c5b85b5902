"""``client.organization_domains``: create, get, verify, delete."""

from __future__ import annotations

import functools
from typing import Any, Final, Unpack

import attrs

from ._base_client import BaseClient
from ._contract import DOMAIN_ALREADY_EXISTS, DOMAIN_ALREADY_VERIFIED, normalize_domain
from ._domain_data import check_no_space
from ._errors import BadRequestError, ConflictError, InvalidArgumentError, WorkOSError
from ._models import OrganizationDomain, structure_organization_domain
from ._organizations import ORGANIZATIONS, parse_organization
from ._request import DOMAIN_ID_EXAMPLE, check_id
from ._resource import APIResource, RawResponseMethod, RequestOptions, WithRawResponse
from ._response import Response, json_parser
from ._retry import ended_without_response, outcome_unknown

ORGANIZATION_DOMAINS: Final = "organization_domains"


def _organization_domain(data: Any) -> OrganizationDomain:
    return structure_organization_domain(data, OrganizationDomain)  # type: ignore[no-any-return]


parse_organization_domain: Final = json_parser(_organization_domain)
"""An organization domain from a response's body."""


@attrs.frozen
class _AddedAlready:
    """A domain create that may have added the domain after all: no attempt got a definitive
    response, or one whose outcome is unknown was followed by ``domain_already_exists``.  The
    organization's domain of that name, fetched by its ID, is then the response; the lookup
    accepts only that domain on that organization."""

    organization_id: str
    domain: str

    def applies(self, error: WorkOSError) -> bool:
        if ended_without_response(error):
            return True
        return isinstance(error, ConflictError) and error.code == DOMAIN_ALREADY_EXISTS and outcome_unknown(error)

    async def find(self, error: WorkOSError, client: BaseClient, options: RequestOptions) -> Response | None:
        organization = parse_organization(
            await client._request("GET", (ORGANIZATIONS, self.organization_id), **options)
        )
        wanted = normalize_domain(self.domain)
        for candidate in organization.domains:
            if normalize_domain(candidate.domain) == wanted:
                return await client._request(
                    "GET", (ORGANIZATION_DOMAINS, check_id("id", candidate.id, DOMAIN_ID_EXAMPLE)), **options
                )
        return None


@attrs.frozen
class _VerifiedAlready:
    """A verify that met ``domain_already_verified`` after an earlier attempt had an unknown
    outcome: that attempt may have verified it, so the domain, fetched, is the response."""

    id: str

    def applies(self, error: WorkOSError) -> bool:
        return isinstance(error, BadRequestError) and error.code == DOMAIN_ALREADY_VERIFIED and outcome_unknown(error)

    async def find(self, error: WorkOSError, client: BaseClient, options: RequestOptions) -> Response | None:
        response = await client._request("GET", (ORGANIZATION_DOMAINS, self.id), **options)
        parse_organization_domain(response)  # a body that does not fit raises, and the 400 with it
        return response


class OrganizationDomains(APIResource):
    """Organization domains: ``client.organization_domains``.

    Every method also takes the options `RequestOptions` lists (``timeout``, ``max_retries``,
    ...) for that call alone; the POSTs (``create``, ``verify``) take an ``idempotency_key`` (generated when
    you pass none).
    """

    @functools.cached_property
    def with_raw_response(self) -> OrganizationDomainsWithRawResponse:
        """The same calls, returning `APIResponse` (status, headers, request id, ``parse()``)."""
        return OrganizationDomainsWithRawResponse(self)

    async def create(
        self,
        *,
        organization_id: str,
        domain: str,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> OrganizationDomain:
        """Add a domain to an organization, pending DNS verification::

            domain = await client.organization_domains.create(organization_id=org.id, domain="acme.com")
            print(f"TXT {domain.verification_prefix}.{domain.domain} = {domain.verification_token}")

        A domain the organization already has raises `ConflictError` (``domain_already_exists``)
        -- unless an earlier attempt of this call had an unknown outcome (a dropped connection,
        a timeout, a 5xx): that attempt may have added it, so the organization is looked up
        and its domain of that name returned (with ``with_raw_response``, the response of a
        ``get`` of that domain).  The same lookup settles a call whose attempts all ended
        with no definitive response.  If the lookup finds nothing, the error is raised: no
        domain was added twice, but a request still on its way may add this one after the
        lookup, so a retry of the create may then meet ``domain_already_exists`` for the
        domain this call added -- look the organization up then.  In those cases a domain the organization already
        had before the call is returned as if the call had added it: no response can tell the
        two apart.
        """
        if not isinstance(domain, str) or not domain.strip():
            raise InvalidArgumentError("domain must be a domain name such as 'acme.com'.")
        check_no_space("domain", domain)
        body = {"organization_id": check_id("organization_id", organization_id), "domain": domain}
        return await self._post(
            (ORGANIZATION_DOMAINS,),
            cast=parse_organization_domain,
            body=body,
            idempotency_key=idempotency_key,
            recovery=_AddedAlready(organization_id, domain),
            **options,
        )

    async def get(self, id: str, **options: Unpack[RequestOptions]) -> OrganizationDomain:
        """Get a domain by its ID (``org_domain_...``); `NotFoundError` when there is none."""
        return await self._get(
            (ORGANIZATION_DOMAINS, check_id("id", id, DOMAIN_ID_EXAMPLE)), cast=parse_organization_domain, **options
        )

    async def verify(
        self,
        id: str,
        *,
        idempotency_key: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> OrganizationDomain:
        """Start verifying a domain; the returned domain's ``state`` tells how it went.

        A domain that is already verified raises `BadRequestError` (``domain_already_verified``)
        -- unless an earlier attempt of this call had an unknown outcome: that attempt may have
        verified it, so the domain is fetched and returned instead (with ``with_raw_response``,
        the response of that ``get``).  If the fetch fails, the 400 is raised.
        """
        return await self._post(
            (ORGANIZATION_DOMAINS, check_id("id", id, DOMAIN_ID_EXAMPLE), "verify"),
            cast=parse_organization_domain,
            idempotency_key=idempotency_key,
            recovery=_VerifiedAlready(id),
            **options,
        )

    async def delete(self, id: str, **options: Unpack[RequestOptions]) -> None:
        """Remove a domain from its organization; returns None.

        The API's 404 (``entity_not_found``) counts as done when an earlier attempt of this call
        had an unknown outcome (that attempt removed it); a 404 on the first attempt, or one
        from a gateway, raises `NotFoundError`.
        """
        return await self._delete((ORGANIZATION_DOMAINS, check_id("id", id, DOMAIN_ID_EXAMPLE)), **options)


class OrganizationDomainsWithRawResponse(WithRawResponse[OrganizationDomains]):
    """``client.organization_domains.with_raw_response``: each call returns an `APIResponse`."""

    create: Final = RawResponseMethod(OrganizationDomains.create)
    get: Final = RawResponseMethod(OrganizationDomains.get)
    verify: Final = RawResponseMethod(OrganizationDomains.verify)
    delete: Final = RawResponseMethod(OrganizationDomains.delete)
