"""Who sees whose records: the front office reads only the business it brought in itself.

Services keep records that name whoever asked for them (a booking request's submitter, a
ticket's requester). A caller sees all of them only when it holds one of the service's
full-reading roles (back office, oversight) and does not work in the front office; everyone
else sees only their own. A stranger's record answers 404 as if it did not exist (a 403 would
reveal that it does), and a list is narrowed to the caller whatever filters the client adds,
so that a filter naming someone else finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from shared_kernel.errors import NotFound
from shared_kernel.identity import Caller
from shared_kernel.roles import Office, Role

S = TypeVar("S", bound=sa.Select[Any])


@dataclass(frozen=True)
class Visibility:
    """The records a caller may read: all of them (``owner`` None) or those of ``owner``."""

    owner: str | None

    @classmethod
    def of(cls, caller: Caller, full_readers: frozenset[Role]) -> Visibility:
        """Everything for a full reader outside the front office; otherwise the caller's own
        (fail closed: a caller the service does not know as a full reader sees only its own)."""
        if caller.office is not Office.FRONT and caller.has_any(full_readers):
            return cls(owner=None)
        return cls(owner=caller.subject)

    @property
    def everything(self) -> bool:
        return self.owner is None

    def shows(self, owner: str | None) -> bool:
        """Whether a record owned by ``owner`` is visible."""
        return self.owner is None or owner == self.owner

    def require(self, owner: str | None, not_found: str, *, field: str) -> None:
        """Raise NotFound (``not_found`` the detail, the same as for a record that does not
        exist) unless a record owned by ``owner`` is visible."""
        if not self.shows(owner):
            raise NotFound(not_found, field=field)

    def restrict(self, query: S, owner_column: sa.ColumnElement[Any]) -> S:
        """The query narrowed to the visible records (``owner_column`` holds the owner)."""
        if self.owner is None:
            return query
        return query.where(owner_column == self.owner)
