"""The demo operators: one per role, username = role, password ``demo-<role>``."""

from __future__ import annotations

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
