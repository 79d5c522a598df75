"""Fixtures for the Telegram and Zalo channels: the fake Bot API on a free port and Tipline's
web app served by uvicorn on another, so updates and replies both travel over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from bot.bootstrap import App
from bot.channels.telegram import TelegramChannel, build_bot
from bot.channels.telegram.history import MessageLog
from bot.channels.telegram.retry import RetryMiddleware
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo import build_client as build_zalo_client
from bot.config import Settings
from bot.web import create_web_app
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

WEBHOOK_SECRET = "tipline-test-secret_0123456789"


def telegram_settings(settings: Settings, fake: FakeTelegram, **changes: object) -> Settings:
    values: dict[str, object] = {
        "telegram_token": SecretStr(fake.token),
        "telegram_api_base": fake.base_url,
    }
    values.update(changes)
    return settings.model_copy(update=values)


def quick_channel(
    app: App, settings: Settings, history: MessageLog | None = None
) -> TelegramChannel:
    """A channel whose retries do not make the tests wait (429 still waits retry_after)."""
    bot = build_bot(settings, retry=RetryMiddleware(attempts=3, backoff=0.01))
    return TelegramChannel(app.conversation, settings, bot=bot, history=history)


@asynccontextmanager
async def polling(
    app: App, fake: FakeTelegram, settings: Settings, history: MessageLog | None = None
) -> AsyncIterator[TelegramChannel]:
    """Tipline in long-polling mode against the fake, started and stopped."""
    channel = quick_channel(app, telegram_settings(settings, fake), history)
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


@dataclass
class Served:
    fake: FakeTelegram
    channel: TelegramChannel
    app: App
    url: str  # the webhook URL


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@asynccontextmanager
async def uvicorn_on(sock: socket.socket, web: FastAPI) -> AsyncIterator[None]:
    """``web`` served by uvicorn on a socket already bound (its port is in the webhook URL)."""
    server = uvicorn.Server(uvicorn.Config(web, log_config=None, access_log=False, lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
            await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
async def served(app: App, fake: FakeTelegram, settings: Settings) -> AsyncIterator[Served]:
    """Tipline in webhook mode behind uvicorn; the fake POSTs updates to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/telegram/webhook"
    configured = telegram_settings(
        settings,
        fake,
        telegram_webhook_url=url,
        telegram_webhook_secret=SecretStr(WEBHOOK_SECRET),
    )
    channel = quick_channel(app, configured)
    async with uvicorn_on(sock, create_web_app(app, telegram=channel)):
        await channel.start()
        try:
            yield Served(fake, channel, app, url)
        finally:
            await channel.stop()


# --- Zalo -------------------------------------------------------------------------------------

ZALO_WEBHOOK_SECRET = "tipline-zalo-secret_0123456789"


def zalo_settings(settings: Settings, fake: FakeZalo, **changes: object) -> Settings:
    values: dict[str, object] = {
        "zalo_token": SecretStr(fake.token),
        "zalo_api_base": fake.base_url,
    }
    values.update(changes)
    return settings.model_copy(update=values)


def quick_zalo(app: App, settings: Settings) -> ZaloChannel:
    """A Zalo channel whose retries do not make the tests wait (429 still waits Retry-After)."""
    client = build_zalo_client(settings, attempts=3, backoff=0.01)
    return ZaloChannel(app.conversation, settings, client=client, polling_timeout=2)


@asynccontextmanager
async def zalo_polling(
    app: App, fake: FakeZalo, settings: Settings, **changes: object
) -> AsyncIterator[ZaloChannel]:
    """Tipline in long-polling mode against the fake Zalo, started and stopped."""
    channel = quick_zalo(app, zalo_settings(settings, fake, **changes))
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


@dataclass
class ZaloServed:
    fake: FakeZalo
    channel: ZaloChannel
    app: App
    url: str  # the webhook URL


@pytest.fixture
async def zalo_fake() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as server:
        yield server


@asynccontextmanager
async def zalo_webhook(
    app: App, fake: FakeZalo, settings: Settings, **changes: object
) -> AsyncIterator[ZaloServed]:
    """Tipline in webhook mode behind uvicorn; the fake Zalo POSTs events to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo/webhook"
    configured = zalo_settings(
        settings,
        fake,
        zalo_webhook_url=url,
        zalo_webhook_secret=SecretStr(ZALO_WEBHOOK_SECRET),
        **changes,
    )
    channel = quick_zalo(app, configured)
    async with uvicorn_on(sock, create_web_app(app, zalo=channel)):
        await channel.start()
        try:
            yield ZaloServed(fake, channel, app, url)
        finally:
            await channel.stop()


@pytest.fixture
async def zalo_served(
    app: App, zalo_fake: FakeZalo, settings: Settings
) -> AsyncIterator[ZaloServed]:
    async with zalo_webhook(app, zalo_fake, settings) as served:
        yield served
