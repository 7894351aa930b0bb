"""Access tokens verified once are known by their exact text until they expire
(``app/verified_tokens.py``): never served for another text, never past their expiry, never
for a refused token; and the operator behind a known token is still confirmed every time."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway.app.verified_tokens import VerifiedTokens
from shared_kernel.identity import (
    Caller,
    IdentityExpired,
    IdentitySigner,
    IdentityVerifier,
    InvalidIdentity,
    ensure_keypair,
    key_id_of,
)

pytestmark = pytest.mark.unit

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Counting:
    """The real verifier, counting its calls."""

    def __init__(self, verifier: IdentityVerifier) -> None:
        self.verifier = verifier
        self.calls = 0

    def __call__(self, token: str | None) -> tuple[Caller, float]:
        self.calls += 1
        return self.verifier.verify_with_expiry(token)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[IdentitySigner, IdentityVerifier]:
    private, public = ensure_keypair(tmp_path / "keys")
    kid = key_id_of(public.read_bytes())
    signer = IdentitySigner(private.read_bytes(), kid, ttl_seconds=900)
    return signer, IdentityVerifier({kid: public.read_bytes()}, audience="gateway")


def token(signer: IdentitySigner, subject: str, *roles: str) -> str:
    return signer.sign(Caller(subject, frozenset(roles), "back"), audience="gateway")


def test_a_token_is_verified_once_and_then_known(
    keys: tuple[IdentitySigner, IdentityVerifier],
) -> None:
    signer, verifier = keys
    counting = Counting(verifier)
    tokens = VerifiedTokens(counting)
    ada = token(signer, "ada", "accountant")

    first, second = tokens.verify(ada), tokens.verify(ada)

    assert first == second == verifier.verify(ada)
    assert counting.calls == 1


def test_each_token_text_has_its_own_caller(
    keys: tuple[IdentitySigner, IdentityVerifier],
) -> None:
    signer, verifier = keys
    tokens = VerifiedTokens(Counting(verifier))
    ada, tom = token(signer, "ada", "accountant"), token(signer, "tom", "trader")

    for _ in range(2):
        assert tokens.verify(ada).subject == "ada"
        assert tokens.verify(tom).subject == "tom"
    assert {r.value for r in tokens.verify(tom).roles} == {"trader"}


def test_a_forged_variation_of_a_known_token_is_refused(
    keys: tuple[IdentitySigner, IdentityVerifier],
) -> None:
    signer, verifier = keys
    tokens = VerifiedTokens(Counting(verifier))
    ada = token(signer, "ada", "accountant")
    tokens.verify(ada)
    head, claims, signature = ada.split(".")
    tom_claims = token(signer, "tom", "admin").split(".")[1]
    # A character that surely changes: an Ed25519 signature's last characters are often "A"
    # (its last byte is small), so overwriting them with "A"s gave ada's own token back.
    damaged = ("B" if signature[0] == "A" else "A") + signature[1:]
    forged = [
        f"{head}.{tom_claims}.{signature}",  # someone else's claims under ada's signature
        f"{head}.{claims}.{damaged}",  # a damaged signature
        # the same signature with the bits a decoder ignores changed: a text never signed
        f"{head}.{claims}.{signature[:-1]}{ALPHABET[ALPHABET.index(signature[-1]) ^ 1]}",
        ada + " ",
        ada[:-1],
    ]

    for text in forged:
        with pytest.raises(InvalidIdentity):
            tokens.verify(text)


def test_a_known_token_is_refused_once_it_expires() -> None:
    now = [1000.0]
    ada = Caller("ada", frozenset({"accountant"}), "back")
    calls: list[str | None] = []

    def verify(token: str | None) -> tuple[Caller, float]:
        calls.append(token)
        if now[0] >= 1060:  # what the real verifier says past the token's exp
            raise IdentityExpired("identity refused: Signature has expired")
        return ada, 1060.0

    tokens = VerifiedTokens(verify, clock=lambda: now[0])
    assert tokens.verify("t") == ada
    now[0] = 1059.9
    assert tokens.verify("t") == ada
    now[0] = 1060.0

    with pytest.raises(IdentityExpired):
        tokens.verify("t")
    assert calls == ["t", "t"]


def test_a_refused_token_is_never_kept() -> None:
    calls: list[str | None] = []

    def verify(token: str | None) -> tuple[Caller, float]:
        calls.append(token)
        raise InvalidIdentity("identity refused: forged")

    tokens = VerifiedTokens(verify)
    for _ in range(2):
        with pytest.raises(InvalidIdentity):
            tokens.verify("forged")
        with pytest.raises(InvalidIdentity):
            tokens.verify(None)
    assert calls == ["forged", None, "forged", None]


def test_when_full_the_expired_go_first_then_all() -> None:
    now = [0.0]
    ada = Caller("ada", frozenset({"accountant"}), "back")
    lifetimes = {"a": 10.0, "b": 100.0, "c": 100.0, "d": 100.0}
    tokens = VerifiedTokens(lambda t: (ada, lifetimes[str(t)]), max_entries=2, clock=lambda: now[0])
    tokens.verify("a")
    tokens.verify("b")
    now[0] = 20.0
    tokens.verify("c")  # "a" has expired: dropped to make room

    assert set(tokens._entries) == {"b", "c"}
    tokens.verify("d")  # nothing expired: all dropped
    assert set(tokens._entries) == {"d"}
