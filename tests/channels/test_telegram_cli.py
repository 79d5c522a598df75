"""``tipline telegram whoami | webhook-set | webhook-delete`` against the fake Bot API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from bot import cli
from tests.fakes.telegram_api import FakeTelegram

URL = "https://bot.example/telegram/webhook"


@contextmanager
def fake_in_a_thread() -> Iterator[FakeTelegram]:
    """The fake on its own event loop, for a command line that runs ``asyncio.run``."""
    fake = FakeTelegram()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_whoami_and_the_webhook_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    with fake_in_a_thread() as fake:
        env = {
            "TIPLINE_DATA_DIR": str(tmp_path),
            "TIPLINE_TELEGRAM_TOKEN": fake.token,
            "TIPLINE_TELEGRAM_API_BASE": fake.base_url,
            "TIPLINE_TELEGRAM_WEBHOOK_URL": URL,
            "TIPLINE_TELEGRAM_WEBHOOK_SECRET": "cli-test_secret",
        }
        result = runner.invoke(cli.app, ["telegram", "whoami"], env=env)
        assert result.exit_code == 0, result.output
        assert f"@{fake.username}" in result.output and "long polling" in result.output

        result = runner.invoke(cli.app, ["telegram", "webhook-set"], env=env)
        assert result.exit_code == 0, result.output
        assert fake.webhook is not None
        assert (fake.webhook.url, fake.webhook.secret) == (URL, "cli-test_secret")
        assert URL in runner.invoke(cli.app, ["telegram", "whoami"], env=env).output

        result = runner.invoke(cli.app, ["telegram", "webhook-delete"], env=env)
        assert result.exit_code == 0, result.output
        assert fake.webhook is None


def test_a_wrong_token_is_reported_without_a_traceback(tmp_path: Path) -> None:
    with fake_in_a_thread() as fake:
        env = {
            "TIPLINE_DATA_DIR": str(tmp_path),
            "TIPLINE_TELEGRAM_TOKEN": "42:not-the-token",
            "TIPLINE_TELEGRAM_API_BASE": fake.base_url,
        }
        result = CliRunner().invoke(cli.app, ["telegram", "whoami"], env=env)
    assert result.exit_code == 1
    assert "Telegram refused" in result.output and "Unauthorized" in result.output
