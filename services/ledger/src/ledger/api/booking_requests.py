"""Routes for booking requests: submit (front or back office), approve or reject (a second
person of the back office), read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from shared_kernel.identity import require_any_role
from shared_kernel.visibility import Visibility
from shared_kernel.web import IdempotencyKeyHeader, command_context

from ledger.api.dependencies import (
    BOOKKEEPERS,
    READERS,
    REQUESTERS,
    Caller,
    Consistent,
    IfMatch,
    LedgerDep,
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
    request: Request,
    response: Response,
    ledger: LedgerDep,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Submit a pending entry: its amounts are reserved on constrained accounts until a second
    person of the back office approves or rejects it, or it expires."""
    require_any_role(caller, REQUESTERS, "submitting a booking request")
    context = command_context(caller, request, body, idempotency_key)
    command = SubmitBookingRequest(body.details(), body.line_inputs())
    result = await ledger.commands.execute(context, ledger.commands.submit_booking_request, command)
    response.headers["Location"] = f"/v1/booking-requests/{result.aggregate_id}"
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


@router.post("/{request_id}/approval", response_model=ApprovalWritten)
async def approve(
    request_id: RequestId,
    request: Request,
    ledger: LedgerDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Approve (four-eyes: never the submitter) and post. 200: the request changed state;
    the answer names the entry it was posted as (``id``, readable at
    ``/v1/journal-entries/{id}``) and the request."""
    require_any_role(caller, BOOKKEEPERS, "approving a booking request")
    context = command_context(caller, request, None, idempotency_key)
    command = DecideBookingRequest(request_id, expected_version=version)
    result = await ledger.commands.execute(
        context, ledger.commands.approve_booking_request, command
    )
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
    request: Request,
    ledger: LedgerDep,
    caller: Caller,
    version: IfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    """Reject a pending request; its reservations are released."""
    require_any_role(caller, BOOKKEEPERS, "rejecting a booking request")
    context = command_context(caller, request, body, idempotency_key)
    command = DecideBookingRequest(request_id, body.reason, expected_version=version)
    result = await ledger.commands.execute(context, ledger.commands.reject_booking_request, command)
    return Written(id=result.aggregate_id, version=result.version, position=result.position)


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
) -> Any:
    """Booking requests in the order they were submitted. The back office and auditors see
    all; the front office sees only the requests it submitted itself."""
    require_any_role(caller, READERS | REQUESTERS, "reading booking requests")
    visibility = Visibility.of(caller, READERS)
    page = await ledger.queries.booking_requests(
        cursor, limit, visibility, status=status, submitted_by=submitted_by
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
