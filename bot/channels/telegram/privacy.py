"""Log lines without personal data, for our adapter and for aiogram's own loggers.

aiogram logs exceptions with their message and traceback; some messages quote what
Telegram or a user sent (``ClientDecodeError`` prints a whole update, pydantic validation
errors print the input). :class:`Redact` keeps those lines but replaces each exception by its
type and where it was raised, so an operator still knows what broke and where.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

__all__ = ["Redact", "install", "where"]

AIOGRAM_LOGGERS = ("aiogram.dispatcher", "aiogram.event", "aiogram.middlewares")


def where(error: BaseException, frames: int = 3) -> str:
    """``TypeName at file.py:12 in f < file.py:34 in g``: an error without its message."""
    tb: TracebackType | None = error.__traceback__
    stack = traceback.extract_tb(tb)[-frames:] if tb else []
    places = " < ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
        for frame in reversed(stack)
    )
    name = type(error).__name__
    if error.__cause__ is not None:
        name += f" (from {type(error.__cause__).__name__})"
    return f"{name} at {places}" if places else name


class Redact(logging.Filter):
    """Replaces exception arguments and tracebacks of a record by :func:`where`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                type(arg).__name__ if isinstance(arg, BaseException) else arg for arg in record.args
            )
        if record.exc_info and record.exc_info[1] is not None:
            summary = where(record.exc_info[1]).replace("%", "%%")
            record.msg = f"{record.msg} [{summary}]"
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    """Attach :class:`Redact` to aiogram's loggers (once)."""
    for name in AIOGRAM_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Redact) for f in logger.filters):
            logger.addFilter(Redact())
