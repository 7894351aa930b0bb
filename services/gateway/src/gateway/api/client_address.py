"""Who is on the other end: the connection's peer, and the client a trusted proxy names.

``X-Forwarded-For`` is a claim anybody can make, so it is believed only when the connection
comes from a configured proxy (``TRUSTED_PROXIES``, none by default). Then the header is read
from the right, the end our own proxies wrote: each address that is itself a trusted proxy is
skipped, and the first other one is the client. An entry that is not a plain IP address stops
the walk: whatever lies beyond it was written by someone we cannot vouch for. Addresses are
kept in their canonical form, so what reaches the audit trail and the rate limits is short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

TrustedProxies = Sequence[IPv4Network | IPv6Network]
FORWARDED_FOR = b"x-forwarded-for"
# The longest textual IPv6 address; anything longer is not an address.
_LONGEST_ADDRESS = 45
# Hops looked at, from the right: a longer chain is no proxy set-up of ours.
_MAX_HOPS = 16
UNKNOWN = "-"


@dataclass(frozen=True)
class ClientAddress:
    """``peer``: the address of the connection's peer; ``forwarded``: the client a trusted
    proxy named, if any. ``client`` is the one a limit per address counts."""

    peer: str
    forwarded: str | None = None

    @property
    def client(self) -> str:
        return self.forwarded or self.peer


def resolve_client(
    peer: str, forwarded_for: Iterable[str], trusted: TrustedProxies
) -> ClientAddress:
    """The client address of a request from ``peer`` carrying ``X-Forwarded-For`` values."""
    if not _is_trusted(_address(peer), trusted):
        return ClientAddress(peer)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    named: str | None = None
    for hop in reversed(hops[-_MAX_HOPS:]):
        address = _address(hop)
        if address is None:
            break
        named = str(address)
        if not _is_trusted(address, trusted):
            break
    return ClientAddress(peer, named)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    if not text or len(text) > _LONGEST_ADDRESS:
        return None
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.scope_id:
        return None
    return address


def _is_trusted(address: IPv4Address | IPv6Address | None, trusted: TrustedProxies) -> bool:
    return address is not None and any(address in network for network in trusted)


class ClientAddressMiddleware:
    """Puts the request's ``ClientAddress`` in ``scope["state"]["client_address"]``."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            peer = str(client[0])[:_LONGEST_ADDRESS] if client else UNKNOWN
            forwarded = [
                value.decode("latin-1")
                for name, value in scope.get("headers", [])
                if name == FORWARDED_FOR
            ]
            address = resolve_client(peer, forwarded, self.trusted)
            scope.setdefault("state", {})["client_address"] = address
        await self.app(scope, receive, send)


def client_address_of(scope: Scope) -> ClientAddress:
    """The address the middleware found; the peer alone where it did not run."""
    found = scope.get("state", {}).get("client_address")
    if isinstance(found, ClientAddress):
        return found
    client = scope.get("client")
    return ClientAddress(str(client[0])[:_LONGEST_ADDRESS] if client else UNKNOWN)
