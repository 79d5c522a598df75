"""An :class:`~handlers.types.Outbound` as Telegram messages.

Text is escaped for HTML parse mode and split at Telegram's 4096-character limit; choices
become an inline keyboard on the last part, each label prefixed with its number so that
typing the number works too. A payload that does not fit Telegram's 64-byte
``callback_data`` makes the message fall back to numbered options in the text.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.render import numbered_options, split_text, with_numbered_options
from handlers.types import Outbound

__all__ = ["MAX_CALLBACK_DATA", "MAX_TEXT", "Part", "fits_callback_data", "render"]

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
EMPTY = "…"


@dataclass(frozen=True, slots=True)
class Part:
    """One Telegram message: HTML text (everything escaped) and an optional keyboard."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None


def fits_callback_data(payload: str) -> bool:
    """Telegram accepts 1-64 bytes of ``callback_data``."""
    return 1 <= len(payload.encode()) <= MAX_CALLBACK_DATA


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _split(text: str) -> list[str]:
    """Parts of at most 4096 characters, counted as Telegram does (UTF-16 code units)."""
    parts: list[str] = []
    for part in split_text(text, MAX_TEXT):
        # Characters outside the BMP count twice; half the limit always fits.
        parts.extend([part] if _utf16_length(part) <= MAX_TEXT else split_text(part, MAX_TEXT // 2))
    return parts


def _keyboard(message: Outbound) -> InlineKeyboardMarkup | None:
    labels = iter(numbered_options(message))
    rows = [
        [InlineKeyboardButton(text=next(labels), callback_data=button.payload) for button in row]
        for row in message.buttons
        if row
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def render(message: Outbound) -> list[Part]:
    """The Telegram messages that show ``message``; the keyboard goes on the last one."""
    text = message.text
    keyboard = None
    if any(message.buttons):
        payloads = [button.payload for row in message.buttons for button in row]
        if all(fits_callback_data(payload) for payload in payloads):
            keyboard = _keyboard(message)
        else:
            # Never cut a payload: the choices stay available by typing their number.
            log.warning("telegram: a choice does not fit callback_data; sent as numbered text")
            text = with_numbered_options(message)
    parts = _split(text)
    if not parts:
        parts = [EMPTY] if keyboard is not None else []
    rendered = [Part(html.escape(part)) for part in parts]
    if rendered and keyboard is not None:
        rendered[-1] = Part(rendered[-1].html, keyboard)
    return rendered
