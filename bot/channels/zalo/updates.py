"""What a Zalo update means, before the conversation sees it: pure functions.

A webhook call and a ``getUpdates`` answer carry the same update, sometimes wrapped as
``{"ok": true, "result": {...}}`` and sometimes bare (both are seen in the wild)::

    {"event_name": "message.text.received",
     "message": {"message_id": "2d75…", "date": 1750316131602, "text": "Xin chào",
                 "chat": {"id": "6ede…", "chat_type": "PRIVATE"},
                 "from": {"id": "6ede…", "display_name": "Ted", "is_bot": false}}}

Image events carry the picture's URL in ``message.photo`` (and an optional ``caption``).
The chat key is ``zalo:<chat id>`` (the conversation stores only a keyed hash of it). The
sender's name is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "IMAGE",
    "STICKER",
    "TEXT",
    "UNSUPPORTED",
    "VOICE",
    "Event",
    "MalformedUpdate",
    "chat_key",
    "parse",
    "unwrap",
]

TEXT = "message.text.received"
IMAGE = "message.image.received"
STICKER = "message.sticker.received"
VOICE = "message.voice.received"
UNSUPPORTED = "message.unsupported.received"

MAX_ID_CHARS = 128


class MalformedUpdate(ValueError):
    """The body is not a Zalo update. The message says what is wrong, never what it held."""


@dataclass(frozen=True, slots=True)
class Event:
    """One message event: who (the chat), what kind, and its text or picture."""

    name: str
    chat_id: str
    group: bool
    message_id: str | None = None
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None

    @property
    def key(self) -> str | None:
        """What identifies the event when Zalo delivers it again (None: cannot tell)."""
        return f"{self.name}:{self.message_id}" if self.message_id else None


def chat_key(chat_id: str) -> str:
    return f"zalo:{chat_id}"


def unwrap(body: Any) -> dict[str, Any]:
    """The update inside a webhook body or a ``getUpdates`` result."""
    if not isinstance(body, dict):
        raise MalformedUpdate("not a JSON object")
    result = body.get("result")
    if "event_name" not in body and "message" not in body and isinstance(result, dict):
        return result
    return body


def parse(update: Any) -> Event | None:
    """The message event of ``update``; None for an event without a message (nothing to
    answer). :class:`MalformedUpdate` when it is not an update at all."""
    update = unwrap(update)
    name = update.get("event_name")
    message = update.get("message")
    if name is not None and not isinstance(name, str):
        raise MalformedUpdate("event_name is not a string")
    if message is None:
        if name is None:
            raise MalformedUpdate("neither event_name nor message")
        return None
    if not isinstance(message, dict):
        raise MalformedUpdate("message is not an object")
    chat = message.get("chat")
    if not isinstance(chat, dict):
        raise MalformedUpdate("message has no chat")
    chat_id = _identifier(chat.get("id"))
    if chat_id is None:
        raise MalformedUpdate("chat has no usable id")
    text = _string(message.get("text"))
    photo = _photo_url(message)
    return Event(
        name=name or _infer(message, text, photo),
        chat_id=chat_id,
        group=str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE",
        message_id=_identifier(message.get("message_id")),
        text=text,
        photo_url=photo,
        caption=_string(message.get("caption")),
    )


def _infer(message: dict[str, Any], text: str | None, photo: str | None) -> str:
    """The event name of an update that lacks one (``getUpdates`` samples omit it)."""
    if text is not None:
        return TEXT
    if photo is not None:
        return IMAGE
    if message.get("sticker") is not None:
        return STICKER
    return UNSUPPORTED


def _photo_url(message: dict[str, Any]) -> str | None:
    photo = message.get("photo")
    if isinstance(photo, dict):
        photo = photo.get("url")
    if not isinstance(photo, str) or not photo:
        photo = message.get("photo_url")
    if isinstance(photo, str) and photo.startswith(("https://", "http://")):
        return photo
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _identifier(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not 1 <= len(text) <= MAX_ID_CHARS or not text.isprintable() or " " in text:
        return None
    return text
