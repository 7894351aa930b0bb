"""Posting a journal entry with the lines editor (accountants and controllers)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from console.adapters.gateway import ApiRefusal
from console.api.ledger.common import POST_ENTRY, chart, form_key, page, today
from console.api.ledger.entry_form import (
    EntryForm,
    blank_form,
    editor_context,
    read_entry_form,
)
from console.api.web import CurrentVisit, Visit, redirect

router = APIRouter(prefix="/ledger")


@router.get("/post")
async def posting_form(visit: CurrentVisit) -> Response:
    visit.require(POST_ENTRY)
    return await _form_page(visit, blank_form(today(visit)))


@router.post("/post")
async def post_entry(visit: CurrentVisit) -> Response:
    """Post the typed entry; an unreadable or unbalanced one never reaches the API (422)."""
    visit.require(POST_ENTRY)
    fields = await visit.form_lists()
    form = read_entry_form(visit.formats, fields)
    if form.body is None:
        return await _form_page(visit, form, status_code=422)
    key = (fields.get("idempotency_key") or [""])[0] or form_key()
    try:
        written = await visit.post(
            "/ledger/v1/journal-entries", form.body, {"Idempotency-Key": key}
        )
    except ApiRefusal as refusal:
        return await _form_page(visit, form, error=refusal, status_code=refusal.status)
    return redirect(f"/ledger/journal/{written['id']}?min_position={written['position']}", visit)


async def _form_page(
    visit: Visit, form: EntryForm, *, error: ApiRefusal | None = None, status_code: int = 200
) -> Response:
    return page(
        visit,
        "ledger/post.html",
        status_code,
        error=error,
        idempotency_key=form_key(),
        **editor_context(visit.formats, form, await chart(visit)),
    )
