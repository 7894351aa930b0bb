"""One line a person can read for every event of a case: "Deal refused: limit L exceeded by
EUR 1,000.00".

Pure functions, one per family of event types, over the timeline's own classes of the other
services' events (``case_ledger_events``, ``case_risk_events``, ``case_tickets_events``).
Amounts are minor units in the data and shown in major units with the currency's decimals. An
event of a type the timeline does not know, or whose data does not fit its class, gets the
generic summary (its type in words and its subject): the timeline shows every event and never
fails on one.

Each summary also says whether the event is *internal*: a detail of the back office's work
(an internal note on a ticket, an exposure total) that a caller who sees only the cases it
started (front office, systems) is not shown, as the tickets service hides internal notes from
requesters. A type the timeline does not know is internal too: fail closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared_kernel.domain import DomainEvent

from gateway.domain import case_ledger_events as ledger
from gateway.domain import case_risk_events as risk
from gateway.domain import case_tickets_events as tickets
from gateway.domain import events as gw
from gateway.domain.case_text import clip, compact, money, percent, said

MAX_SUMMARY = 400
_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class Summary:
    text: str
    internal: bool = False


def summarize(
    event: DomainEvent | None, event_type: str, stream_type: str, subject: str
) -> Summary:
    """The summary of one event; ``event`` is None when it could not be read with the
    timeline's classes (then, and when a family cannot say more, the generic one)."""
    family = _FAMILIES.get(type(event)) if event is not None else None
    if family is not None:
        try:
            summary = family(event)
        except Exception:  # odd data (say a negative currency exponent) must not stop anyone
            summary = None
        if summary is not None:
            # Names and ids from the data are interpolated too: one line, no control characters.
            return Summary(said(summary.text, MAX_SUMMARY), summary.internal)
    return generic(event_type, stream_type, subject)


def generic(event_type: str, stream_type: str, subject: str) -> Summary:
    """``ledger.AccountPostingRecorded`` on account 42: "Account posting recorded (account 42)"."""
    name = event_type.rsplit(".", 1)[-1] or event_type
    words = _WORDS.sub(" ", name).lower().capitalize()
    where = " ".join(said(part, 80) for part in (stream_type, subject) if part)
    return Summary(clip(f"{words} ({where})" if where else words, MAX_SUMMARY), internal=True)


def _total(lines: Iterable[ledger.Line]) -> str:
    """The amount of an entry or request: per currency, the sum of its debit lines."""
    sums: dict[str, int] = {}
    for line in lines:
        if line.side == "debit":
            sums[line.currency] = sums.get(line.currency, 0) + line.amount
    return " + ".join(money(amount, currency) for currency, amount in sums.items()) or "no amount"


def _party(counterparty: str | None, desk: str | None) -> str:
    if counterparty and desk:
        return f"{said(counterparty, 60)} (desk {said(desk, 60)})"
    if counterparty:
        return said(counterparty, 60)
    return f"desk {said(desk, 60)}" if desk else ""


# --- the families -------------------------------------------------------------------------


def _booking_requests(event: Any) -> Summary | None:
    match event:
        case ledger.BookingRequestSubmitted():
            party = _party(event.metadata.get("counterparty"), event.metadata.get("desk"))
            what = f"{_total(event.lines)} to {party}" if party else _total(event.lines)
            text = "" if party else f" - {said(event.text)}"
            return Summary(f"Booking request submitted by {event.submitted_by}: {what}{text}")
        case ledger.BookingRequestApproved():
            return Summary(
                f"Booking request approved by {event.approved_by}: entry {event.entry_id} posted"
            )
        case ledger.BookingRequestRejected():
            return Summary(f"Booking request rejected by {event.rejected_by}: {said(event.reason)}")
        case ledger.BookingRequestExpired():
            return Summary("Booking request expired undecided")
        case ledger.BookingRequestCleared():
            return Summary("Risk clearance recorded on the booking request: it may be approved")
        case ledger.BookingRequestRefused():
            return Summary(f"Risk refusal recorded on the booking request: {_refusal(event)}")
    return None


def _refusal(event: ledger.BookingRequestRefused | risk.DealRefused) -> str:
    if event.code == "LimitExceeded" and event.limit_id and event.shortfall is not None:
        return f"limit {event.limit_id} exceeded by {money(event.shortfall, event.currency)}"
    if event.code == "NoActiveLimit" and isinstance(event, risk.DealRefused):
        party = _party(event.counterparty, event.desk)
        return f"no active limit for {party}" if party else "no active limit"
    return said(event.reason) or event.code


def _journal(event: Any) -> Summary | None:
    match event:
        case ledger.JournalEntryPosted():
            kind = f"Reversal of entry {event.reverses}" if event.reverses else "Journal entry"
            party = _party(event.metadata.get("counterparty"), event.metadata.get("desk"))
            for_whom = f" for {party}" if party else ""
            return Summary(
                f"{kind} {event.voucher_number} posted: {_total(event.lines)}{for_whom}"
                f" - {said(event.text)}"
            )
        case ledger.JournalEntryReversed():
            return Summary(
                f"Journal entry reversed by {event.reversed_by} "
                f"(reversal {event.reversal_entry_id}): {said(event.reason)}"
            )
        case ledger.PeriodClosed():
            return Summary(f"Period {event.period} closed by {event.closed_by}")
        case ledger.AccountOpened():
            name = said(event.name, 80)
            return Summary(f"Account {event.code} {name} ({event.currency}) opened")
        case ledger.AccountClosed():
            return Summary(f"Account closed by {event.closed_by}: {said(event.reason)}")
        case ledger.AccountRenamed():
            return Summary(f"Account renamed by {event.renamed_by} to {said(event.name, 80)}")
    return None


def _deals(event: Any) -> Summary | None:
    match event:
        case risk.DealCleared():
            how = "Deal cleared on re-check" if event.recheck else "Deal cleared"
            if not event.checks:
                return Summary(how)
            tightest = min(event.checks, key=lambda c: c.headroom_after)
            more = len(event.checks) - 1
            return Summary(
                f"{how}: within limit {tightest.limit_id}, "
                f"{money(tightest.headroom_after, tightest.currency)} of "
                f"{money(tightest.limit_amount, tightest.currency)} left"
                + (f" (and {more} more limit{'s' * (more > 1)})" if more else "")
            )
        case risk.DealRefused():
            how = "Deal refused on re-check" if event.recheck else "Deal refused"
            return Summary(f"{how}: {_refusal(event)}")
        case risk.DealReleased():
            released = ", its reservation released" if event.reserved else ""
            return Summary(f"Deal closed ({event.outcome}){released}")
        case risk.DealPosted():
            how = "its reservation became exposure" if event.reserved else "counted as exposure"
            return Summary(f"Deal posted as entry {event.entry_id}: {how}")
    return None


def _limit_usage(event: Any) -> Summary | None:
    if not isinstance(event, risk.LimitUsage):
        return None
    usage = (
        f"{compact(event.exposure, event.currency)} of "
        f"{compact(event.limit_amount, event.currency)} ({percent(event.utilisation_bp)})"
    )
    scope = _party(event.counterparty, event.desk) or event.dimension
    match event:
        case risk.LimitBreached():
            return Summary(f"Limit breached for {scope}: {usage}")
        case risk.LimitWarningReached():
            return Summary(f"Limit warning for {scope}: {usage}")
        case risk.LimitBackWithinThreshold() if event.threshold == "warning":
            return Summary(f"Back below the warning threshold for {scope}: {usage}")
        case risk.LimitBackWithinThreshold():
            return Summary(f"Back within the limit for {scope}: {usage}")
    return None


def _limits(event: Any) -> Summary | None:
    match event:
        case risk.LimitBreachMeasuresRecorded():
            return Summary(
                f"Measures recorded on the breach of limit {event.limit_id} by "
                f"{event.recorded_by}: {said(event.measures)}",
                internal=True,
            )
        case risk.LimitChangeRequested():
            scope = _party(event.counterparty, event.desk)
            return Summary(
                f"Limit {event.change} requested by {event.requested_by}: "
                f"{money(event.amount, event.currency)}{' for ' + scope if scope else ''}"
                f" - {said(event.reason)}"
            )
        case risk.LimitChangeApproved():
            return Summary(
                f"Limit change approved by {event.approved_by}: limit {event.limit_id} is now "
                f"{money(event.amount, event.currency)}"
            )
        case risk.LimitChangeRejected():
            return Summary(f"Limit change rejected by {event.rejected_by}: {said(event.reason)}")
        case risk.ExposureChanged():
            # A total over every deal of the counterparty or desk: back-office knowledge.
            scope = _party(event.counterparty, event.desk) or event.dimension
            moves = [
                f"{what} {'+' if delta > 0 else '-'}{money(abs(delta), event.currency)}"
                for what, delta in (
                    ("posted", event.posted_delta),
                    ("pending", event.pending_delta),
                )
                if delta
            ]
            return Summary(f"Exposure of {scope}: {', '.join(moves) or 'unchanged'}", internal=True)
        case risk.KriStatusChanged():
            was = f"{event.from_status} → " if event.from_status else ""
            return Summary(f"KRI {event.kri_id}: {was}{event.to_status} (value {event.value:g})")
        case risk.RiskIdentified():
            return Summary(f"Risk identified by {event.by}: {said(event.title)}")
    return None


def _tickets(event: Any) -> Summary | None:
    match event:
        case tickets.TicketOpened():
            kind = event.ticket_type.replace("_", " ").capitalize()
            return Summary(
                f"{kind} opened in {event.queue_id}: {said(event.title)} "
                f"(P{event.priority}, for {event.requester})"
            )
        case tickets.TicketNoteAdded():
            return Summary(
                f"Internal note added by {event.author}: {said(event.body)}", internal=True
            )
        case tickets.TicketReplied():
            return Summary(f"Reply by {event.author}: {said(event.body)}")
        case tickets.TicketStatusChanged():
            why = f": {said(event.reason)}" if event.reason.strip() else ""
            return Summary(f"Ticket {event.previous_status} → {event.status}{why}")
        case tickets.TicketAssigned():
            return Summary(f"Ticket assigned to {event.assignee}")
        case tickets.TicketPriorityChanged():
            why = f": {said(event.reason)}" if event.reason.strip() else ""
            return Summary(f"Priority P{event.previous_priority} → P{event.priority}{why}")
        case tickets.TicketEscalated():
            why = f": {said(event.reason)}" if event.reason.strip() else ""
            return Summary(f"Ticket escalated to {event.escalated_to}{why}")
        case tickets.SlaWarningRaised():
            return Summary(f"SLA warning: {event.clock} clock of a P{event.priority} ticket")
        case tickets.SlaBreached():
            return Summary(f"SLA breached: {event.clock} clock of a P{event.priority} ticket")
        case tickets.TicketRated():
            comment = f": {said(event.comment)}" if event.comment.strip() else ""
            return Summary(f"Ticket rated {event.rating}/5 by {event.rated_by}{comment}")
        case tickets.LimitBreachIncidentOpened():
            return Summary(
                f"Incident {event.ticket_id} opened for a breach of limit {event.limit_id}"
            )
        case tickets.LimitBreachIncidentClosed():
            return Summary(
                f"Incident {event.ticket_id} resolved: limit {event.limit_id} is kept again"
            )
        case tickets.LimitBreachMeasuresHeld():
            return Summary(
                f"Measures by {event.recorded_by} held until the incident opens", internal=True
            )
        case tickets.AlertRecorded():
            return Summary(
                f"Alert {event.state} on {said(event.host, 60)}/{said(event.check, 60)}: "
                f"{said(event.summary)}"
            )
    return None


def _access(event: Any) -> Summary | None:
    match event:
        case gw.OperatorRegistered():
            return Summary(f"Operator {event.username} registered ({', '.join(event.roles)})")
        case gw.OperatorRoleGranted():
            return Summary(f"Role {event.role} granted to {event.username}")
        case gw.OperatorRoleRevoked():
            return Summary(f"Role {event.role} revoked from {event.username}")
        case gw.OperatorDisabled():
            return Summary(f"Operator {event.username} disabled")
        case gw.SystemRegistered():
            return Summary(f"System {event.name} registered ({', '.join(event.roles)})")
        case gw.ApiKeyIssued():
            return Summary(f"API key {event.key_id} issued to {event.system}")
        case gw.ApiKeyRevoked():
            return Summary(f"API key {event.key_id} of {event.system} revoked")
    return None


_Family = Callable[[Any], Summary | None]
_BY_FAMILY: tuple[tuple[_Family, tuple[type[DomainEvent], ...]], ...] = (
    (
        _booking_requests,
        (
            ledger.BookingRequestSubmitted,
            ledger.BookingRequestApproved,
            ledger.BookingRequestRejected,
            ledger.BookingRequestExpired,
            ledger.BookingRequestCleared,
            ledger.BookingRequestRefused,
        ),
    ),
    (
        _journal,
        (
            ledger.JournalEntryPosted,
            ledger.JournalEntryReversed,
            ledger.PeriodClosed,
            ledger.AccountOpened,
            ledger.AccountClosed,
            ledger.AccountRenamed,
        ),
    ),
    (_deals, (risk.DealCleared, risk.DealRefused, risk.DealReleased, risk.DealPosted)),
    (_limit_usage, (risk.LimitBreached, risk.LimitWarningReached, risk.LimitBackWithinThreshold)),
    (
        _limits,
        (
            risk.LimitBreachMeasuresRecorded,
            risk.LimitChangeRequested,
            risk.LimitChangeApproved,
            risk.LimitChangeRejected,
            risk.ExposureChanged,
            risk.KriStatusChanged,
            risk.RiskIdentified,
        ),
    ),
    (
        _tickets,
        (
            tickets.TicketOpened,
            tickets.TicketNoteAdded,
            tickets.TicketReplied,
            tickets.TicketStatusChanged,
            tickets.TicketAssigned,
            tickets.TicketPriorityChanged,
            tickets.TicketEscalated,
            tickets.SlaWarningRaised,
            tickets.SlaBreached,
            tickets.TicketRated,
            tickets.AlertRecorded,
            tickets.LimitBreachIncidentOpened,
            tickets.LimitBreachIncidentClosed,
            tickets.LimitBreachMeasuresHeld,
        ),
    ),
    (_access, gw.EVENTS),
)
_FAMILIES: dict[type[DomainEvent], _Family] = {
    cls: family for family, classes in _BY_FAMILY for cls in classes
}
