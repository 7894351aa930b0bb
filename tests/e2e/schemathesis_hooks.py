"""schemathesis hooks and checks for test_e2e_schemathesis.py (loaded by schemathesis, not by
pytest).

A read may wait for the read model to reach ``min_position``, up to ``wait_ms`` (10 s at most).
Generated positions lie in the future, so every such read would wait its full time: the wait
is capped here. Only valid values are lowered (they stay valid), so that invalid ones still
test the service's validation.

``valid_data_passes_validation``: data the schema calls valid may be refused by a business rule
(an unknown account, an unbalanced entry: 422 with the rule's code), never by the request
validation (``InvalidRequest``): that would mean the schema is looser than the validation.
"""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_WAIT_MS = 50
MALFORMED = "InvalidRequest"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    query = case.query
    if not isinstance(query, dict) or query.get("min_position") is None:
        return
    wait = query.get("wait_ms", 5000)
    if isinstance(wait, int) and not isinstance(wait, bool) and 0 <= wait <= 10_000:
        query["wait_ms"] = min(wait, MAX_WAIT_MS)


@schemathesis.check
def valid_data_passes_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        code = None
    if code == MALFORMED:
        raise AssertionError(f"Valid data was refused as malformed: {response.text[:500]}")
    return None
