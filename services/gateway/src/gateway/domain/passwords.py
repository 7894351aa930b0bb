"""What the back office accepts as a password (hashing itself is an adapter's job)."""

from __future__ import annotations

from shared_kernel.errors import DomainError

MIN_PASSWORD_LENGTH = 10
# Bounded so that a login cannot make the server hash megabytes.
MAX_PASSWORD_LENGTH = 1024


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise DomainError(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            field="password",
            code="WeakPassword",
        )
