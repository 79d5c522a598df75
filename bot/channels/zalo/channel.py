"""The Zalo channel: Zalo Bot API updates in, the conversation answers, the outbox sends.

Polling and webhook share one path: the polling loop and the webhook route parse each update
(:func:`~bot.channels.zalo.updates.parse`) and hand the event to :meth:`ZaloChannel.handle`.
That only translates; every decision is the conversation's. One event at a time per chat,
so replies keep their order; an event delivered twice is handled once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from bot.channels.turns import TurnsInProgress
from bot.channels.webhooks import secret_matches
from bot.channels.zalo import privacy
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.errors import ZaloError, ZaloNoUpdates, ZaloUnauthorized
from bot.channels.zalo.files import DownloadFailed, TooLarge, download
from bot.channels.zalo.outbox import Outbox
from bot.channels.zalo.privacy import where
from bot.channels.zalo.recent import Cooldown, Recent
from bot.channels.zalo.updates import IMAGE, TEXT, Event, MalformedUpdate, chat_key, parse
from bot.config import Settings
from handlers.conversation import Conversation
from handlers.i18n import translator
from handlers.locks import KeyedLocks
from handlers.types import Attachment, Inbound

__all__ = ["ZaloChannel", "build_client"]

log = logging.getLogger(__name__)

POLLING_TIMEOUT = 25
POLLING_BACKOFF = 1.0
POLLING_MAX_BACKOFF = 60.0
MEGABYTE = 1024 * 1024


def build_client(settings: Settings, **options: Any) -> ZaloClient:
    """A client for the configured token and API server."""
    if settings.zalo_token is None:
        raise ValueError("TIPLINE_ZALO_TOKEN is not set")
    return ZaloClient(settings.zalo_token.get_secret_value(), settings.zalo_api_base, **options)


class ZaloChannel:
    """Runs the conversation on Zalo, by long polling or behind the webhook route."""

    def __init__(
        self,
        conversation: Conversation,
        settings: Settings,
        *,
        client: ZaloClient | None = None,
        polling_timeout: int = POLLING_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        privacy.install()
        self.conversation = conversation
        self.client = client or build_client(settings)
        self.outbox = Outbox(self.client)
        self.max_file_bytes = settings.max_photo_bytes
        self.webhook_url = settings.zalo_webhook_url
        secret = settings.zalo_webhook_secret
        self._secret = secret.get_secret_value().encode() if secret is not None else None
        self.polling_timeout = polling_timeout
        self._sleep = sleep
        self._recent = Recent()
        self._hinted = Cooldown()
        self._locks: KeyedLocks[str] = KeyedLocks()  # one event at a time per chat
        self._busy = TurnsInProgress()
        self._polling: asyncio.Task[None] | None = None

    @property
    def mode(self) -> Literal["webhook", "polling"]:
        return "webhook" if self.webhook_url else "polling"

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, then set the webhook or start polling."""
        await self.client.get_me()
        if self.webhook_url:
            assert self._secret is not None, "settings require a secret in webhook mode"
            result = await self.client.set_webhook(self.webhook_url, self._secret.decode())
            # Zalo calls the URL once when it is set, and says how that went.
            check = result.get("verification")
            if isinstance(check, dict) and check.get("ok") is False:
                log.warning(
                    "zalo: Zalo's test call to the webhook failed (%s)", check.get("outcome")
                )
        else:
            # getUpdates answers nothing while a webhook is set.
            await self.client.delete_webhook()
            self._polling = asyncio.create_task(self._poll(), name="zalo-polling")
        log.info("zalo channel started (%s)", self.mode)

    async def stop(self) -> None:
        """Stop polling, let turns in progress finish, close the HTTP client."""
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        await self._busy.wait()
        await self.client.close()
        log.info("zalo channel stopped")

    # --- webhook -------------------------------------------------------------------------------

    def webhook_secret_matches(self, given: str | None) -> bool:
        """Constant-time check of ``X-Bot-Api-Secret-Token``."""
        return secret_matches(given, self._secret)

    # --- polling -------------------------------------------------------------------------------

    async def _poll(self) -> None:
        """``getUpdates`` in a loop; errors back off exponentially up to a minute."""
        failures = 0
        while True:
            try:
                updates = await self.client.get_updates(self.polling_timeout)
            except ZaloNoUpdates:
                failures = 0
                continue
            except ZaloError as error:
                failures += 1
                delay = min(POLLING_MAX_BACKOFF, POLLING_BACKOFF * 2 ** (failures - 1))
                level = logging.ERROR if isinstance(error, ZaloUnauthorized) else logging.WARNING
                log.log(
                    level,
                    "zalo getUpdates failed (%s); retrying in %.0f s",
                    type(error).__name__,
                    delay,
                )
                await self._sleep(delay)
                continue
            except Exception as error:  # a bug must not end polling for good
                log.error("zalo: polling failed: %s", where(error))
                await self._sleep(POLLING_MAX_BACKOFF)
                continue
            failures = 0
            for update in updates:
                try:
                    event = parse(update)
                except MalformedUpdate as error:
                    log.warning("zalo: a malformed update was skipped (%s)", error)
                    continue
                if event is not None:
                    # Concurrently across chats; the chat's lock keeps each chat in order.
                    self._busy.add(asyncio.create_task(self.handle(event)))

    # --- events --------------------------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        """Answer one event (Zalo may deliver one again: it is handled once). Never raises."""
        if event.key is not None and not self._recent.first_time(event.key):
            log.info("zalo: a repeated event was ignored")
            return
        try:
            with self._busy.current():
                async with self._locks[event.chat_id]:
                    if event.group:
                        await self._group(event)
                    else:
                        await self._private(event)
        except Exception as error:  # an event must never take the channel down
            log.error("zalo: an event could not be handled: %s", where(error))

    async def _private(self, event: Event) -> None:
        key = chat_key(event.chat_id)
        # Zalo tells nothing about the user's language: the saved choice, else the default.
        locale = await self.conversation.saved_locale(key) or self.conversation.locale_for(None)
        for inbound in await self._inbounds(event, key, locale):
            replies = await self.conversation.handle(inbound)
            if not await self.outbox.deliver(event.chat_id, replies, locale):
                break

    async def _inbounds(self, event: Event, key: str, locale: str) -> list[Inbound]:
        _ = translator(locale).gettext
        if event.name == TEXT:
            return [Inbound(chat=key, text=event.text)] if event.text else []
        if event.name == IMAGE:
            attachment = await self._fetch(event, locale)
            if attachment is None:
                return []
            inbounds = [Inbound(chat=key, attachments=(attachment,))]
            if event.caption:  # a picture's caption is a message of its own
                inbounds.append(Inbound(chat=key, text=event.caption))
            return inbounds
        # Stickers, voice, messages Zalo withholds, kinds not known yet: one polite hint.
        log.info("zalo: an event of another kind got a hint to type")
        if self._hinted.ready(event.chat_id):
            hint = _(
                "Sorry, I cannot read this kind of message. I can read text and photos: "
                "please type your message or send a photo."
            )
            await self.outbox.say(event.chat_id, hint)
        return []

    async def _fetch(self, event: Event, locale: str) -> Attachment | None:
        _ = translator(locale).gettext
        failed = _("The photo could not be received from Zalo. Please send it again.")
        if event.photo_url is None:
            log.warning("zalo: an image event came without a usable link")
            await self.outbox.say(event.chat_id, failed)
            return None
        await self.outbox.typing(event.chat_id)
        try:
            picture = await download(self.client.http, event.photo_url, self.max_file_bytes)
        except TooLarge:
            log.info("zalo: a picture over the size limit was refused")
            too_large = _(
                "This file is too large (the limit is {mb} MB) and was not added."
            ).format(mb=self.max_file_bytes // MEGABYTE)
            await self.outbox.say(event.chat_id, too_large)
            return None
        except DownloadFailed as error:
            log.warning("zalo: a picture could not be downloaded (%s)", error)
            await self.outbox.say(event.chat_id, failed)
            return None
        # No file name: it can carry a name or a date.
        return Attachment(data=picture.data, mime=picture.mime, filename=None, kind="photo")

    async def _group(self, event: Event) -> None:
        """Groups never run the conversation: one answer pointing to a private chat."""
        if not self._hinted.ready(event.chat_id):
            return
        _ = translator(self.conversation.locale_for(None)).gettext
        log.info("zalo: a group was pointed to the private chat")
        await self.outbox.say(
            event.chat_id,
            _(
                "To keep you anonymous, Tipline takes tips only in a private chat with the bot. "
                "Please do not write about a tip in this group."
            ),
        )

    # --- helpers -------------------------------------------------------------------------------
