"""The event loop Tipline runs on: uvloop where it is installed, else asyncio's own.

uvloop takes a sixth to a third off the CPU a webhook update costs (``bench/updates.py``,
docs/performance.md). Kept apart from :mod:`bot.server` so that benchmarks and commands can
use it without importing the web app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["loop_factory"]


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """For ``asyncio.run(..., loop_factory=...)``: uvloop's, or None for asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
