"""``tipline campaigns load | list | status | send-now | pause | resume | cancel``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.bootstrap import bootstrap
from bot.cli import app as cli
from bot.config import Settings
from storage.sealing import FAST_TEST_KDF
from tests.campaigns.helpers import add_subscribers
from tests.fakes.server import in_a_thread
from tests.fakes.telegram_api import FakeTelegram

CAMPAIGN = """\
id: test-cli
title: {vi: "Chiến dịch thử", en: "Test campaign"}
theme: {vi: "Chủ đề", en: "Theme"}
period: {start: "12-01", end: "12-31"}
timezone: Asia/Ho_Chi_Minh
languages: [vi, en]
audience_groups: [general]
messages:
  - id: launch
    send: {yearly: "12-05 09:00"}
    audience: {groups: [all], areas: all}
    body:
      vi: "**Bắt đầu.** Gõ /tobao để báo tin."
      en: "**It starts.** Type /tobao to send a tip."
  - id: second
    send: {yearly: "12-06 09:00"}
    audience: {groups: [general], areas: [1]}
    body:
      vi: "Tin thứ hai."
      en: "Second message."
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
        "TIPLINE_DATABASE_URL": "",
        "COLUMNS": "220",
    }


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, ["campaigns", *args], env=env)
    assert result.exit_code == code, result.output
    return result.output


def subscribers(env: dict[str, str], count: int) -> None:
    async def go() -> None:
        app = await bootstrap(
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=Path(env["TIPLINE_DATA_DIR"]),
                kdf_memory_kib=FAST_TEST_KDF.memory_kib,
                kdf_iterations=FAST_TEST_KDF.iterations,
            )
        )
        try:
            await add_subscribers(app, range(1, count + 1), locale="en")
        finally:
            await app.close()

    asyncio.run(go())


def test_loading_listing_and_controlling_messages(env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(CAMPAIGN.replace('{yearly: "12-05 09:00"}', '{yearly: "12-05 22:00"}'))
    output = run(env, "load", str(broken), code=1)
    assert "quiet hours" in output and "nothing was loaded" in output

    good = tmp_path / "test-cli.yaml"
    good.write_text(CAMPAIGN)
    assert "2 new" in run(env, "load", str(good))
    assert "2 unchanged" in run(env, "load", str(good))
    listing = run(env, "list")
    assert "test-cli/launch" in listing and "yearly 12-05 09:00" in listing
    assert "scheduled" in listing and "09:00" in listing

    subscribers(env, 3)
    assert "3 new deliveries" in run(env, "send-now", "launch", "--no-follow")
    status = run(env, "status", "test-cli/launch")
    assert "telegram" in status and "sending" in status
    assert "3" in status.split("telegram", 1)[1]

    assert "paused" in run(env, "pause", "launch")
    assert "paused" in run(env, "list")
    assert "resumed: sending" in run(env, "resume", "launch")
    assert "3 waiting deliveries skipped" in run(env, "cancel", "launch")
    assert "already cancelled" in run(env, "cancel", "launch", code=1)
    assert "No campaign message" in run(env, "pause", "nothing-like-this", code=1)


def test_send_now_here_delivers_with_a_progress_bar(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "test-cli.yaml"
    good.write_text(CAMPAIGN)
    run(env, "load", str(good))
    subscribers(env, 5)
    with in_a_thread(FakeTelegram()) as fake:
        fake.any_chat = True
        env = {
            **env,
            "TIPLINE_TELEGRAM_TOKEN": fake.token,
            "TIPLINE_TELEGRAM_API_BASE": fake.base_url,
        }
        output = run(env, "send-now", "test-cli/second", "--here")
        assert "Deliveries: sent 5." in output
        assert sorted(c.params["chat_id"] for c in fake.calls_of("sendMessage")) == [1, 2, 3, 4, 5]
        assert fake.sent(1)[0].html == "Second message."
        # Everyone has it: sending it again adds nobody.
        assert "0 new deliveries" in run(env, "send-now", "second", "--here")
    status = run(env, "status", "second")
    assert "Uncertain" in status
    [row] = [line for line in status.splitlines() if "test-cli/second" in line]
    assert [cell.strip() for cell in row.split("│")[6:13]] == ["5", "0", "0", "0", "0", "0", "0"]
