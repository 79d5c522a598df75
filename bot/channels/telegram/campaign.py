"""Campaign messages on Telegram: the :class:`~bot.campaigns.sending.Sender` of this channel.

Bodies are the campaign files' small Markdown (paragraphs, ``- `` bullets, ``**bold**``):
escaped for HTML parse mode, ``**bold**`` becomes ``<b>bold</b>``, and a body longer than
4096 characters is split (bold stays balanced across the parts). Sending uses an aiogram
``Bot`` built like the conversation's (same API base) but without the retrying middleware:
the broadcaster decides about 429s and errors for the whole channel.
"""

from __future__ import annotations

import html
import re
import unicodedata

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.campaigns.sending import SendOutcome
from bot.channels.telegram.outbox import NO_PREVIEW
from bot.channels.telegram.render import MAX_TEXT
from handlers.render import split_text

__all__ = ["TelegramSender", "markdown_html", "markdown_parts"]

BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
MARK = "**"
# Bad requests that mean the chat is gone for good, like a block.
GONE = ("chat not found", "user is deactivated", "bot was kicked", "peer_id_invalid")


def markdown_html(text: str) -> str:
    """One part of a body as Telegram HTML: everything escaped, ``**x**`` as ``<b>x</b>``."""
    return BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def markdown_parts(markdown: str, limit: int = MAX_TEXT) -> list[str]:
    """A body as Telegram HTML messages of at most ``limit`` visible characters each."""
    text = unicodedata.normalize("NFC", markdown).strip()
    pieces: list[str] = []
    for piece in split_text(text, limit):
        # Characters outside the BMP count twice for Telegram; half the limit always fits.
        pieces.extend([piece] if _utf16_length(piece) <= limit else split_text(piece, limit // 2))
    parts: list[str] = []
    open_bold = False
    for piece in pieces:
        if open_bold:
            piece = MARK + piece
        open_bold = piece.count(MARK) % 2 == 1
        if open_bold:
            piece += MARK
        parts.append(markdown_html(piece))
    return parts


class TelegramSender:
    """Sends campaign messages through the Bot API; answers, never raises."""

    channel = "telegram"

    def __init__(self, bot: Bot, *, timeout: float = 30.0) -> None:
        self.bot = bot
        self.timeout = timeout

    def parts(self, markdown: str) -> list[str]:
        return markdown_parts(markdown)

    async def send(self, address: str, part: str) -> SendOutcome:
        prefix, _, chat = address.partition(":")
        if prefix != "tg" or not chat.lstrip("-").isdigit():
            return SendOutcome("rejected", "not a telegram address")
        try:
            await self.bot.send_message(
                int(chat),
                part,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                request_timeout=int(self.timeout),
            )
        except TelegramRetryAfter as error:
            return SendOutcome("retry_after", "429", float(error.retry_after))
        except TelegramForbiddenError:
            return SendOutcome("blocked", "403")
        except TelegramBadRequest as error:
            if any(words in error.message.casefold() for words in GONE):
                return SendOutcome("blocked", "400 chat gone")
            return SendOutcome("rejected", "400")
        except TelegramServerError:
            return SendOutcome("transient", "5xx")
        except TelegramNetworkError:
            return SendOutcome("transient", "network")
        except TelegramAPIError as error:
            return SendOutcome("rejected", type(error).__name__[:40])
        return SendOutcome("sent")

    async def close(self) -> None:
        await self.bot.session.close()
