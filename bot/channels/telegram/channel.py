"""The Telegram channel: aiogram feeds updates in, the conversation answers, the outbox sends.

Polling and webhook share one path: ``Dispatcher.start_polling`` or the webhook route hand
each update to ``Dispatcher.feed_update``, whose router calls :meth:`TelegramChannel.on_message`
or :meth:`TelegramChannel.on_callback`. Those only translate; every decision is the
conversation's. aiogram's FSM is disabled: conversation state lives in the database, and
its in-memory FSM storage would otherwise keep a registry of every chat id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Literal

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, Update

from bot.channels.telegram import privacy
from bot.channels.telegram.commands import set_commands
from bot.channels.telegram.files import DownloadFailed, TooLarge, download
from bot.channels.telegram.history import MessageLog
from bot.channels.telegram.inbound import (
    Upload,
    addressed_to,
    chat_key,
    language_hint,
    location_of,
    upload_of,
)
from bot.channels.telegram.outbox import Outbox
from bot.channels.telegram.responses import KeepResponseModels
from bot.channels.telegram.retry import RetryMiddleware
from bot.channels.turns import TurnsInProgress
from bot.channels.webhooks import secret_matches
from bot.config import Settings
from handlers.conversation import Conversation
from handlers.i18n import translator
from handlers.locks import KeyedLocks
from handlers.types import Attachment, Inbound

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "build_bot"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
POLLING_TIMEOUT = 25
MEGABYTE = 1024 * 1024


def build_bot(settings: Settings, *, retry: RetryMiddleware | None = None) -> Bot:
    """An aiogram ``Bot`` for the configured token and API server, retrying as documented."""
    if settings.telegram_token is None:
        raise ValueError("TIPLINE_TELEGRAM_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(KeepResponseModels())
    session.middleware(retry or RetryMiddleware())
    return Bot(
        settings.telegram_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


class TelegramChannel:
    """Runs the conversation on Telegram, by long polling or behind the webhook route."""

    def __init__(
        self,
        conversation: Conversation,
        settings: Settings,
        *,
        bot: Bot | None = None,
        history: MessageLog | None = None,
    ) -> None:
        privacy.install()
        self.conversation = conversation
        self.bot = bot or build_bot(settings)
        self.outbox = Outbox(self.bot, history if history is not None else MessageLog())
        self.max_file_bytes = settings.max_photo_bytes
        self.webhook_url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret is not None else None
        self.dispatcher = Dispatcher(disable_fsm=True, name="tipline")
        # On the dispatcher itself (it is a router): a nested router costs every update a
        # second round of propagation.
        self.dispatcher.message.register(self.on_message)
        self.dispatcher.callback_query.register(self.on_callback)
        self._locks: KeyedLocks[int] = KeyedLocks()  # one update at a time per chat
        self._recent_updates: deque[int] = deque(maxlen=1000)
        self._busy = TurnsInProgress()
        self._polling: asyncio.Task[None] | None = None

    @property
    def mode(self) -> Literal["webhook", "polling"]:
        return "webhook" if self.webhook_url else "polling"

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, register the commands, then set the webhook or start polling."""
        await self.bot.me()
        try:
            await set_commands(self.bot)
        except TelegramAPIError as error:
            log.warning("telegram: the command menu was not set (%s)", type(error).__name__)
        if self.webhook_url:
            assert self._secret is not None, "settings require a secret in webhook mode"
            await self.bot.set_webhook(
                self.webhook_url,
                secret_token=self._secret.decode(),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            # Keep pending updates: people who wrote while the bot was down get an answer.
            await self.bot.delete_webhook(drop_pending_updates=False)
            self._polling = asyncio.create_task(
                self.dispatcher.start_polling(
                    self.bot,
                    polling_timeout=POLLING_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                    handle_signals=False,
                    close_bot_session=False,
                )
            )
        log.info("telegram channel started (%s)", self.mode)

    async def stop(self) -> None:
        """Stop polling, let turns in progress finish, close the HTTP session."""
        if self._polling is not None:
            try:
                await self.dispatcher.stop_polling()
            except RuntimeError:  # not started yet
                self._polling.cancel()
            try:
                await self._polling
            except asyncio.CancelledError:
                pass
            except Exception as error:
                log.error("telegram: polling had failed: %s", privacy.where(error))
            self._polling = None
        await self._busy.wait()
        await self.bot.session.close()
        log.info("telegram channel stopped")

    # --- webhook -------------------------------------------------------------------------------

    def webhook_secret_matches(self, given: str | None) -> bool:
        """Constant-time check of ``X-Telegram-Bot-Api-Secret-Token``."""
        return secret_matches(given, self._secret)

    async def process(self, update: Update) -> None:
        """Handle one webhook update (Telegram may send one again: it is handled once)."""
        if update.update_id in self._recent_updates:
            log.info("telegram: a repeated update was ignored")
            return
        self._recent_updates.append(update.update_id)
        await self.dispatcher.feed_webhook_update(self.bot, update)

    # --- updates -------------------------------------------------------------------------------

    async def on_message(self, message: Message) -> None:
        try:
            with self._busy.current():
                if message.chat.type == ChatType.PRIVATE:
                    await self._private(message)
                else:
                    await self._group(message)
        except Exception as error:  # an update must never take the channel down
            log.error("telegram: a message could not be handled: %s", privacy.where(error))

    async def on_callback(self, query: CallbackQuery) -> None:
        try:
            await self.bot.answer_callback_query(query.id)  # stops the button's spinner
        except TelegramAPIError as error:
            log.info("telegram answerCallbackQuery failed (%s)", type(error).__name__)
        message = query.message
        if message is None or query.data is None or message.chat.type != ChatType.PRIVATE:
            return
        chat_id = message.chat.id
        inbound = Inbound(
            chat=chat_key(chat_id), payload=query.data, locale=language_hint(query.from_user)
        )
        try:
            with self._busy.current():
                async with self._locks[chat_id]:
                    locale = await self._follow(chat_id, inbound.chat, inbound.locale)
                    await self._turn(chat_id, inbound, locale)
        except Exception as error:
            log.error("telegram: a button press could not be handled: %s", privacy.where(error))

    async def _private(self, message: Message) -> None:
        chat_id = message.chat.id
        key = chat_key(chat_id)
        hint = language_hint(message.from_user)
        async with self._locks[chat_id]:
            locale = await self._follow(chat_id, key, hint)
            self.outbox.history.add(chat_id, message.message_id)
            for inbound in await self._inbounds(message, key, hint, locale):
                if not await self._turn(chat_id, inbound, locale, message.message_id):
                    break

    async def _inbounds(
        self, message: Message, key: str, hint: str | None, locale: str
    ) -> list[Inbound]:
        if message.text is not None:
            return [Inbound(chat=key, text=message.text, locale=hint)]
        place = location_of(message)
        if place is not None:
            return [Inbound(chat=key, location=place, locale=hint)]
        upload = upload_of(message)
        _ = translator(locale).gettext
        if upload is None:
            await self.outbox.say(
                message.chat.id,
                _("I can read text, photos and locations. Please type your message."),
            )
            return []
        attachment = await self._fetch(message.chat.id, upload, locale)
        if attachment is None:
            return []
        inbounds = [Inbound(chat=key, attachments=(attachment,), locale=hint)]
        if message.caption:  # a photo's caption is a message of its own
            inbounds.append(Inbound(chat=key, text=message.caption, locale=hint))
        return inbounds

    async def _fetch(self, chat_id: int, upload: Upload, locale: str) -> Attachment | None:
        _ = translator(locale).gettext
        too_large = _("This file is too large (the limit is {mb} MB) and was not added.").format(
            mb=self.max_file_bytes // MEGABYTE
        )
        if upload.size is not None and upload.size > self.max_file_bytes:
            log.info("telegram: a file over the size limit was refused without download")
            await self.outbox.say(chat_id, too_large)
            return None
        await self.outbox.typing(chat_id)
        try:
            data = await download(self.bot, upload.file_id, self.max_file_bytes)
        except TooLarge:
            log.info("telegram: a file over the size limit was refused during download")
            await self.outbox.say(chat_id, too_large)
            return None
        except DownloadFailed as error:
            log.warning("telegram: a file could not be downloaded (%s)", privacy.where(error))
            await self.outbox.say(
                chat_id, _("The file could not be received from Telegram. Please send it again.")
            )
            return None
        # No file name: it can carry a name or a date.
        return Attachment(data=data, mime=upload.mime, filename=None, kind=upload.kind)

    async def _group(self, message: Message) -> None:
        """Groups never run the conversation: one answer pointing to a private chat."""
        me = await self.bot.me()
        if not addressed_to(message, me):
            return
        _ = translator(self.conversation.locale_for(language_hint(message.from_user))).gettext
        text = _(
            "To keep you anonymous, Tipline takes tips only in a private chat with the bot. "
            "Please do not write about a tip in this group."
        )
        if me.username:
            text += "\n\n" + _("Open a private chat: {link}").format(
                link=f"https://t.me/{me.username}"
            )
        log.info("telegram: a group was pointed to the private chat")
        await self.outbox.say(message.chat.id, text, track=False)

    # --- helpers -------------------------------------------------------------------------------

    async def _turn(
        self, chat_id: int, inbound: Inbound, locale: str, message_id: int | None = None
    ) -> bool:
        replies = await self.conversation.handle(inbound)
        if message_id is not None and any(reply.erase_input for reply in replies):
            # A typed receipt: take it off the user's screen (bots may, in private chats).
            await self.outbox.delete(chat_id, [message_id])
        return await self.outbox.deliver(chat_id, replies, locale)

    async def _follow(self, chat_id: int, key: str, hint: str | None) -> str:
        """The chat's language; starts its message log, complete unless it had a past."""
        saved = await self.conversation.saved_locale(key)
        if not self.outbox.history.knows(chat_id):
            # Saved state means messages from before this process that it cannot delete.
            self.outbox.history.begin(chat_id, complete=saved is None)
        return saved or self.conversation.locale_for(hint)
