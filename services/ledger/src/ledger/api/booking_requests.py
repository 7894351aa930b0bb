"""Routes for booking requests: submit (front or back office), approve or reject (a second
person of the back office), read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from shared_kernel.identity import require_any_role
from shared_kernel.visibility import Visibility

from ledger.api.dependencies import (
    BOOKKEEPERS,
    READERS,
    REQUESTERS,
    Caller,
    CommandCall,
    Consistent,
    LedgerDep,
    command_call,
)
from ledger.api.schemas import (
    ID_PATTERN,
    PLAIN,
    ApprovalWritten,
    BookingRequestPage,
    BookingRequestView,
    EntryBody,
    RejectionBody,
    Written,
)
from ledger.app.commands import DecideBookingRequest, SubmitBookingRequest
from ledger.app.queries import MAX_PAGE

router = APIRouter(prefix="/v1/booking-requests", tags=["booking requests"])

RequestId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Written)
async def submit(
    body: EntryBody,
    ledger: LedgerDep,
    cmd: Annotated[CommandCall, Depends(command_call(REQUESTERS, "submitting a booking request"))],
) -> Any:
    """Submit a pending entry: its amounts are reserved on constrained accounts until a second
    person of the back office approves or rejects it, or it expires."""
    command = SubmitBookingRequest(body.details(), body.line_inputs())
    return await cmd.written(
        ledger.commands.submit_booking_request, command, location="/v1/booking-requests/{id}"
    )


@router.post("/{request_id}/approval", response_model=ApprovalWritten)
async def approve(
    request_id: RequestId,
    ledger: LedgerDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(BOOKKEEPERS, "approving a booking request", if_match=True)),
    ],
) -> Any:
    """Approve (four-eyes: never the submitter) and post. 200: the request changed state;
    the answer names the entry it was posted as (``id``, readable at
    ``/v1/journal-entries/{id}``) and the request. A deal (a counterparty or a desk in its
    metadata) needs risk's clearance first: 409 ``AwaitingRiskClearance`` before risk's answer,
    409 ``DealRefused`` (naming the limit and the shortfall) after a refusal."""
    command = DecideBookingRequest(request_id, expected_version=cmd.expected_version)
    result = await cmd.run(ledger.commands.approve_booking_request, command)
    return ApprovalWritten(
        id=result.aggregate_id,
        version=result.version,
        position=result.position,
        request_id=request_id,
    )


@router.post("/{request_id}/rejection", response_model=Written)
async def reject(
    request_id: RequestId,
    body: RejectionBody,
    ledger: LedgerDep,
    cmd: Annotated[
        CommandCall,
        Depends(command_call(BOOKKEEPERS, "rejecting a booking request", if_match=True)),
    ],
) -> Any:
    """Reject a pending request; its reservations are released."""
    command = DecideBookingRequest(request_id, body.reason, expected_version=cmd.expected_version)
    return await cmd.written(ledger.commands.reject_booking_request, command)


@router.get("", response_model=BookingRequestPage, dependencies=[Consistent])
async def list_requests(
    ledger: LedgerDep,
    caller: Caller,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    status: Literal["pending", "approved", "rejected", "expired"] | None = None,
    submitted_by: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=PLAIN,
            description="Only the requests of this submitter. The front office sees only "
            "its own requests, so naming someone else gives it an empty page.",
        ),
    ] = None,
    clearance: Annotated[
        Literal["not_required", "awaiting", "cleared", "refused"] | None,
        Query(description="Only the requests with this risk clearance status."),
    ] = None,
) -> Any:
    """Booking requests in the order they were submitted. The back office and auditors see
    all; the front office sees only the requests it submitted itself."""
    require_any_role(caller, READERS | REQUESTERS, "reading booking requests")
    visibility = Visibility.of(caller, READERS)
    page = await ledger.queries.booking_requests(
        cursor, limit, visibility, status=status, submitted_by=submitted_by, clearance=clearance
    )
    return BookingRequestPage(items=page.items, next_cursor=page.next_cursor)


@router.get("/{request_id}", response_model=BookingRequestView, dependencies=[Consistent])
async def get_request(request_id: RequestId, ledger: LedgerDep, caller: Caller) -> Any:
    """One booking request; the front office reads only its own (another's is 404)."""
    require_any_role(caller, READERS | REQUESTERS, "reading a booking request")
    booking_request = await ledger.queries.booking_request(request_id)
    Visibility.of(caller, READERS).require(
        booking_request["submitted_by"],
        f"booking request {request_id} does not exist",
        field="request_id",
    )
    return booking_request
