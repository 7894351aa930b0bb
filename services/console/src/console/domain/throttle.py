"""Log-in attempts per client address: a fixed budget per minute (pure; the clock is given)."""

from __future__ import annotations

from collections import OrderedDict

MAX_TRACKED = 10_000


class LoginThrottle:
    """At most ``per_minute`` attempts per client in any window of 60 s (counted per minute).

    To the gateway, every operator at the console comes from the console's one address, so one
    client flooding the log-in form would use up everyone's attempts there; this limit keeps a
    single client's share small before the gateway is asked."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._windows: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def allow(self, client: str, now: float) -> bool:
        minute = int(now // 60)
        start, count = self._windows.get(client, (minute, 0))
        if start != minute:
            start, count = minute, 0
        if count >= self.per_minute:
            return False
        self._windows[client] = (start, count + 1)
        self._windows.move_to_end(client)
        while len(self._windows) > MAX_TRACKED:
            self._windows.popitem(last=False)
        return True
