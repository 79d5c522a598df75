"""The port between the broadcaster and a platform: :class:`Sender`.

A sender turns a Markdown body into the platform's messages (:meth:`Sender.parts`) and sends
one of them to an address (the subscriber's chat key, e.g. ``tg:12345``), answering with a
:class:`SendOutcome` instead of raising. Rate limits, retries and bookkeeping are the
broadcaster's; a sender only speaks the platform's language. Telegram's lives in
``bot/channels/telegram/campaign.py``; Zalo's plugs in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["NullSender", "SendOutcome", "Sender"]

Kind = Literal["sent", "retry_after", "blocked", "transient", "rejected"]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """``sent``; ``retry_after`` (rate limited: pause the channel ``retry_after`` seconds);
    ``blocked`` (the user blocked the bot or is gone); ``transient`` (5xx, network: try
    again later); ``rejected`` (the platform refused this message: do not retry).
    ``code`` is a short error code kept with the delivery (never the user's data)."""

    kind: Kind
    code: str | None = None
    retry_after: float = 0.0


SENT = SendOutcome("sent")


class Sender(Protocol):
    """Sends campaign messages on one platform."""

    @property
    def channel(self) -> str:
        """The channel name, as in ``subscribers.channel`` ("telegram", "zalo")."""
        ...

    def parts(self, markdown: str) -> list[str]:
        """The platform messages that show ``markdown`` (split to its length limit)."""
        ...

    async def send(self, address: str, part: str) -> SendOutcome:
        """Send one part to the chat ``address``."""
        ...

    async def close(self) -> None: ...


class NullSender:
    """Accepts every message at once and remembers how many: the pipeline's own speed."""

    def __init__(self, channel: str = "telegram") -> None:
        self._channel = channel
        self.sent = 0

    @property
    def channel(self) -> str:
        return self._channel

    def parts(self, markdown: str) -> list[str]:
        return [markdown]

    async def send(self, address: str, part: str) -> SendOutcome:
        self.sent += 1
        return SENT

    async def close(self) -> None:
        return None
