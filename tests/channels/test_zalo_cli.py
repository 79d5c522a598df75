"""``tipline zalo whoami | webhook-set | webhook-delete`` against the fake Zalo Bot API."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot import cli
from tests.fakes.server import in_a_thread
from tests.fakes.zalo_api import FakeZalo

URL = "https://bot.example/zalo/webhook"


def test_whoami_and_the_webhook_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    with in_a_thread(FakeZalo()) as fake:
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
    with in_a_thread(FakeZalo()) as fake:
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
