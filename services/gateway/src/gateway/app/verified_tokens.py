"""Access tokens already verified, kept by their exact text until they expire.

Verifying an access token (an EdDSA signature, then its claims) cost about a twentieth of the
gateway's CPU per request, for the same token on every request of an operator's session. The
verification is a function of the token's text (signature and claims together) and of the
clock only through its expiry, so its answer for one text holds until the token's ``exp``:
a token is served from here only while it has not expired, and only to a request carrying
exactly that text (another caller's token, or a forged variation, is another text and is
verified in full). What the cache does not decide: whether the operator is still enabled and
their roles, confirmed on every request against the current state (``app/callers.py``).
Only successful verifications are kept; a refusal is never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared_kernel.identity import Caller

Verify = Callable[[str | None], tuple[Caller, float]]


class VerifiedTokens:
    def __init__(
        self,
        verify: Verify,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verify = verify  # raises InvalidIdentity (IdentityExpired) for a refused token
        self._max_entries = max_entries
        self._clock = clock  # the verifier's clock: seconds since the epoch
        self._entries: dict[str, tuple[Caller, float]] = {}

    def verify(self, token: str | None) -> Caller:
        """The token's caller; raises as the verifier does for a token it refuses."""
        if token:
            entry = self._entries.get(token)
            if entry is not None:
                caller, expires = entry
                if self._clock() < expires:
                    return caller
                del self._entries[token]  # expired: the verifier says so, below
        caller, expires = self._verify(token)
        if token:
            self._store(token, caller, expires)
        return caller

    def _store(self, token: str, caller: Caller, expires: float) -> None:
        if len(self._entries) >= self._max_entries:
            now = self._clock()
            self._entries = {t: e for t, e in self._entries.items() if e[1] > now}
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
        self._entries[token] = (caller, expires)
