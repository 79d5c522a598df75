"""The turns a channel has under way, so that stopping it can let them finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["TurnsInProgress"]

WAIT_SECONDS = 30


class TurnsInProgress:
    """Tasks handling a message now; :meth:`wait` gives them time to finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, task: asyncio.Task[Any]) -> None:
        """A task started for one message; forgotten when it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """Count the current task as a turn while the block runs."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def wait(self) -> None:
        """Until every turn under way is done, or for at most 30 seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=WAIT_SECONDS)
