"""The demo operators: one per role, username = role, password ``demo-<role>``, plus a second
risk officer and a second IT supporter (four-eyes approvals and round-robin need two); and the
demo systems: a trading system with the role ``trader`` and a monitoring system with the role
``monitoring`` (it raises IT incidents and posts risk indicators)."""

from __future__ import annotations

from gateway.app.api_keys import RegisterSystem
from gateway.app.operators import RegisterOperator
from gateway.domain.roles import ROLES, Role

# Second operators of a role: username ``<role>-2``, password ``demo-<role>-2``.
SECOND_OPERATORS = (Role.RISK_OFFICER, Role.IT_SUPPORT)


def demo_operators() -> list[RegisterOperator]:
    firsts = [(role.value, role) for role in sorted(ROLES)]
    seconds = [(f"{role.value}-2", role) for role in SECOND_OPERATORS]
    return [
        RegisterOperator(
            username=username,
            display_name=f"Demo {username.replace('-', ' ').title()}",
            roles=frozenset({role}),
            password=f"demo-{username}",
        )
        for username, role in firsts + seconds
    ]


def demo_systems() -> list[RegisterSystem]:
    return [
        RegisterSystem("trading-system", "Demo trading system", frozenset({Role.TRADER})),
        RegisterSystem("monitoring-system", "Demo monitoring system", frozenset({Role.MONITORING})),
    ]
