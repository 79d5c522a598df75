"""Keeps aiogram's response models alive between Bot API calls.

aiogram parses every answer with ``Response[method.__returning__]``, a parametrised pydantic
generic. Pydantic caches those in a ``WeakValueDictionary`` only, and a class always sits in
a reference cycle, so every full garbage collection drops them and the next call builds the
schema again: about a millisecond of CPU per reply under load, the largest single cost of
sending one in the profile of ``bench/updates.py`` (docs/performance.md). Holding the model
of each method type once used keeps pydantic's cache warm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = ["KeepResponseModels"]

_KEPT: dict[type[Any], type[Any]] = {}  # one entry per Bot API method type: a few dozen at most


class KeepResponseModels(BaseRequestMiddleware):
    """A request middleware holding ``Response[T]`` for each method type it sees."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in _KEPT:
            _KEPT[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
