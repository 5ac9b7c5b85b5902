"""The domains a caller asks to attach, checked once for the resource methods and for bulk sync.

``organizations.create``/``update`` take ``domain_data``; a sync record takes ``domains``,
which may also hold plain names.  Both are read here, entry by entry, by the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from ._contract import DOMAIN_DATA_STATES, DomainState
from ._errors import InvalidArgumentError, given
from ._models import DomainData

DomainDataInput = DomainData | Mapping[str, str]
"""A domain to attach: a `DomainData`, or a mapping with ``domain`` and ``state``."""

_KEYS: Final = frozenset({"domain", "state"})
"""The keys of a domain given as a mapping."""


def domain_data_list(value: object, *, names: bool, refusal: Callable[[], str]) -> tuple[DomainData, ...]:
    """Each domain of `value` as `DomainData`; `InvalidArgumentError` naming the one that is wrong.

    An entry is a `DomainData` or a mapping with ``domain`` (and ``state``, ``pending`` when
    left out; any other key is refused); with `names`, a plain name too (``pending``).
    `value` is a list or another iterable, never a string or a mapping: those are refused
    with the message `refusal` gives (made only then: a sync reads a record's domains here).
    """
    if value is None or isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidArgumentError(refusal())
    return tuple(_entry(entry, index, names=names) for index, entry in enumerate(value))


def check_no_space(where: str, domain: str, *, hint: str = "") -> None:
    """Refuse a domain with a space inside: two names run together (`hint` says how to part them)."""
    if any(character.isspace() for character in domain.strip()):
        raise InvalidArgumentError(
            f"{where}: {given(domain)} is not a domain name: it holds a space; give each domain on its own{hint}."
        )


def _entry(entry: Any, index: int, *, names: bool) -> DomainData:
    # A record's domains are named as a list ("each domain"); an argument's by its index.
    where = "each domain" if names else f"domain_data[{index}]"
    if isinstance(entry, DomainData):
        domain, state = entry.domain, entry.state
    elif names and isinstance(entry, str):
        domain, state = entry, DomainState.PENDING
    elif isinstance(entry, Mapping) and "domain" in entry:
        if unknown := [key for key in entry if key not in _KEYS]:
            raise InvalidArgumentError(
                f"{where} has a key the API does not take: {unknown[0]!r}; a domain is"
                " {'domain': 'acme.com', 'state': 'pending' or 'verified'}."
            )
        domain, state = entry["domain"], entry.get("state", DomainState.PENDING)
    else:
        accepted = (
            "a name or {'domain': ..., 'state': ...}"
            if names
            else "a DomainData(domain, state) or a mapping with domain and state"
        )
        raise InvalidArgumentError(f"{where} must be {accepted}; got {given(entry)}.")
    if not isinstance(domain, str) or not domain.strip():
        raise InvalidArgumentError(f"{where} must name a domain such as 'acme.com'; got {given(domain)}.")
    check_no_space(where, domain, hint=" (in a CSV domains cell, separate them with ';')" if names else "")
    # Checked before anything is sent: a state that is not text went out as its str() ("None"),
    # and a record's state is compared with the domain's, so one the API does not take
    # ("Verified") would pass as "nothing to change" on an existing organization.
    if not (isinstance(state, str) and state in DOMAIN_DATA_STATES):
        raise InvalidArgumentError(
            f"{where}: state must be 'pending' or 'verified'; got {given(state)} for {given(domain)}."
        )
    return entry if isinstance(entry, DomainData) else DomainData(domain, state)
