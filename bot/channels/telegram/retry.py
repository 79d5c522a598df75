"""Retrying Bot API calls, as a request middleware of the aiogram session.

``429 Too Many Requests`` waits the ``retry_after`` Telegram asks for; network errors and
``5xx`` answers are retried with exponential backoff. Both are bounded: after
``attempts`` tries (or a ``retry_after`` longer than ``max_wait``) the error is raised to
the caller, which logs it. ``getUpdates`` is left alone: aiogram's polling loop has its own
backoff. Everything else (``400``, ``403`` blocked by the user...) is not retried.

A request that timed out may have reached Telegram: retrying it can, rarely, show a message
twice. That is preferred to losing an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = ["RetryMiddleware"]

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    """Retries rate-limited and transiently failing Bot API calls a bounded number of times."""

    def __init__(
        self,
        *,
        attempts: int = 4,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        if name == GetUpdates.__api_method__:
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                log.warning(
                    "telegram %s: rate limited, retrying in %d s (attempt %d of %d)",
                    name,
                    error.retry_after,
                    attempt,
                    self.attempts,
                )
                await self._sleep(error.retry_after)
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt == self.attempts:
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "telegram %s: %s, retrying in %.1f s (attempt %d of %d)",
                    name,
                    type(error).__name__,
                    delay,
                    attempt,
                    self.attempts,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
