"""The channel-agnostic message types every adapter speaks.

An adapter turns a platform update into one :class:`Inbound` and renders each
:class:`Outbound` back in the platform's own way (inline keyboard, numbered
options, HTML, split texts). Nothing here knows about a platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Attachment",
    "Button",
    "Inbound",
    "Location",
    "Outbound",
]


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the user; ``payload`` comes back in :attr:`Inbound.payload`."""

    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user sent, already downloaded by the adapter."""

    data: bytes
    mime: str | None = None
    filename: str | None = None
    kind: Literal["photo", "document"] = "photo"


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing the user did: typed text, pressed a button, sent a file or a location.

    ``chat`` is the adapter's opaque key for the conversation, such as ``"web:<token>"``
    or ``"tg:<id>"``. It is never stored or logged as is: stores keep a keyed hash of it.
    """

    chat: str
    text: str | None = None
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class Outbound:
    """One message for the user.

    ``buttons`` are rows of choices; platforms without buttons show them as numbered
    options (see :func:`handlers.render.numbered_options`). ``sensitive`` marks a message
    (a receipt) that adapters must not keep in any transcript or log. ``kind="wipe"`` tells
    the adapter the conversation was forgotten here: it erases the conversation on the
    user's side where the platform allows it, then shows the text. ``erase_input`` says the
    user's message that led to this reply carried a secret (a typed receipt): the adapter
    deletes or masks that message on the user's side where it can.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    sensitive: bool = False
    kind: Literal["text", "receipt", "wipe"] = "text"
    erase_input: bool = False
