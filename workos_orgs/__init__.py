"""An asyncio SDK for the WorkOS Organizations API.

::

    from workos_orgs import AsyncWorkOS

    async with AsyncWorkOS() as client:  # reads WORKOS_API_KEY
        async for organization in client.organizations.list():
            print(organization.id, organization.name)

Blocking code (Django, Flask, Celery, scripts) uses `WorkOS`, the same client as plain calls::

    with WorkOS() as client:
        organization = client.organizations.get("org_01H...")

The package also ships a local emulator of the API (`workos_orgs.emulator`).
"""

from ._base_client import ClientOptions
from ._blocking import (
    BlockingOrganizationDomains,
    BlockingOrganizationDomainsWithRawResponse,
    BlockingOrganizations,
    BlockingOrganizationsWithRawResponse,
    WorkOS,
)
from ._blocking_pager import Pager
from ._bulk import (
    FieldChange,
    InvalidRecordError,
    OrganizationRecord,
    SyncEvent,
    SyncFailure,
    SyncInputError,
    SyncReport,
    SyncStoppedError,
)
from ._client import AsyncWorkOS
from ._contract import DomainState, DomainVerificationStrategy, Order
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BlockingCallInEventLoopError,
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
    UnexpectedOptionError,
    UnprocessableEntityError,
    WorkOSError,
    WrongEventLoopError,
)
from ._models import UNSET, DomainData, ListMetadata, Organization, OrganizationDomain, Page, Unset
from ._organization_domains import OrganizationDomains, OrganizationDomainsWithRawResponse
from ._organizations import Organizations, OrganizationsWithRawResponse
from ._pagination import AsyncPager
from ._resource import RequestOptions
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
    "BlockingCallInEventLoopError",
    "BlockingOrganizationDomains",
    "BlockingOrganizationDomainsWithRawResponse",
    "BlockingOrganizations",
    "BlockingOrganizationsWithRawResponse",
    "ClientClosedError",
    "ClientOptions",
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
    "Pager",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RequestOptions",
    "ResponseValidationError",
    "SyncEvent",
    "SyncFailure",
    "SyncInputError",
    "SyncReport",
    "SyncStoppedError",
    "UnexpectedOptionError",
    "UnprocessableEntityError",
    "Unset",
    "WorkOS",
    "WorkOSError",
    "WrongEventLoopError",
    "__version__",
]
