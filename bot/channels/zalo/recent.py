"""Small bounded memories of the Zalo channel. In memory only, on purpose, and bounded.

:class:`Recent` remembers the keys of the last events handled, so an event Zalo delivers
twice (a webhook retry, polling after a webhook) is handled once. :class:`Cooldown`
remembers which chats were recently given a hint (a sticker, a group), so a burst of them
gets one answer. Neither is ever written anywhere.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["Cooldown", "Recent"]


class Recent:
    """The last ``size`` keys seen; :meth:`first_time` is True once per key."""

    def __init__(self, size: int = 5000) -> None:
        self._size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def first_time(self, key: str) -> bool:
        """Note ``key``; False when it was already among the recent ones."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True


class Cooldown:
    """At most one "yes" per key in ``seconds``; remembers at most ``size`` keys."""

    def __init__(
        self,
        seconds: float = 600.0,
        size: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._size = size
        self._clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()

    def ready(self, key: str) -> bool:
        """True (and the cooldown starts) when ``key`` had no "yes" in the window."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._seconds:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self._size:
            self._last.popitem(last=False)
        return True
