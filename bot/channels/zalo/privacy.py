"""Log lines without secrets or personal data: httpx's request lines, and errors.

httpx logs every request at INFO as ``HTTP Request: POST <url> "HTTP/1.1 200 OK"``. For the
Bot API the URL holds the bot token (``/bot<token>/sendMessage``); for a picture it is the
link to what a reporter sent. :class:`RedactURLs` keeps the line but shortens each URL to
its scheme and host, with the last path segment when it names a Bot API method.
"""

from __future__ import annotations

import logging
import traceback

import httpx

__all__ = ["RedactURLs", "install", "redact", "where"]

HTTPX_LOGGERS = ("httpx",)


def where(error: BaseException, frames: int = 3) -> str:
    """``TypeName at file.py:12 in f < …``: an error without its message, which may quote
    what a user sent."""
    stack = traceback.extract_tb(error.__traceback__)[-frames:] if error.__traceback__ else []
    places = " < ".join(
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}"
        for frame in reversed(stack)
    )
    name = type(error).__name__
    return f"{name} at {places}" if places else name


def redact(url: httpx.URL) -> str:
    """``https://host/…/sendMessage`` for a Bot API URL, ``https://host/…`` otherwise."""
    segments = url.path.split("/")
    method = segments[-1] if len(segments) >= 3 and segments[-2].startswith("bot") else ""
    return f"{url.scheme}://{url.host}/…{'/' + method if method.isalpha() else ''}"


class RedactURLs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def install() -> None:
    """Attach :class:`RedactURLs` to httpx's logger (once)."""
    for name in HTTPX_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactURLs) for f in logger.filters):
            logger.addFilter(RedactURLs())
