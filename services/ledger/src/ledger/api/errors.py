"""Problem answers particular to the ledger: a refused bulk posting lists every refused entry
by its index (``errors: [{index, field, code, detail}]``), for business rules and for
malformed entries alike."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from shared_kernel.web import problem

from ledger.app.bulk import BulkPostingRefused

BULK_PATH_SUFFIX = "/v1/journal-entry-batches"


def install_ledger_problem_handlers(app: FastAPI) -> None:
    """Install after the kernel's handlers: these refine two of them."""
    kernel_invalid = app.exception_handlers[RequestValidationError]

    @app.exception_handler(BulkPostingRefused)
    async def _bulk_refused(_: Request, exc: BulkPostingRefused) -> JSONResponse:
        errors = [
            {"index": r.index, "field": r.field, "code": r.code, "detail": r.detail}
            for r in exc.refusals
        ]
        return problem(
            exc.status, exc.title, exc.detail, code=exc.code, field=exc.field, errors=errors
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Any:
        errors = [_bulk_error(e) for e in exc.errors()]
        if not request.url.path.endswith(BULK_PATH_SUFFIX) or any(
            e["index"] is None for e in errors
        ):
            answer = kernel_invalid(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        first = errors[0]
        return problem(
            422,
            "Bulk posting refused",
            f"{len({e['index'] for e in errors})} entries are malformed, so none was posted; "
            f"the first, entry {first['index']}: {first['field']}: {first['detail']}",
            code="BulkPostingRefused",
            field=f"entries[{first['index']}].{first['field']}",
            errors=errors,
        )


def _bulk_error(error: Any) -> dict[str, Any]:
    """``("body", "entries", 3, "lines", 0, "amount")`` -> entry 3, ``lines[0].amount``."""
    loc = [p for p in error["loc"] if p != "body"]
    if len(loc) < 2 or loc[0] != "entries" or not isinstance(loc[1], int):
        return {"index": None}
    field = ""
    for part in loc[2:]:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return {
        "index": loc[1],
        "field": field or None,
        "code": "InvalidRequest",
        "detail": error["msg"],
    }
