"""Running the service: the web app under uvicorn plus periodic housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import uvicorn

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from bot.web import create_web_app

if TYPE_CHECKING:
    from bot.campaigns.runtime import CampaignRuntime

__all__ = ["run", "start_campaigns"]

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 600


async def housekeeping(app: App) -> None:
    """Delete abandoned conversations once they expire; escalate tips nobody acknowledged."""
    ack_timeout = timedelta(hours=app.settings.ack_timeout_hours)
    while True:
        try:
            purged = await app.states.purge_expired()
            if purged:
                log.info("purged %d expired conversations", purged)
            escalated = await app.casework.escalate_overdue(ack_timeout)
            if escalated:
                log.info("escalated %d unacknowledged tips to their province queue", len(escalated))
        except Exception:
            log.exception("housekeeping failed; will retry")
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


async def start_campaigns(app: App) -> CampaignRuntime | None:
    """The campaign scheduler and broadcaster, when a channel can push messages (Telegram,
    Zalo)."""
    from bot.campaigns.runtime import CampaignRuntime, configured_senders

    senders = configured_senders(app.settings)
    if not senders:
        log.info("campaigns: no channel can push messages; scheduler and broadcaster are off")
        return None
    runtime = CampaignRuntime(app, senders)
    try:
        await runtime.start()
    except Exception:
        await runtime.stop()
        raise
    return runtime


async def run(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted; with a Telegram or Zalo token, run that channel too."""
    app = await bootstrap(settings)
    telegram = None
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(app.conversation, settings)
        try:
            await telegram.start()
        except Exception:
            await telegram.stop()
            await app.close()
            raise
    zalo = None
    if settings.zalo_token is not None:
        from bot.channels.zalo import ZaloChannel

        zalo = ZaloChannel(app.conversation, settings)
        try:
            await zalo.start()
        except Exception:
            await zalo.stop()
            if telegram is not None:
                await telegram.stop()
            await app.close()
            raise
    try:
        campaigns = await start_campaigns(app)
    except Exception:
        for channel in (telegram, zalo):
            if channel is not None:
                await channel.stop()
        await app.close()
        raise
    web = create_web_app(app, telegram=telegram, zalo=zalo)
    # No access log: client addresses and paths of an anonymous service are not kept.
    config = uvicorn.Config(
        web, host=host, port=port, access_log=False, log_config=None, server_header=False
    )
    server = uvicorn.Server(config)
    cleaner = asyncio.create_task(housekeeping(app))
    log.info("serving web chat on http://%s:%d/", host, port)
    try:
        await server.serve()
    finally:
        cleaner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await cleaner
        if campaigns is not None:
            await campaigns.stop()
        if telegram is not None:
            await telegram.stop()
        if zalo is not None:
            await zalo.stop()
        await app.close()
