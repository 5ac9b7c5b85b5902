"""An asyncio SDK for the WorkOS Organizations API.

::

    from workos_orgs import AsyncWorkOS

    async with AsyncWorkOS() as client:  # reads WORKOS_API_KEY
        async for organization in client.organizations.list():
            print(organization.id, organization.name)

The package also ships a local emulator of the API (`workos_orgs.emulator`).
"""

from ._bulk import (
    FieldChange,
    InvalidRecordError,
    OrganizationRecord,
    SyncEvent,
    SyncFailure,
    SyncInputError,
    SyncReport,
)
from ._client import AsyncWorkOS
from ._contract import DomainState, DomainVerificationStrategy, Order
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    FieldError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    WorkOSError,
)
from ._models import UNSET, DomainData, ListMetadata, Organization, OrganizationDomain, Page, Unset
from ._organization_domains import OrganizationDomains, OrganizationDomainsWithRawResponse
from ._organizations import Organizations, OrganizationsWithRawResponse
from ._pagination import AsyncPager
from ._response import APIResponse
from ._retry import Backoff
from ._throttle import RateLimiter
from ._version import VERSION

__version__ = VERSION

__all__ = [
    "UNSET",
    "APIConnectionError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPager",
    "AsyncWorkOS",
    "AuthenticationError",
    "Backoff",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DomainData",
    "DomainState",
    "DomainVerificationStrategy",
    "FieldChange",
    "FieldError",
    "InternalServerError",
    "InvalidArgumentError",
    "InvalidRecordError",
    "ListMetadata",
    "NotFoundError",
    "Order",
    "Organization",
    "OrganizationDomain",
    "OrganizationDomains",
    "OrganizationDomainsWithRawResponse",
    "OrganizationRecord",
    "Organizations",
    "OrganizationsWithRawResponse",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "ResponseValidationError",
    "SyncEvent",
    "SyncFailure",
    "SyncInputError",
    "SyncReport",
    "UnprocessableEntityError",
    "Unset",
    "WorkOSError",
    "__version__",
]
