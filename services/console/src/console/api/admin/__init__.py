"""Admin: operators and their roles, systems and their API keys (the ``admin`` role only).

The gateway's ``/admin/v1`` decides everything (segregation of duties, no administrator
changing their own access, versions); these pages show its answers and explain its refusals.
"""

from __future__ import annotations

from fastapi import APIRouter

from console.api.admin import operators, systems

router = APIRouter()
router.include_router(operators.router)
router.include_router(systems.router)
