"""Flood control: a token bucket per chat, kept in memory only.

One chat sending dozens of messages a second (a script, a stuck key, a hostile client) must
not make the bot load and save its state dozens of times a second, nor slow other chats
down. :class:`FloodControl` is asked before anything is loaded: a message over the limit is
dropped unread, and the chat is told politely at most once every ``notice_seconds``.

Buckets are keyed by the chat's keyed hash (never the raw chat id) and live in a bounded
LRU: at most ``max_chats`` buckets, the least recently seen dropped first, so memory cannot
grow with the number of chats. Nothing here is ever written to disk.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

__all__ = ["FloodControl", "Verdict"]


class Verdict(Enum):
    ALLOW = "allow"  # handle the message
    NOTIFY = "notify"  # over the limit: drop it, and tell the chat to slow down
    DROP = "drop"  # over the limit, already told recently: drop it silently


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    notified: float | None = None


class FloodControl:
    """Allows ``burst`` messages at once per chat, then ``per_second`` on average.

    ``per_second <= 0`` turns flood control off. ``clock`` is for tests."""

    def __init__(
        self,
        per_second: float = 5.0,
        burst: int = 30,
        *,
        notice_seconds: float = 5.0,
        max_chats: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = max(1, burst)
        self.notice_seconds = notice_seconds
        self.max_chats = max(1, max_chats)
        self.clock = clock
        self._buckets: OrderedDict[bytes, _Bucket] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, key: bytes) -> Verdict:
        """Take one token for ``key``'s message, or say why it cannot be handled."""
        if not self.enabled:
            return Verdict.ALLOW
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
            while len(self._buckets) > self.max_chats:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ALLOW
        if bucket.notified is None or now - bucket.notified >= self.notice_seconds:
            bucket.notified = now
            return Verdict.NOTIFY
        return Verdict.DROP
