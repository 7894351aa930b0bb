"""The base of the gateway's own request bodies: unknown fields refused, and no NUL character
in any text.

PostgreSQL can store a NUL character neither in ``text`` nor in ``jsonb``, so a NUL that got
past validation would fail in the database as a 500. Every text of every body is checked here,
at the edge, and refused with a 422 naming the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

NUL = "\x00"


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        if _holds_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    return False
