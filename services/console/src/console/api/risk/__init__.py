"""The Risk section: heat map, register and risk detail, limits and their versions, breaches
with measures, KRIs with their history, and the front office's pre-deal check."""

from __future__ import annotations

from fastapi import APIRouter

from console.api.risk import breaches, identify, kris, limits, pre_deal, register, risk_forms

router = APIRouter()
for part in (identify, register, risk_forms, limits, breaches, kris, pre_deal):
    router.include_router(part.router)

__all__ = ["router"]
