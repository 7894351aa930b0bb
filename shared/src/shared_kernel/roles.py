"""The roles of the back office, the offices they belong to, and the kinds of caller.

One vocabulary for every service and the gateway: a route names ``Role`` members, an event's
actor names an ``Office``, and a signed token names a ``CallerKind``. They are ``StrEnum``s, so
a member equals the string stored in events, tokens and tables (``Role.TRADER == "trader"``)
and old records keep reading as they are.

Front office (sales, trading, customer service) initiates; back office (booking, risk, IT,
control) checks, approves, books and controls; oversight (administration, audit) watches both
and works in neither (MaRisk segregation of duties, see DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from shared_kernel.errors import DomainError


class UnknownRole(DomainError):
    """A role name that the back office does not define."""


class UnknownOffice(DomainError):
    """An office name that the back office does not define."""


class Role(StrEnum):
    TRADER = "trader"
    CUSTOMER_SERVICE = "customer-service"
    ACCOUNTANT = "accountant"
    RISK_OFFICER = "risk-officer"
    IT_SUPPORT = "it-support"
    CONTROLLER = "controller"
    # Monitoring systems (and the people on watch) raise IT incidents and post risk indicators.
    MONITORING = "monitoring"
    ADMIN = "admin"
    AUDITOR = "auditor"

    @classmethod
    def parse(cls, value: str, *, field: str = "roles") -> Role:
        """The role named ``value``; UnknownRole (422, naming ``field``) for any other name."""
        try:
            return cls(value)
        except ValueError:
            raise UnknownRole(
                f"unknown role {value!r}; known roles are {', '.join(sorted(cls))}", field=field
            ) from None

    @property
    def office(self) -> Office:
        """The office whose work this role does."""
        return ROLE_OFFICES[self]


class Office(StrEnum):
    FRONT = "front"
    BACK = "back"
    OVERSIGHT = "oversight"  # admin, auditor: they control the two offices, work in neither
    # The services' own work (sweepers, inboxes, set-up): no role belongs to it, no person works
    # in it; the office of the actor ``system:<name>`` on the events that work records.
    SYSTEM = "system"

    @classmethod
    def _missing_(cls, value: object) -> Office | None:
        # Events and tokens written before oversight was an office of its own say "none".
        return cls.OVERSIGHT if value == "none" else None

    @classmethod
    def parse(cls, value: str, *, field: str = "office") -> Office:
        """The office named ``value`` (``"none"`` reads as oversight); UnknownOffice otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise UnknownOffice(
                f"unknown office {value!r}; known offices are {', '.join(cls)}", field=field
            ) from None


class CallerKind(StrEnum):
    """Who calls: a person (an operator who logged in) or a system (an API key, or a service's
    own work). The values are those of the signed token and of stored records."""

    PERSON = "user"
    SYSTEM = "system"


ROLE_OFFICES: Mapping[Role, Office] = MappingProxyType(
    {
        Role.TRADER: Office.FRONT,
        Role.CUSTOMER_SERVICE: Office.FRONT,
        Role.ACCOUNTANT: Office.BACK,
        Role.RISK_OFFICER: Office.BACK,
        Role.IT_SUPPORT: Office.BACK,
        Role.CONTROLLER: Office.BACK,
        Role.MONITORING: Office.BACK,
        Role.ADMIN: Office.OVERSIGHT,
        Role.AUDITOR: Office.OVERSIGHT,
    }
)


def roles_of(names: Iterable[str], *, field: str = "roles") -> frozenset[Role]:
    """The roles named, refusing (UnknownRole, naming ``field``) any name that is not a role."""
    wanted = frozenset(names)
    unknown = sorted(str(name) for name in wanted if name not in ROLE_OFFICES)
    if unknown:
        raise UnknownRole(
            f"unknown role(s) {', '.join(unknown)}; known roles are {', '.join(sorted(Role))}",
            field=field,
        )
    return frozenset(Role(name) for name in wanted)
