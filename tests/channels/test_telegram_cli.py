"""``tipline telegram whoami | webhook-set | webhook-delete`` against the fake Bot API."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot import cli
from tests.fakes.server import in_a_thread
from tests.fakes.telegram_api import FakeTelegram

URL = "https://bot.example/telegram/webhook"


def test_whoami_and_the_webhook_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    with in_a_thread(FakeTelegram()) as fake:
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
    with in_a_thread(FakeTelegram()) as fake:
        env = {
            "TIPLINE_DATA_DIR": str(tmp_path),
            "TIPLINE_TELEGRAM_TOKEN": "42:not-the-token",
            "TIPLINE_TELEGRAM_API_BASE": fake.base_url,
        }
        result = CliRunner().invoke(cli.app, ["telegram", "whoami"], env=env)
    assert result.exit_code == 1
    assert "Telegram refused" in result.output and "Unauthorized" in result.output
