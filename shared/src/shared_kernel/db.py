"""Database engine construction (called from composition roots, never at import time).

A pooled connection is not pinged on checkout: ``pool_pre_ping`` costs three round trips
(BEGIN, an empty statement, ROLLBACK) per checkout, more than a simple read itself. Instead:

- A connection the server has closed (a PostgreSQL restart, an administrator's terminate)
  is known to be closed locally, without a round trip: asyncpg sees the end of its socket.
  ``_refuse_closed_connection`` turns such a checkout into a disconnect, upon which the pool
  replaces it with a new connection: no request sees it.
- A connection that died silently fails its first statement; SQLAlchemy recognises the
  disconnect and invalidates the pool (every older connection is replaced at its next
  checkout). That one request fails (a background loop is restarted by its supervisor).
- ``pool_recycle`` retires connections after an hour, before firewalls or server-side idle
  limits cut them silently.

The pool opens ``pool_size`` connections (``DATABASE_POOL_SIZE``, 32 for a service) and up to
a quarter as many more (at least two) at a peak, as they are needed, and keeps every one it
opened. A connection opened for one request costs a TCP connect, authentication, the driver's
type lookups (three round trips each time a statement meets a type the new connection has not
seen yet) and a prepare of each statement it runs, more than the request's own statements; and
the server starts a process for it. A pool that closed its peak connections again when given
back (SQLAlchemy's overflow) opened about 140 of them in 30 seconds of 32 concurrent postings,
as the demand swung around the pool's size (the requests, plus the relay, the projections and
the group commit's writer): opening them, their type lookups and their prepares took about 12 %
of the ledger process's busy time (py-spy). So the peak connections are kept too. The pool is
sized for the concurrency a process sees (a PostgreSQL server of ``make run`` allows 300
connections).

A transaction left open by a process that stopped without dying (SIGSTOP, a frozen machine, a
paused container) would keep its locks for as long as the process is stopped: the stream locks
of an append, the read-model rows of a projection's batch, an inbox's claimed ids. Another
replica waiting for them would stop too. So every connection asks the server to end a session
idle in a transaction for ``IDLE_IN_TRANSACTION_SECONDS`` (PostgreSQL's
``idle_in_transaction_session_timeout``): the transaction is rolled back, its locks are freed,
and the stopped process finds its connection gone when it resumes (a request answers 503, a
background loop is restarted). No transaction here waits on anything but the database for
that long.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POOL_RECYCLE_SECONDS = 3600
IDLE_IN_TRANSACTION_SECONDS = 10.0


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the asyncpg driver."""
    for prefix in (
        "postgresql+psycopg://",
        "postgresql+asyncpg://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")


def pool_limit(pool_size: int) -> int:
    """The most connections a pool of ``pool_size`` opens: a quarter more (at least two)."""
    return pool_size + max(2, pool_size // 4)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    idle_in_transaction_seconds: float = IDLE_IN_TRANSACTION_SECONDS,
) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_limit(pool_size),
        max_overflow=0,  # every connection opened is kept (see the module docstring)
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args={
            "server_settings": {
                "idle_in_transaction_session_timeout": str(int(idle_in_transaction_seconds * 1000))
            }
        },
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pool ``checkout`` hook: a connection whose socket the server closed is a
    disconnect, so that the pool connects afresh instead of handing out a dead one (each
    pooled connection a restart closed is caught so at its own checkout)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server closed this connection")
