"""Shared pieces of the reliability suite: hypothesis settings (short in CI, long with
``TIPLINE_LONG_TESTS=1``) and the web app with its webhooks, served in-process over ASGI.

The short variants are derandomized (the same examples on every run, no example database),
so a failure is reproducible and the suite is never flaky. The long variants draw new
examples on every run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.config import Settings
from bot.web import create_web_app
from storage.models import ConversationState
from tests.channels.conftest import (
    WEBHOOK_SECRET,
    ZALO_WEBHOOK_SECRET,
    quick_channel,
    quick_zalo,
    telegram_settings,
    zalo_settings,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

LONG = os.environ.get("TIPLINE_LONG_TESTS") == "1"
BASE = "http://tipline"
BILINGUAL_INVALID = "Yêu cầu không hợp lệ. / Invalid request."


def fuzz(examples: int, *, long_factor: int = 10) -> settings:
    """Hypothesis settings: ``examples`` in CI, ``examples * long_factor`` when long."""
    return settings(
        max_examples=examples * long_factor if LONG else examples,
        deadline=None,
        derandomize=not LONG,
        database=None,
        print_blob=LONG,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one app for all examples, checked per example
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


def client_for(web: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=BASE)


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(create_web_app(app)) as http:
        yield http


@dataclass
class Webhook:
    app: App
    client: httpx.AsyncClient
    path: str
    header: str
    secret: str


@dataclass
class TelegramHook(Webhook):
    fake: FakeTelegram
    channel: TelegramChannel


@dataclass
class ZaloHook(Webhook):
    fake: FakeZalo
    channel: ZaloChannel


@pytest.fixture
async def telegram_hook(app: App, settings: Settings) -> AsyncIterator[TelegramHook]:
    """Tipline in Telegram webhook mode against the fake Bot API; updates are posted in-process."""
    async with FakeTelegram() as fake:
        configured = telegram_settings(
            settings,
            fake,
            telegram_webhook_url=f"{BASE}/telegram/webhook",
            telegram_webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
        channel = quick_channel(app, configured)
        await channel.start()
        try:
            async with client_for(create_web_app(app, telegram=channel)) as http:
                yield TelegramHook(
                    app,
                    http,
                    "/telegram/webhook",
                    "X-Telegram-Bot-Api-Secret-Token",
                    WEBHOOK_SECRET,
                    fake,
                    channel,
                )
        finally:
            await channel.stop()


@pytest.fixture
async def zalo_hook(app: App, settings: Settings) -> AsyncIterator[ZaloHook]:
    """Tipline in Zalo webhook mode against the fake Zalo API; events are posted in-process."""
    async with FakeZalo() as fake:
        configured = zalo_settings(
            settings,
            fake,
            zalo_webhook_url=f"{BASE}/zalo/webhook",
            zalo_webhook_secret=SecretStr(ZALO_WEBHOOK_SECRET),
        )
        channel = quick_zalo(app, configured)
        await channel.start()
        try:
            async with client_for(create_web_app(app, zalo=channel)) as http:
                yield ZaloHook(
                    app,
                    http,
                    "/zalo/webhook",
                    "X-Bot-Api-Secret-Token",
                    ZALO_WEBHOOK_SECRET,
                    fake,
                    channel,
                )
        finally:
            await channel.stop()
