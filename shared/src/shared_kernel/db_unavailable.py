"""When the database cannot serve a request: a 503, never a 500.

A PostgreSQL restart, a failover, a full disk or a server out of connections is not the
service's bug nor the client's mistake: the request may succeed when repeated a moment later
(with the same ``Idempotency-Key``, which makes a repeated command safe). Answering 500 would
tell the client the opposite, and alert as a defect what operations must handle.

``database_unavailable`` recognises such a failure wherever it surfaces: asyncpg's errors carry
the SQLSTATE (class 08 connection exception, class 53 insufficient resources such as 53100
disk_full, 57P01-57P03 the server shutting down or starting), a connection refused while the
server is down is a ``ConnectionError``, SQLAlchemy marks a dropped connection as invalidated and
raises ``TimeoutError`` when its pool has no connection to give. SQLAlchemy and the driver
wrap each other's errors, so the whole chain of causes is searched.
"""

from __future__ import annotations

from sqlalchemy import exc

# SQLSTATE prefixes of a server that cannot serve now (PostgreSQL, Appendix A).
UNAVAILABLE_SQLSTATES = {
    "08": "the connection to the database failed",
    "53100": "the database's disk is full",
    "53": "the database is out of resources",
    "57P01": "the database is shutting down",
    "57P02": "the database is shutting down",
    "57P03": "the database is starting up",
}
RETRY_AFTER_SECONDS = 5
_MAX_CHAIN = 10  # causes followed at most (a cycle of causes ends the search too)


def database_unavailable(error: BaseException) -> str | None:
    """Why the database could not serve, when ``error`` says so; None for any other error
    (a bug stays a 500)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        reason = _reason(current)
        if reason:
            return reason
        current = _cause(current)
    return None


def _reason(error: BaseException) -> str | None:
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str):
        for prefix in sorted(UNAVAILABLE_SQLSTATES, key=len, reverse=True):
            if sqlstate.startswith(prefix):
                return UNAVAILABLE_SQLSTATES[prefix]
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return "the connection to the database was lost"
    if isinstance(error, exc.DisconnectionError):
        return "the connection to the database was lost"
    if isinstance(error, exc.TimeoutError):
        return "no database connection was free in time"
    if isinstance(error, ConnectionError) or (
        # asyncio's create_connection, when every address refused: a plain OSError
        isinstance(error, OSError) and "Connect call failed" in str(error)
    ):
        return "the database cannot be reached"
    if type(error).__name__ == "ConnectionDoesNotExistError":  # asyncpg, when no SQLSTATE came
        return "the connection to the database was lost"
    if type(error).__name__ == "InterfaceError" and "connection is closed" in str(error):
        return "the connection to the database was lost"
    return None


def _cause(error: BaseException) -> BaseException | None:
    orig = getattr(error, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
    if isinstance(orig, BaseException):
        return orig
    return error.__cause__ or error.__context__
