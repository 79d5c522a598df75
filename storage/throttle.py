"""Fixed-window attempt counters (wrong receipts), kept in memory or Redis, never on disk.

A counter on disk would say which chat typed a receipt and when. Here a counter is named
by ``chat_tag(epoch key, chat, purpose)`` and lives no longer than its window: in this
process (:class:`MemoryThrottle`) or in Redis (:class:`RedisThrottle`, shared by every
process of a deployment). A rotation of the epoch key starts every count afresh, once a day.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from storage import sealing
from storage.epochs import Keyring

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["MemoryThrottle", "RedisThrottle"]

_SWEEP_AT = 10_000  # counters kept in memory before the expired ones are swept


class MemoryThrottle:
    """Counters in this process's memory."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._counters: dict[bytes, tuple[float, int]] = {}

    async def _name(self, chat: str, purpose: str) -> bytes:
        return sealing.chat_tag((await self._keyring.current()).key, chat, purpose)

    async def allow(
        self, chat: str, purpose: str, limit: int, window: timedelta
    ) -> tuple[bool, timedelta]:
        """Count one attempt; returns (allowed, time until the window resets)."""
        name = await self._name(chat, purpose)
        now = time.monotonic()
        length = window.total_seconds()
        if len(self._counters) >= _SWEEP_AT:
            self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
        ends, attempts = self._counters.get(name, (0.0, 0))
        if ends <= now:
            ends, attempts = now + length, 0
        attempts += 1
        self._counters[name] = (ends, attempts)
        return attempts <= limit, timedelta(seconds=ends - now)

    async def reset(self, chat: str, purpose: str) -> None:
        self._counters.pop(await self._name(chat, purpose), None)


class RedisThrottle:
    """Counters in Redis, expiring with their window."""

    def __init__(self, client: Redis, keyring: Keyring, *, prefix: str = "tipline:") -> None:
        self._client = client
        self._keyring = keyring
        self._prefix = prefix

    async def _name(self, chat: str, purpose: str) -> str:
        tag = sealing.chat_tag((await self._keyring.current()).key, chat, purpose)
        return f"{self._prefix}throttle:{tag.hex()}"

    async def allow(
        self, chat: str, purpose: str, limit: int, window: timedelta
    ) -> tuple[bool, timedelta]:
        """Count one attempt; returns (allowed, time until the window resets)."""
        name = await self._name(chat, purpose)
        milliseconds = max(1, int(window.total_seconds() * 1000))
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, nx=True, px=milliseconds)
            pipe.incr(name)
            pipe.pttl(name)
            _, attempts, left = await pipe.execute()
        return int(attempts) <= limit, timedelta(milliseconds=max(0, int(left)))

    async def reset(self, chat: str, purpose: str) -> None:
        await self._client.delete(await self._name(chat, purpose))
