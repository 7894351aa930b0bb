"""The ``operator_credentials`` table: password hashes, kept out of the events on purpose.

Events are published to Kafka where data teams read them; a password hash must never travel
there. Writes happen on the unit of work's connection, in the same transaction as the
operator's events, so an operator never exists without credentials or the other way round.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

metadata = sa.MetaData()

operator_credentials = sa.Table(
    "operator_credentials",
    metadata,
    sa.Column("username", sa.Text, primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)


class CredentialStore:
    """Reads and writes password hashes on the caller's connection (the caller commits)."""

    async def add(self, conn: AsyncConnection, username: str, password_hash: str) -> bool:
        """Store the first credentials of ``username``; False when there already are some.

        A concurrent registration of the same name waits for ours and then finds the row."""
        inserted = await conn.execute(
            pg_insert(operator_credentials)
            .values(username=username, password_hash=password_hash)
            .on_conflict_do_nothing(index_elements=[operator_credentials.c.username])
            .returning(operator_credentials.c.username)
        )
        return inserted.first() is not None

    async def password_hash(self, conn: AsyncConnection, username: str) -> str | None:
        row = await conn.execute(
            sa.select(operator_credentials.c.password_hash).where(
                operator_credentials.c.username == username
            )
        )
        found: str | None = row.scalar_one_or_none()
        return found

    async def usernames(self, conn: AsyncConnection, after: str | None, limit: int) -> list[str]:
        """Registered usernames in order, after ``after``: every operator has credentials."""
        query = sa.select(operator_credentials.c.username).order_by(operator_credentials.c.username)
        if after is not None:
            query = query.where(operator_credentials.c.username > after)
        rows = await conn.execute(query.limit(limit))
        return [str(name) for name in rows.scalars()]


# The lock scope (``UnitOfWork.lock``) serialising registrations of one name: operators and
# systems share one namespace of subjects, so each registration checks both kinds under it.
NAME_LOCK = "gateway.name"
