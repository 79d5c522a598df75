"""Running the service in its role (:mod:`bot.roles`): the web app under uvicorn plus
periodic housekeeping; in the bot and all roles, the chat channels and campaign delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import uvicorn

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from bot.roles import RoleError, refuse_private_material
from bot.web import create_web_app

if TYPE_CHECKING:
    from bot.campaigns.runtime import CampaignRuntime

__all__ = ["run", "start_campaigns"]

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 600


async def housekeeping(app: App) -> None:
    """Delete abandoned conversations once they expire (bot role); escalate tips nobody
    acknowledged (console role). The all role does both."""
    ack_timeout = timedelta(hours=app.settings.ack_timeout_hours)
    while True:
        try:
            if app.role != "console":
                purged = await app.states.purge_expired()
                if purged:
                    log.info("purged %d expired conversations", purged)
            if app.role != "bot":
                escalated = await app.casework.escalate_overdue(ack_timeout)
                if escalated:
                    log.info(
                        "escalated %d unacknowledged tips to their province queue", len(escalated)
                    )
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


async def open_app(settings: Settings) -> App:
    """The app of ``settings.role``. The bot role first makes sure no private key material is
    within its reach, and never migrates (its database user may not): it refuses to start
    until the schema is at the newest migration."""
    if settings.role == "bot":
        refuse_private_material(settings)
        app = await bootstrap(settings, migrate=False)
        try:
            current = await app.db.is_current()
        except Exception:
            await app.close()
            raise
        if not current:
            await app.close()
            raise RoleError(
                "the database schema is not at the newest version: run `tipline db upgrade` "
                "as the database owner (or start the console role) first"
            )
        return app
    return await bootstrap(settings)


async def run(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted in ``settings.role``; in the bot and all roles, with a Telegram
    or Zalo token, run that channel too, and deliver campaigns."""
    app = await open_app(settings)
    chats = app.role != "console"
    if not chats and (settings.telegram_token or settings.zalo_token):
        log.info("the console role runs no chat channel; the bot role does")
    telegram = None
    if chats and settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        telegram = TelegramChannel(app.conversation, settings)
        try:
            await telegram.start()
        except Exception:
            await telegram.stop()
            await app.close()
            raise
    zalo = None
    if chats and settings.zalo_token is not None:
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
        campaigns = await start_campaigns(app) if chats else None
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
    log.info("serving the %s role on http://%s:%d/", app.role, host, port)
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
