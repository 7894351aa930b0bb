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
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POOL_RECYCLE_SECONDS = 3600


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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=POOL_RECYCLE_SECONDS,
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
