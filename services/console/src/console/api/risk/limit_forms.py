"""What the limit forms send: the risk API's bodies from what an operator typed (amounts in
the reader's locale, thresholds in percent, a last valid day)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from console.api.risk.common import bad_input
from console.api.web import Visit
from console.domain.limits import ShareNotUnderstood, share_of_percent
from console.domain.money import AmountNotUnderstood

DIMENSIONS = ("counterparty", "desk", "counterparty_desk")


def new_limit_body(visit: Visit, fields: Mapping[str, str]) -> dict[str, Any]:
    """A new limit: its scope (whom it is on, in which currency) and its first terms."""
    dimension = fields.get("dimension", "")
    currency = fields.get("currency", "").strip().upper()
    body: dict[str, Any] = {"dimension": dimension, "currency": currency}
    for key in ("counterparty", "desk"):
        if fields.get(key, "").strip():
            body[key] = fields[key].strip()
    return {**body, **change_body(visit, {**fields, "currency": currency})}


def change_body(visit: Visit, fields: Mapping[str, str]) -> dict[str, Any]:
    """The API's terms from what was typed: the amount in the reader's locale, the warning
    threshold in percent, the last valid day (inclusive: valid until the next midnight UTC)."""
    currency = fields.get("currency", "")
    try:
        amount = visit.formats.parse_amount(fields.get("amount", ""), currency)
    except AmountNotUnderstood as failure:
        raise bad_input(visit, str(failure), "amount") from failure
    body: dict[str, Any] = {"amount": amount, "reason": fields.get("reason", "").strip()}
    if fields.get("warning_threshold", "").strip():
        try:
            body["warning_threshold"] = float(share_of_percent(fields["warning_threshold"]))
        except ShareNotUnderstood as failure:
            raise bad_input(visit, str(failure), "warning_threshold") from failure
    if fields.get("valid_to", "").strip():
        try:
            last_day = date.fromisoformat(fields["valid_to"].strip())
        except ValueError as failure:
            raise bad_input(
                visit, visit.formats._("The last valid day is not a date."), "valid_to"
            ) from failure
        ends = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
        body["valid_to"] = ends.isoformat()
    return body
