"""``tipline zalo whoami | webhook-set | webhook-delete`` against the fake Zalo Bot API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from bot import cli
from tests.fakes.zalo_api import FakeZalo

URL = "https://bot.example/zalo/webhook"


@contextmanager
def fake_in_a_thread() -> Iterator[FakeZalo]:
    """The fake on its own event loop, for a command line that runs ``asyncio.run``."""
    fake = FakeZalo()
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
            "TIPLINE_ZALO_TOKEN": fake.token,
            "TIPLINE_ZALO_API_BASE": fake.base_url,
            "TIPLINE_ZALO_WEBHOOK_URL": URL,
            "TIPLINE_ZALO_WEBHOOK_SECRET": "cli-test_secret",
        }
        result = runner.invoke(cli.app, ["zalo", "whoami"], env=env)
        assert result.exit_code == 0, result.output
        assert fake.account_name in result.output and "long polling" in result.output

        result = runner.invoke(cli.app, ["zalo", "webhook-set"], env=env)
        assert result.exit_code == 0, result.output
        assert fake.webhook is not None
        assert (fake.webhook.url, fake.webhook.secret) == (URL, "cli-test_secret")
        assert URL in runner.invoke(cli.app, ["zalo", "whoami"], env=env).output

        result = runner.invoke(cli.app, ["zalo", "webhook-delete"], env=env)
        assert result.exit_code == 0, result.output
        assert fake.webhook is None


def test_a_wrong_token_is_reported_without_a_traceback(tmp_path: Path) -> None:
    with fake_in_a_thread() as fake:
        env = {
            "TIPLINE_DATA_DIR": str(tmp_path),
            "TIPLINE_ZALO_TOKEN": "42:not-the-token",
            "TIPLINE_ZALO_API_BASE": fake.base_url,
        }
        result = CliRunner().invoke(cli.app, ["zalo", "whoami"], env=env)
    assert result.exit_code == 1
    assert "Zalo refused" in result.output and "Unauthorized" in result.output
    assert "not-the-token" not in result.output


def test_a_missing_token_is_explained(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.app, ["zalo", "whoami"], env={"TIPLINE_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 1 and "TIPLINE_ZALO_TOKEN" in result.output
