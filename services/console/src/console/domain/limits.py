"""Limits as the console shows them: a utilisation bar with its colour band, and the words of
a limit's scope. Pure: works on the risk API's JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# Bands of a utilisation bar, as the risk service names the threshold states.
OK, WARNING, BREACHED = "ok", "warning", "breached"
DEFAULT_WARNING = 0.8


@dataclass(frozen=True)
class UtilisationBar:
    """What a ``<meter>`` needs: the value it draws (a full bar at 100 % and beyond), the
    share used as basis points for the text, the warning mark, and the band."""

    used: float  # exposure / amount, may exceed 1
    warning: float
    band: str

    @property
    def drawn(self) -> float:
        return max(0.0, min(self.used, 1.0))

    @property
    def basis_points(self) -> int:
        return round(self.used * 10_000)


def utilisation_bar(limit: Mapping[str, Any]) -> UtilisationBar | None:
    """The bar of a limit, None when it has no approved amount yet. The band follows the
    state the risk service recorded (it saw the crossing events) and, should the read lag,
    the figures themselves: a bar never shows green beyond its warning mark."""
    used = limit.get("utilisation")
    if used is None:
        return None
    current = limit.get("current") or {}
    warning = float(current.get("warning_threshold") or DEFAULT_WARNING)
    used = float(used)
    state = limit.get("threshold_state")
    if state == BREACHED or used > 1.0:
        band = BREACHED
    elif state == WARNING or used >= warning:
        band = WARNING
    else:
        band = OK
    return UtilisationBar(used, warning, band)


def scope_of(limit: Mapping[str, Any]) -> str:
    """ "ACME / desk rates" : whom the limit is on (counterparty, desk or both)."""
    parts = [str(limit[key]) for key in ("counterparty", "desk") if limit.get(key)]
    return " / ".join(parts) or "\u2013"


def shortfalls(checked: Sequence[Mapping[str, Any]], amount: int) -> dict[str, int]:
    """Per limit a pre-deal check touched: by how much (minor units) a deal of ``amount``
    would exceed it; limits the deal fits are left out."""
    found: dict[str, int] = {}
    for limit in checked:
        missing = int(limit["exposure"]) + amount - int(limit["amount"])
        if missing > 0:
            found[str(limit["limit_id"])] = missing
    return found


class ShareNotUnderstood(ValueError):
    """A typed percentage that is not one (a warning threshold)."""


def share_of_percent(text: str) -> Decimal:
    """ "80" or "80,5" or "80.5 %" -> 0.805 (a share of 1), refused outside (0, 100]."""
    cleaned = text.replace("%", "").replace("\u00a0", "").strip().replace(",", ".")
    try:
        percent = Decimal(cleaned)
    except InvalidOperation as failure:
        raise ShareNotUnderstood(f"{text!r} is not a percentage") from failure
    if not percent.is_finite() or percent <= 0 or percent > 100:
        raise ShareNotUnderstood("the warning threshold must be above 0 and at most 100 %")
    share = (percent / 100).quantize(Decimal("0.0001"))
    if share * 100 != percent:
        raise ShareNotUnderstood("the warning threshold takes at most two decimals")
    return share
