"""Password hashing with Argon2id, off the event loop.

Hashing is deliberately slow (tens of milliseconds of CPU), so it runs in a worker thread and
never stalls other requests. ``verify`` against a missing hash still does the full work on a
dummy hash, so that an unknown username takes as long as a wrong password.
"""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; a missing hash never matches but costs the same."""
        try:
            matched = await asyncio.to_thread(
                self._hasher.verify, password_hash or self._dummy_hash, password
            )
        except (VerificationError, InvalidHashError):
            return False
        return bool(matched) and password_hash is not None
