"""Request field types whose JSON Schema says exactly what they accept.

JSON Schema's ``integer`` is any number without a fractional part, so ``5.0`` is one; pydantic's
``StrictInt`` refuses it, which makes the documented schema looser than the validation (a
client that follows the schema is refused). ``JSON_INTEGER``, placed after a strict integer's
constraints, accepts exactly what ``integer`` does: whole numbers, also written ``5.0``, never
``true``, ``"5"`` or ``5.5``. Money stays integral: ``5.0`` minor units is the integer 5::

    amount: Annotated[StrictInt, Field(gt=0), JSON_INTEGER]

(After the constraints, so that they stay in the schema as ``exclusiveMinimum`` and the like.)
"""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Input should be a valid integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JSON_INTEGER = BeforeValidator(_whole_number)
