"""Password hashing: a round trip, and refusals that never raise."""

import pytest
from argon2 import PasswordHasher
from gateway.adapters.passwords import Passwords


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    # Cheap parameters keep the unit tests fast; production uses argon2's defaults.
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


async def test_a_hashed_password_verifies(passwords: Passwords) -> None:
    stored = await passwords.hash("correct horse battery")

    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert await passwords.verify(stored, "correct horse battery")


async def test_a_wrong_password_does_not_verify(passwords: Passwords) -> None:
    stored = await passwords.hash("correct horse battery")

    assert not await passwords.verify(stored, "correct horse batterY")


async def test_no_stored_hash_and_a_garbled_hash_never_verify(passwords: Passwords) -> None:
    assert not await passwords.verify(None, "anything at all")
    assert not await passwords.verify("", "anything at all")
    assert not await passwords.verify("not-a-hash", "anything at all")


async def test_the_same_password_hashes_differently_each_time(passwords: Passwords) -> None:
    assert await passwords.hash("same password") != await passwords.hash("same password")
