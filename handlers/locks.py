"""One asyncio lock per key (a chat), kept only while someone holds or waits for it."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable

__all__ = ["KeyedLocks"]


class KeyedLocks[K: Hashable]:
    """``locks[key]`` is that key's lock: the same one for everyone using it at the time."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[K, asyncio.Lock] = weakref.WeakValueDictionary()

    def __getitem__(self, key: K) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
