"""Sending the conversation's replies to a Telegram chat, and the wipe.

Every message sent to, and received from, a private chat is noted in the in-memory
:class:`~bot.channels.telegram.history.MessageLog`, so that the wipe can delete both sides
(bots may delete any message of a private chat for 48 hours). Errors are logged by kind
only: no chat id, no text. A failed send never loses what the user entered, because the
conversation saved its state before the replies are sent.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import LinkPreviewOptions

from bot.channels.telegram.history import MessageLog
from bot.channels.telegram.render import Part, render
from handlers.i18n import translator
from handlers.types import Outbound

__all__ = ["Outbox"]

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # deleteMessages takes 1-100 ids
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Outbox:
    """Sends replies, tracks message ids of private chats and deletes them on the wipe."""

    def __init__(self, bot: Bot, history: MessageLog) -> None:
        self.bot = bot
        self.history = history

    async def deliver(self, chat_id: int, replies: Sequence[Outbound], locale: str) -> bool:
        """Send the replies in order; False when a send failed and the rest was dropped."""
        for reply in replies:
            if reply.kind == "wipe":
                reply = dataclasses.replace(reply, text=await self.wipe(chat_id, reply, locale))
            for part in render(reply):
                if not await self.send(chat_id, part, track=True):
                    return False
        return True

    async def send(self, chat_id: int, part: Part, *, track: bool = False) -> bool:
        """Send one message; ``track`` notes its id for the wipe (private chats only)."""
        try:
            sent = await self.bot.send_message(
                chat_id,
                part.html,
                parse_mode=ParseMode.HTML,
                reply_markup=part.keyboard,
                link_preview_options=NO_PREVIEW,
            )
        except TelegramForbiddenError:
            log.warning("telegram: the user blocked the bot or left; replies dropped")
            return False
        except TelegramAPIError as error:
            log.error("telegram sendMessage failed (%s); replies dropped", type(error).__name__)
            return False
        if track:
            self.history.add(chat_id, sent.message_id)
        return True

    async def say(self, chat_id: int, text: str, *, track: bool = True) -> bool:
        """Send a text of the adapter's own (escaped and split like any reply)."""
        for part in render(Outbound(text=text)):
            if not await self.send(chat_id, part, track=track):
                return False
        return True

    async def typing(self, chat_id: int) -> None:
        """Show "typing…" while something slow (a download) happens; best effort."""
        try:
            await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramAPIError as error:
            log.debug("telegram sendChatAction failed (%s)", type(error).__name__)

    async def wipe(self, chat_id: int, reply: Outbound, locale: str) -> str:
        """Delete every known message of the chat; the wipe text, noting what remains."""
        collected = self.history.collect(chat_id)
        failed = await self.delete(chat_id, collected.ids)
        missed = collected.missed or failed > 0
        self.history.begin(chat_id, complete=not missed)
        log.info(
            "telegram: conversation wiped (%d messages deleted, %d failed, older remain: %s)",
            len(collected.ids) - failed,
            failed,
            "maybe" if missed else "no",
        )
        if not missed:
            return reply.text
        _ = translator(locale).gettext
        return (
            reply.text
            + "\n\n"
            + _(
                "Some older messages could not be deleted (sent more than 48 hours ago, or "
                "before the bot restarted); please delete the chat in Telegram too."
            )
        )

    async def delete(self, chat_id: int, ids: Sequence[int]) -> int:
        """Delete messages, in batches, one by one when a batch is refused; the failures."""
        failed = 0
        for start in range(0, len(ids), DELETE_BATCH):
            batch = list(ids[start : start + DELETE_BATCH])
            try:
                await self.bot.delete_messages(chat_id, batch)
                continue
            except TelegramBadRequest:
                pass  # some cannot be deleted: find out which, one by one
            except TelegramForbiddenError:
                return failed + len(ids) - start
            except TelegramAPIError as error:
                log.warning("telegram deleteMessages failed (%s)", type(error).__name__)
                failed += len(batch)
                continue
            for message_id in batch:
                try:
                    await self.bot.delete_message(chat_id, message_id)
                except TelegramBadRequest as error:
                    # Already gone (the user deleted it) is fine; too old is not.
                    failed += "not found" not in error.message.casefold()
                except TelegramAPIError:
                    failed += 1
        return failed
