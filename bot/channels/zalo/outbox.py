"""Sending the conversation's replies to a Zalo chat.

Zalo bots cannot delete messages, on either side. So where the conversation asks for an
erase (``kind="wipe"``, or ``erase_input`` after a typed receipt), the user is told plainly
to delete the chat, or their message, in Zalo themselves.

Errors are logged by kind only: no chat id, no text. A failed send never loses what the
user entered, because the conversation saved its state before the replies are sent; the
rest of that turn's replies is dropped so they never arrive out of order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.errors import ZaloError, ZaloForbidden
from bot.channels.zalo.render import render, split
from handlers.i18n import translator
from handlers.types import Outbound

__all__ = ["Outbox"]

log = logging.getLogger(__name__)


class Outbox:
    """Sends replies in order, one Zalo message per part."""

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    async def deliver(self, chat_id: str, replies: Sequence[Outbound], locale: str) -> bool:
        """Send the replies in order; False when a send failed and the rest was dropped."""
        _ = translator(locale).gettext
        if any(reply.erase_input for reply in replies):
            note = _(
                "Zalo does not let the bot delete messages. Please delete the message with "
                "your receipt yourself: press and hold it, then choose Recall or Delete."
            )
            if not await self.say(chat_id, note):
                return False
        for reply in replies:
            if reply.kind == "wipe":
                reply = dataclasses.replace(reply, text=reply.text + "\n\n" + _wipe_note(locale))
                log.info("zalo: conversation wiped; the user was asked to delete the chat in Zalo")
            for part in render(reply):
                if not await self.send(chat_id, part):
                    return False
        return True

    async def send(self, chat_id: str, text: str) -> bool:
        """Send one message of at most 2000 characters."""
        try:
            await self.client.send_message(chat_id, text)
        except ZaloForbidden:
            log.warning("zalo: the user blocked the bot or cannot be messaged; replies dropped")
            return False
        except ZaloError as error:
            log.error("zalo sendMessage failed (%s); replies dropped", type(error).__name__)
            return False
        return True

    async def say(self, chat_id: str, text: str) -> bool:
        """Send a text of the adapter's own (split like any reply)."""
        for part in split(text):
            if not await self.send(chat_id, part):
                return False
        return True

    async def typing(self, chat_id: str) -> None:
        """Show "typing…" while something slow (a download) happens; best effort."""
        try:
            await self.client.send_chat_action(chat_id, "typing")
        except ZaloError as error:
            log.debug("zalo sendChatAction failed (%s)", type(error).__name__)


def _wipe_note(locale: str) -> str:
    _ = translator(locale).gettext
    return _(
        "Zalo does not let bots delete messages, so this conversation is still on your "
        "phone. To remove it, press and hold this chat in your Zalo chat list and choose "
        "Delete."
    )
