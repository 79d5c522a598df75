"""Rate limits of a sending channel: a token bucket per bot and a pacer per chat.

Both live in one process: with several instances, each gets its share of the platform's
limit (set the per-second rate accordingly), or the budget moves to Redis as DESIGN.md
describes. Time is ``time.monotonic`` unless a test passes its own clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["ChatPacer", "TokenBucket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``rate=None`` means unlimited.

    :meth:`pause` (a 429's ``retry_after``) stops every taker until it has passed and empties
    the bucket, so sending resumes at the steady rate rather than with a burst.
    """

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no limit)")
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else (rate or 1.0) * 0.2)
        self._clock = clock
        self._sleep = sleep
        # Start with one token, not a full bucket: a (re)started sender never bursts.
        self._tokens = 1.0
        self._last = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Nobody takes a token for ``seconds`` (the longest pause asked for wins)."""
        until = self._clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
        self._tokens = 0.0

    def give_back(self, count: int) -> None:
        """Return tokens taken but not used."""
        if self.rate is not None and count > 0:
            self._tokens = min(self.burst, self._tokens + count)

    def _refill(self, now: float) -> None:
        assert self.rate is not None
        start = max(self._last, self._paused_until)
        if now > start:
            self._tokens = min(self.burst, self._tokens + (now - start) * self.rate)
        self._last = max(self._last, now)

    async def take(self, wanted: int = 1) -> int:
        """Wait for at least one token, then take up to ``wanted``; how many were taken."""
        async with self._lock:
            while True:
                wait = self.paused_for
                if wait > 0:
                    await self._sleep(wait)
                    continue
                if self.rate is None:
                    return wanted
                now = self._clock()
                self._refill(now)
                if self._tokens >= 1:
                    taken = min(wanted, int(self._tokens))
                    self._tokens -= taken
                    return taken
                await self._sleep((1 - self._tokens) / self.rate)


class ChatPacer:
    """At most one message per ``interval`` seconds to the same chat (``None``: no limit).

    Keys are subscriber ids, never chat ids; entries older than the interval are dropped."""

    def __init__(
        self,
        interval: float | None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.interval = interval or 0.0
        self._clock = clock
        self._sleep = sleep
        self._next: dict[int, float] = {}

    async def wait(self, key: int) -> None:
        """Wait until a message may go to ``key``, and book the next slot."""
        if self.interval <= 0:
            return
        now = self._clock()
        if len(self._next) > 4096:
            self._next = {k: t for k, t in self._next.items() if t > now}
        start = max(now, self._next.get(key, now))
        self._next[key] = start + self.interval
        if start > now:
            await self._sleep(start - now)
