"""Shared pieces of the reliability suite: hypothesis settings (short in CI, long with
``TIPLINE_LONG_TESTS=1``), the web app with its webhooks, served in-process over ASGI, and
the canary sweep.

The canary sweep: tests :func:`plant` what must never be found at rest (tip stories, web
chat session ids, receipts, chat ids, the officer's password). Everything logged in the
test process while the suite runs goes to a file at DEBUG level, and when the session ends
every file under pytest's temporary directory (SQLite databases and their WAL, the logs of
the ``tipline`` subprocesses, that log file) is searched for every planted value, as UTF-8
and UTF-16. Tests that use PostgreSQL search its tables themselves
(:func:`assert_no_canaries_in_postgres`).

The short variants are derandomized (the same examples on every run, no example database),
so a failure is reproducible and the suite is never flaky. The long variants draw new
examples on every run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
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
from tests.conftest import OFFICER_PASSWORD
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

LONG = os.environ.get("TIPLINE_LONG_TESTS") == "1"
PLANTED: dict[str, str] = {}  # value -> what it is
SWEEP_MAX_FILE = 200 * 1024 * 1024
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


# --- the canary sweep --------------------------------------------------------------------------


def plant(value: str, what: str) -> str:
    """Register ``value`` as something the suite must never leave at rest or in a log."""
    PLANTED[value] = what
    return value


plant(OFFICER_PASSWORD, "officer password")


def _forms(value: str) -> list[bytes]:
    return [value.encode(), value.encode("utf-16-le")]


def find_canaries(root: Path) -> list[str]:
    """Planted values found in files under ``root``: "what in which file"."""
    found: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.stat().st_size > SWEEP_MAX_FILE:
            continue
        content = path.read_bytes()
        for value, what in PLANTED.items():
            if any(form in content for form in _forms(value)):
                found.append(f"{what} in {path.relative_to(root)}")
    return found


@pytest.fixture(scope="session", autouse=True)
def canary_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    base = tmp_path_factory.getbasetemp()
    handler = logging.FileHandler(base / "suite.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    quiet = logging.getLogger("sqlalchemy")  # SQL echo is checked by tests/integration
    levels = root.level, quiet.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(levels[0])
        quiet.setLevel(levels[1])
    found = find_canaries(base)
    assert not found, f"planted secrets found at rest: {found}"


async def assert_no_canaries_in_postgres(database_url: str) -> None:
    """Every row of every table of the database, as text, holds no planted value (bytea
    columns show as hex, so the hex form of each value is searched too)."""
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        tables = [
            row["table_name"]
            for row in await connection.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        ]
        assert tables, "the database has tables"
        for table in tables:
            dump = "\n".join(
                row[0] for row in await connection.fetch(f'SELECT t::text FROM "{table}" t')
            )
            for value, what in PLANTED.items():
                assert value not in dump, f"{what} in table {table}"
                assert value.encode().hex() not in dump, f"{what} (bytes) in table {table}"
    finally:
        await connection.close()
