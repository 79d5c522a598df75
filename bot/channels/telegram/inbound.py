"""What a Telegram update means, before the conversation sees it: pure functions.

The chat key is ``tg:<chat id>`` (the conversation stores only a keyed hash of it); the
language hint is the user's Telegram ``language_code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiogram.enums import MessageEntityType
from aiogram.types import Message, PhotoSize, User

from handlers.types import Location

__all__ = ["Upload", "addressed_to", "chat_key", "language_hint", "location_of", "upload_of"]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file the user sent, not downloaded yet. ``size`` is what the update declares."""

    file_id: str
    size: int | None
    mime: str | None
    kind: Literal["photo", "document"]


def chat_key(chat_id: int) -> str:
    return f"tg:{chat_id}"


def language_hint(user: User | None) -> str | None:
    return user.language_code if user is not None else None


def largest(sizes: list[PhotoSize]) -> PhotoSize:
    """The biggest of the sizes Telegram offers for one photo."""
    return max(sizes, key=lambda size: (size.width * size.height, size.file_size or 0))


def upload_of(message: Message) -> Upload | None:
    """The photo or document of ``message``, if it has one."""
    if message.photo:
        photo = largest(message.photo)
        return Upload(photo.file_id, photo.file_size, "image/jpeg", "photo")
    if message.document is not None:
        document = message.document
        return Upload(document.file_id, document.file_size, document.mime_type, "document")
    return None


def location_of(message: Message) -> Location | None:
    place = message.location or (message.venue.location if message.venue else None)
    return Location(place.latitude, place.longitude) if place is not None else None


def addressed_to(message: Message, me: User) -> bool:
    """In a group: is this a command for any bot, for this bot, or a mention or reply to it?"""
    text = message.text or message.caption or ""
    username = (me.username or "").casefold()
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        target = command.partition("@")[2].casefold()
        return not target or target == username
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    entities = message.entities or message.caption_entities or []
    for entity in entities:
        if entity.type == MessageEntityType.MENTION and username:
            mention = entity.extract_from(text).removeprefix("@").casefold()
            if mention == username:
                return True
        mentioned = entity.user.id if entity.user is not None else None
        if entity.type == MessageEntityType.TEXT_MENTION and mentioned == me.id:
            return True
    return False
