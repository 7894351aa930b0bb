"""Domain errors shared by every service.

They are plain exceptions (no web framework here); the API layer maps each kind to an HTTP status
and an RFC 9457 problem body. ``field`` names the offending input where there is one.
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the command (HTTP 422)."""

    status = 422
    title = "Business rule violated"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code or type(self).__name__


class NotFound(DomainError):
    """The addressed aggregate does not exist (HTTP 404)."""

    status = 404
    title = "Not found"


class Conflict(DomainError):
    """The command conflicts with the current state, e.g. a duplicate (HTTP 409)."""

    status = 409
    title = "Conflict"


class ConcurrencyConflict(Conflict):
    """The stream moved on since the caller read it: expected version does not match (HTTP 409)."""

    title = "Concurrent modification"


class PermissionDenied(DomainError):
    """The actor may not do this, e.g. four-eyes or segregation of duties (HTTP 403)."""

    status = 403
    title = "Forbidden"
