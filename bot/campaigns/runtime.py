"""The campaign machinery of one process: the scheduler and the broadcaster, from settings.

``tipline serve`` starts one when a channel that can push messages is configured (Telegram
today); ``tipline campaigns send-now --here`` runs one for a single message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.campaigns.broadcaster import Broadcaster, ChannelLimits, RetryPolicy
from bot.campaigns.scheduler import CampaignScheduler
from bot.campaigns.sending import Sender

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.config import Settings

__all__ = ["CampaignRuntime", "channel_limits", "telegram_sender"]

log = logging.getLogger(__name__)


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    """Each channel's limits from settings (0 means none)."""
    return {
        "telegram": ChannelLimits(
            per_second=settings.telegram_rate_per_second or None,
            chat_interval=settings.telegram_chat_interval_seconds or None,
        ),
        "zalo": ChannelLimits(
            per_second=settings.zalo_rate_per_second or None,
            chat_interval=settings.telegram_chat_interval_seconds or None,
        ),
    }


def telegram_sender(settings: Settings) -> Sender:
    """A sender with its own Bot for the configured token and API base."""
    from bot.channels.telegram import build_bot
    from bot.channels.telegram.campaign import TelegramSender
    from bot.channels.telegram.retry import RetryMiddleware

    # One try per call: the broadcaster handles 429s and errors for the whole channel.
    return TelegramSender(build_bot(settings, retry=RetryMiddleware(attempts=1)))


def configured_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for every channel that can push messages with the current settings."""
    senders: dict[str, Sender] = {}
    if settings.telegram_token is not None:
        senders["telegram"] = telegram_sender(settings)
    if settings.zalo_token is not None:
        from bot.channels.zalo.campaign import zalo_sender

        senders["zalo"] = zalo_sender(settings)
    return senders


class CampaignRuntime:
    """Scheduler plus broadcaster, started and stopped together."""

    def __init__(self, app: App, senders: Mapping[str, Sender], *, scheduler: bool = True) -> None:
        settings = app.settings
        self.senders = dict(senders)
        self.broadcaster = Broadcaster(
            app.campaigns.campaigns,
            app.campaigns.deliveries,
            app.subscriptions.addresses,
            self.senders,
            limits=channel_limits(settings),
            retry=RetryPolicy(
                max_attempts=settings.broadcast_max_attempts,
                backoff=timedelta(seconds=settings.broadcast_backoff_seconds),
            ),
            timezone=settings.campaign_timezone,
            # SQLite has one writer: more workers would only queue for it.
            workers=1 if app.db.is_sqlite else settings.broadcast_workers,
            batch=settings.broadcast_batch,
            poll_seconds=settings.broadcast_poll_seconds,
            lease=timedelta(seconds=settings.broadcast_lease_seconds),
            resend_in_flight=settings.broadcast_in_flight == "resend",
            metrics=app.metrics,
            clock=app.campaigns.clock,
        )
        self.scheduler = (
            CampaignScheduler(
                app.campaigns,
                timezone=settings.campaign_timezone,
                on_started=self.broadcaster.wake,
            )
            if scheduler
            else None
        )

    async def start(self) -> None:
        await self.broadcaster.start()
        if self.scheduler is not None:
            await self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        await self.broadcaster.stop()
        for sender in self.senders.values():
            try:
                await sender.close()
            except Exception as error:
                log.warning("closing the %s sender failed: %s", sender.channel, error)
