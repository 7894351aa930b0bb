"""The demo operators: one per role, username = role, password ``demo-<role>``; and one demo
system, a trading system with the role ``trader``."""

from __future__ import annotations

from gateway.app.api_keys import RegisterSystem
from gateway.app.operators import RegisterOperator
from gateway.domain.roles import ROLES


def demo_operators() -> list[RegisterOperator]:
    return [
        RegisterOperator(
            username=role,
            display_name=f"Demo {role.replace('-', ' ').title()}",
            roles=frozenset({role}),
            password=f"demo-{role}",
        )
        for role in sorted(ROLES)
    ]


def demo_system() -> RegisterSystem:
    return RegisterSystem("trading-system", "Demo trading system", frozenset({"trader"}))
