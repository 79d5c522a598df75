"""Downloading what a user sent through the Bot API (``getFile`` + the file URL), capped.

The cap is checked three times: the size declared in the update (by the caller, before
anything is downloaded), the size ``getFile`` reports, and the bytes actually received.
"""

from __future__ import annotations

from contextlib import aclosing

import aiohttp
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

__all__ = ["DownloadFailed", "TooLarge", "download"]

TIMEOUT_SECONDS = 60


class TooLarge(Exception):
    """The file is larger than allowed; nothing more is downloaded."""


class DownloadFailed(Exception):
    """Telegram could not give the file (network, expired id, file too big for the Bot API)."""


async def download(bot: Bot, file_id: str, limit: int) -> bytes:
    """The file's bytes, at most ``limit`` of them (:class:`TooLarge` beyond)."""
    try:
        info = await bot.get_file(file_id)
        if info.file_size is not None and info.file_size > limit:
            raise TooLarge
        if not info.file_path:
            raise DownloadFailed
        url = bot.session.api.file_url(bot.token, info.file_path)
        received = bytearray()
        stream = bot.session.stream_content(url, timeout=TIMEOUT_SECONDS, chunk_size=64 * 1024)
        async with aclosing(stream) as chunks:
            async for chunk in chunks:
                received += chunk
                if len(received) > limit:
                    raise TooLarge
        return bytes(received)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        raise DownloadFailed from error
