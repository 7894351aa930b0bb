"""The ``api_keys`` table and the making and checking of key texts.

Only a SHA-256 hash of each key is stored, beside (never inside) the events, like the password
hashes in ``operator_credentials``. A plain hash is enough here, unlike for passwords: the
secret is 256 random bits, so there is nothing to guess, and checking a key stays cheap on
every request. Whether a key is still active is not stored here: that is the ``System``
aggregate's state (``ApiKeyRevoked``), the one source of truth.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.api_keys import KEY_PREFIX

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("system", sa.Text, nullable=False),
    sa.Column("key_hash", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)


@dataclass(frozen=True, repr=False)
class NewApiKey:
    """A freshly made key: ``text`` goes to the caller once, ``key_hash`` to the table."""

    key_id: str
    text: str
    key_hash: str


@dataclass(frozen=True)
class StoredKey:
    system: str
    key_hash: str


def hash_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    text = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key_id=key_id, text=text, key_hash=hash_key(text))


def key_matches(text: str, stored: StoredKey) -> bool:
    return hmac.compare_digest(hash_key(text), stored.key_hash)


class ApiKeyStore:
    """Reads and writes key hashes on the caller's connection (the caller commits)."""

    async def add(self, conn: AsyncConnection, system: str, key: NewApiKey) -> None:
        await conn.execute(
            api_keys.insert().values(key_id=key.key_id, system=system, key_hash=key.key_hash)
        )

    async def find(self, conn: AsyncConnection, key_id: str) -> StoredKey | None:
        row = (
            await conn.execute(
                sa.select(api_keys.c.system, api_keys.c.key_hash).where(api_keys.c.key_id == key_id)
            )
        ).first()
        return StoredKey(row.system, row.key_hash) if row else None
