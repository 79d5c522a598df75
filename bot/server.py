"""Running the service: the web app under uvicorn plus periodic housekeeping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import uvicorn

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from bot.web import create_web_app

__all__ = ["run"]

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


async def run(settings: Settings, *, host: str, port: int) -> None:
    """Serve until interrupted; with a Telegram token, run the Telegram channel too."""
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
    web = create_web_app(app, telegram=telegram)
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
        if telegram is not None:
            await telegram.stop()
        await app.close()
