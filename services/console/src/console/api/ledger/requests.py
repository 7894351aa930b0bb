"""Booking requests: the front office submits (a deal names its counterparty and desk), a
second person of the back office approves or rejects. The buttons show only to those who may
decide and never on one's own request; the ledger refuses a forged decision again (four-eyes)
and the refusal is shown on the request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from console.adapters.gateway import ApiRefusal
from console.api.ledger.common import (
    APPROVE_REQUEST,
    ENTRY,
    REJECT_REQUEST,
    REQUEST,
    REQUESTS,
    SUBMIT_REQUEST,
    LedgerId,
    chart,
    debit_totals,
    form_key,
    page,
    read_position,
    today,
)
from console.api.ledger.entry_form import (
    EntryForm,
    blank_form,
    editor_context,
    read_entry_form,
)
from console.api.live import live_fragment
from console.api.web import CurrentVisit, Visit, redirect

router = APIRouter(prefix="/ledger")

Status = Literal["pending", "approved", "rejected", "expired", ""]
Clearance = Literal["not_required", "awaiting", "cleared", "refused", ""]


@router.get("/booking-requests")
async def booking_requests(
    visit: CurrentVisit,
    status: Annotated[Status, Query()] = "",
    clearance: Annotated[Clearance, Query()] = "",
    cursor: str | None = None,
) -> Response:
    """The requests the operator may see (the front office: its own), filters kept; the list
    refreshes by itself as requests are cleared, approved or rejected."""
    visit.require(REQUESTS)
    filters = {"status": status, "clearance": clearance, "cursor": cursor or ""}
    return page(
        visit,
        "ledger/requests.html",
        list_html=await requests_list(visit, filters),
        filters=filters,
        may_submit=visit.operator.may(SUBMIT_REQUEST),
    )


@live_fragment("ledger-requests")
async def requests_list(visit: Visit, filters: Mapping[str, str]) -> str:
    """One page of booking requests (the page and its live updates render the same)."""
    visit.require(REQUESTS)
    answer = await visit.get(
        "/ledger/v1/booking-requests",
        {
            "status": filters.get("status") or None,
            "clearance": filters.get("clearance") or None,
            "cursor": filters.get("cursor") or None,
            "limit": 50,
        },
    )
    return visit.fragment(
        "ledger/_requests.html",
        requests=[{**r, "totals": debit_totals(r["lines"])} for r in answer["items"]],
        next_cursor=answer["next_cursor"],
    )


@router.get("/booking-requests/new")
async def submission_form(visit: CurrentVisit) -> Response:
    visit.require(SUBMIT_REQUEST)
    return await _form_page(visit, blank_form(today(visit)))


@router.post("/booking-requests/new")
async def submit(visit: CurrentVisit) -> Response:
    """Submit the typed request; an unreadable or unbalanced one is refused here (422)."""
    visit.require(SUBMIT_REQUEST)
    fields = await visit.form_lists()
    form = read_entry_form(visit.formats, fields, deal=True)
    if form.body is None:
        return await _form_page(visit, form, status_code=422)
    key = (fields.get("idempotency_key") or [""])[0] or form_key()
    try:
        written = await visit.post(
            "/ledger/v1/booking-requests", form.body, {"Idempotency-Key": key}
        )
    except ApiRefusal as refusal:
        return await _form_page(visit, form, error=refusal, status_code=refusal.status)
    return redirect(
        f"/ledger/booking-requests/{written['id']}?min_position={written['position']}", visit
    )


async def _form_page(
    visit: Visit, form: EntryForm, *, error: ApiRefusal | None = None, status_code: int = 200
) -> Response:
    return page(
        visit,
        "ledger/request_form.html",
        status_code,
        error=error,
        idempotency_key=form_key(),
        **editor_context(visit.formats, form, await chart(visit)),
    )


@router.get("/booking-requests/{request_id}")
async def booking_request(
    visit: CurrentVisit, request_id: LedgerId, min_position: str | None = None
) -> Response:
    visit.require(REQUEST)
    return await _request_page(visit, request_id, read_position(min_position))


@router.get("/booking-requests/{request_id}/approval")
async def approval_page(visit: CurrentVisit, request_id: LedgerId) -> Response:
    """The approval's own address: only for those who may approve (others get the 403 page);
    the buttons still show only when this operator may decide on this request."""
    visit.require(APPROVE_REQUEST)
    return await _request_page(visit, request_id)


@router.post("/booking-requests/{request_id}/approval")
async def approve(visit: CurrentVisit, request_id: LedgerId) -> Response:
    visit.require(APPROVE_REQUEST)
    fields = await visit.form()
    try:
        written = await visit.post(
            f"/ledger/v1/booking-requests/{request_id}/approval", {}, _decision_headers(fields)
        )
    except ApiRefusal as refusal:
        return await _request_page(visit, request_id, error=refusal, status_code=refusal.status)
    return redirect(
        f"/ledger/booking-requests/{request_id}?min_position={written['position']}", visit
    )


@router.post("/booking-requests/{request_id}/rejection")
async def reject(visit: CurrentVisit, request_id: LedgerId) -> Response:
    visit.require(REJECT_REQUEST)
    fields = await visit.form()
    reason = fields.get("reason", "").strip()
    if not reason:
        message = visit.formats._("A reason is required to reject a request.")
        return await _request_page(visit, request_id, message=message, status_code=422)
    try:
        written = await visit.post(
            f"/ledger/v1/booking-requests/{request_id}/rejection",
            {"reason": reason},
            _decision_headers(fields),
        )
    except ApiRefusal as refusal:
        return await _request_page(
            visit, request_id, error=refusal, status_code=refusal.status, reason=reason
        )
    return redirect(
        f"/ledger/booking-requests/{request_id}?min_position={written['position']}", visit
    )


def _decision_headers(fields: dict[str, str]) -> dict[str, str]:
    """Decide on the version the operator saw (If-Match): a changed request is refused."""
    headers = {"Idempotency-Key": fields.get("idempotency_key") or form_key()}
    if fields.get("version", "").isdigit():
        headers["If-Match"] = fields["version"]
    return headers


async def _request_page(
    visit: Visit,
    request_id: str,
    min_position: int | None = None,
    *,
    error: ApiRefusal | None = None,
    message: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> Response:
    request = await visit.get(
        f"/ledger/v1/booking-requests/{request_id}", {"min_position": min_position}
    )
    own = request["submitted_by"] == visit.operator.subject
    pending = request["status"] == "pending"
    return page(
        visit,
        "ledger/request.html",
        status_code,
        booking=request,
        totals=debit_totals(request["lines"]),
        own=own,
        may_approve=pending and not own and visit.operator.may(APPROVE_REQUEST),
        may_reject=pending and not own and visit.operator.may(REJECT_REQUEST),
        may_read_entry=visit.operator.may(ENTRY),
        error=error,
        message=message,
        reason=reason,
        idempotency_key=form_key(),
    )
