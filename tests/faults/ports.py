"""Ports for the servers the campaign takes down, outside the kernel's ephemeral port range.

While a server is down its clients reconnect in a loop, each attempt from an ephemeral local
port. A port chosen by binding port 0 lies in that same range, and on loopback a connection
whose local port happens to equal the port it dials connects to itself (TCP simultaneous open):
the client then holds the dead server's port, and the server cannot bind it when it starts
again. The first campaigns met exactly this: a broker of the cluster failed to restart with
"Address already in use" on its own port. Ports below the ephemeral range are never handed out
to a client, so a restarted server finds its port free.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from pathlib import Path

RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 10_000  # clear of the well-known ports and of the services' defaults (8000-9300)


def ephemeral_range(text: str | None = None) -> tuple[int, int]:
    """The kernel's ephemeral range (Linux's default when it cannot be read)."""
    if text is None:
        text = RANGE_FILE.read_text() if RANGE_FILE.exists() else "32768 60999"
    low, high = (int(part) for part in text.split())
    return low, high


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def quiet_ports(
    count: int,
    taken: set[int],
    *,
    below: int | None = None,
    free: Callable[[int], bool] = bindable,
    rng: random.Random | None = None,
) -> int:
    """The first of ``count`` consecutive free ports below the ephemeral range, none of them
    in ``taken`` (which the chosen ones join)."""
    ceiling = below if below is not None else ephemeral_range()[0]
    chooser = rng or random.Random()
    for _ in range(500):
        first = chooser.randrange(LOWEST, ceiling - count + 1)
        ports = range(first, first + count)
        if not taken.intersection(ports) and all(free(port) for port in ports):
            taken.update(ports)
            return first
    raise RuntimeError(f"no {count} consecutive free ports below {ceiling}")
