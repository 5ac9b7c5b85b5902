"""``client.organization_domains``: create, get, verify, delete."""

from __future__ import annotations

from typing import Any, Unpack

from ._errors import InvalidArgumentError, NotFoundError
from ._models import OrganizationDomain, structure_organization_domain
from ._protocol import check_id, outcome_unknown
from ._resource import APIResponse, Requester, RequestOptions, error_response, json_parser, no_content, parsed

ORGANIZATION_DOMAINS = "organization_domains"


def _organization_domain(data: Any) -> OrganizationDomain:
    return structure_organization_domain(data, OrganizationDomain)  # type: ignore[no-any-return]


_parse_organization_domain = json_parser(_organization_domain)


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
        """
        if not isinstance(domain, str) or not domain.strip():
            raise InvalidArgumentError("domain must be a domain name such as 'acme.com'.")
        body = {"organization_id": check_id("organization_id", organization_id), "domain": domain}
        response = await self._client._request(
            "POST",
            (ORGANIZATION_DOMAINS,),
            json=body,
            idempotency_key=idempotency_key,
            **options,
        )
        return APIResponse(response, _parse_organization_domain)

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

        A domain that is already verified raises `BadRequestError` (``domain_already_verified``).
        """
        response = await self._client._request(
            "POST",
            (ORGANIZATION_DOMAINS, check_id("id", id), "verify"),
            idempotency_key=idempotency_key,
            **options,
        )
        return APIResponse(response, _parse_organization_domain)

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
