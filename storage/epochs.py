"""Epoch keys: the rotating secrets that key conversation state and receipt throttles.

Time is cut into epochs (24 hours by default). Each epoch has a random 32-byte key that
exists only in memory or in Redis, never on disk: a copy of the database and of the data
directory cannot be matched to any chat, however small its id space (Telegram ids are). The
current and the previous epoch's keys are kept, so a draft written just before a rotation
is still read after it (and re-sealed under the current key); older keys are gone, and so
is anything sealed under them.

Two providers:

* :class:`MemoryKeyring`: keys made at random in this process. A restart loses them, and
  with them the unsent drafts: the price of keeping nothing anywhere else. One bot process.
* :class:`RedisKeyring`: keys created with ``SET NX`` and an expiry at the end of the next
  epoch, so every process of a deployment shares them and drafts survive a restart of the
  bot while Redis runs. Redis must not write them to disk: :func:`check_not_persistent`
  refuses a Redis that snapshots (``save``) or appends (``appendonly``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "EpochKey",
    "Keyring",
    "MemoryKeyring",
    "RedisKeyring",
    "RedisPersists",
    "check_not_persistent",
]

log = logging.getLogger(__name__)

KEY_BYTES = 32

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class EpochKey:
    """The key of one epoch (epoch ``n`` runs from ``n * period`` to ``(n + 1) * period``)."""

    epoch: int
    key: bytes


class Keyring(Protocol):
    """Where the epoch keys come from."""

    async def current(self) -> EpochKey:
        """This epoch's key (created when it does not exist yet)."""
        ...

    async def previous(self) -> EpochKey | None:
        """The previous epoch's key, if it still exists."""
        ...

    async def close(self) -> None: ...


class RedisPersists(RuntimeError):
    """Redis writes its data to disk: the epoch keys would end up beside the database."""


class _Epochs:
    def __init__(self, period_seconds: float, clock: Clock | None) -> None:
        if period_seconds <= 0:
            raise ValueError("the epoch period must be positive")
        self.period = period_seconds
        self._clock = clock or time.time

    def now(self) -> int:
        return int(self._clock() // self.period)


class MemoryKeyring(_Epochs):
    """Random epoch keys kept in this process only."""

    def __init__(self, period_seconds: float, *, clock: Clock | None = None) -> None:
        super().__init__(period_seconds, clock)
        self._keys: dict[int, bytes] = {}

    async def current(self) -> EpochKey:
        epoch = self.now()
        key = self._keys.get(epoch)
        if key is None:
            key = self._keys[epoch] = secrets.token_bytes(KEY_BYTES)
        # Keys older than the previous epoch are dropped: what they sealed is unreadable now.
        for old in [e for e in self._keys if e < epoch - 1]:
            del self._keys[old]
        return EpochKey(epoch, key)

    async def previous(self) -> EpochKey | None:
        epoch = self.now() - 1
        key = self._keys.get(epoch)
        return None if key is None else EpochKey(epoch, key)

    async def close(self) -> None:
        self._keys.clear()


class RedisKeyring(_Epochs):
    """Epoch keys shared through Redis (which must not persist them)."""

    def __init__(
        self,
        client: Redis,
        period_seconds: float,
        *,
        prefix: str = "tipline:",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(period_seconds, clock)
        self.client = client
        self._prefix = prefix
        # Read once per epoch and process: Redis is not asked on every message.
        self._cache: dict[int, bytes | None] = {}

    def _name(self, epoch: int) -> str:
        return f"{self._prefix}state-key:{epoch}"

    async def current(self) -> EpochKey:
        epoch = self.now()
        key = self._cache.get(epoch)
        if key is None:
            name = self._name(epoch)
            # The first process to ask creates it; it expires when it stops being "previous".
            expires = int((epoch + 2) * self.period) + 1
            await self.client.set(name, secrets.token_hex(KEY_BYTES), nx=True, exat=expires)
            stored = await self.client.get(name)
            if stored is None:  # expired between the two calls: only with a tiny period
                raise RuntimeError("the epoch key vanished from Redis right after it was set")
            key = self._cache[epoch] = bytes.fromhex(str(stored))
        for old in [e for e in self._cache if e < epoch - 1]:
            del self._cache[old]
        return EpochKey(epoch, key)

    async def previous(self) -> EpochKey | None:
        epoch = self.now() - 1
        if epoch not in self._cache:
            stored = await self.client.get(self._name(epoch))
            self._cache[epoch] = None if stored is None else bytes.fromhex(str(stored))
        key = self._cache[epoch]
        return None if key is None else EpochKey(epoch, key)

    async def close(self) -> None:
        self._cache.clear()
        await self.client.aclose()


async def check_not_persistent(client: Redis) -> None:
    """Refuse a Redis that writes to disk; warn when it will not say.

    Raises :class:`RedisPersists` when RDB snapshots (``save``) or the append-only file
    (``appendonly``) are on. Managed Redis services often refuse ``CONFIG``: then only a
    warning is logged, and the operator must make sure persistence is off.
    """
    from redis.exceptions import ResponseError

    try:
        save = (await client.config_get("save")).get("save", "")
        appendonly = (await client.config_get("appendonly")).get("appendonly", "no")
    except ResponseError:
        log.warning(
            "Redis does not allow CONFIG GET: cannot check that it keeps the epoch keys off "
            'disk. Turn off RDB snapshots (save "") and the AOF (appendonly no) yourself.'
        )
        return
    if str(save).strip() or str(appendonly).lower() == "yes":
        raise RedisPersists(
            "Redis writes its data to disk (save "
            f"{str(save)!r}, appendonly {appendonly}): the keys of conversation state would "
            "end up on disk. Run Redis with --save '' --appendonly no (or CONFIG SET save '' "
            "and CONFIG SET appendonly no)."
        )
