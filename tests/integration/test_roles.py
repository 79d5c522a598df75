"""The roles of ``tipline serve``: the bot role serves no console or API, loads nothing that
unlocks a private key, refuses to start near private key material or on an old schema; the
console role serves no chat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.bootstrap import App, bootstrap
from bot.cli import app as cli
from bot.config import Settings
from bot.roles import BOT_FORBIDDEN_MODULES, RoleError, private_material
from bot.server import open_app
from bot.web import create_web_app
from storage import sealing
from storage.sealing import FAST_TEST_KDF
from tests.conftest import HANOI, Police, make_settings

POLICE_PATHS = ("/console/", "/console/login", "/api/v1/tips", "/api/v1/queues")


def role_settings(settings: Settings, role: str, **changes: object) -> Settings:
    return settings.model_copy(update={"role": role, **changes})


async def paths(web: object, *wanted: str) -> dict[str, int]:
    transport = httpx.ASGITransport(app=web)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
        return {path: (await http.get(path)).status_code for path in wanted}


async def test_the_bot_role_serves_the_chat_and_no_console_or_api(
    app: App, police: Police, settings: Settings
) -> None:
    bot = await open_app(role_settings(settings, "bot"))
    try:
        web = create_web_app(bot)
        answered = await paths(web, "/", "/healthz", *POLICE_PATHS)
        assert answered == {"/": 200, "/healthz": 200, **dict.fromkeys(POLICE_PATHS, 404)}
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
            chat = await http.post("/api/chat", json={"session": "s" * 32, "text": "/start"})
            assert chat.status_code == 200 and chat.json()["replies"]
            schema = (await http.get("/api/openapi.json")).json()
        assert not [path for path in schema["paths"] if path.startswith("/api/v1")]
        with pytest.raises(RoleError):
            _ = bot.police
        with pytest.raises(RoleError):
            _ = bot.accounts
    finally:
        await bot.close()


async def test_the_console_role_serves_no_chat(app: App, settings: Settings) -> None:
    console = await open_app(role_settings(settings, "console"))
    try:
        web = create_web_app(console)
        answered = await paths(web, "/console/login", "/healthz")
        assert answered == {"/console/login": 200, "/healthz": 200}
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
            chat = await http.post("/api/chat", json={"session": "s" * 32, "text": "/start"})
            assert chat.status_code == 404
            home = await http.get("/")
            assert home.status_code == 303 and home.headers["location"] == "/console/"
    finally:
        await console.close()


# What `tipline serve --role bot` loads: the command line, the bot-role app and web app, and a
# whole tip filed through the web chat.
BOT_PROCESS = """
import asyncio, json, sys
from pathlib import Path
import httpx
import bot.cli
from bot.config import Settings
from bot.server import open_app
from bot.web import create_web_app

SCRIPT = ["/start", "2", "1", "1", "1", "ha noi", "hoan kiem", "1", "1", "Cổng sau chợ",
          "Hai người bán hàng mỗi tối", "done", "done", "send"]

async def main():
    settings = Settings(_env_file=None, data_dir=Path(sys.argv[1]), role="bot",
                        kdf_memory_kib=int(sys.argv[2]), kdf_iterations=int(sys.argv[3]))
    app = await open_app(settings)
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
        for text in SCRIPT:
            reply = await http.post("/api/chat", json={"session": "r" * 32, "text": text})
    assert "This is your receipt" in reply.text, reply.text
    await app.states.purge_expired()
    await app.close()

asyncio.run(main())
print(json.dumps(sorted(sys.modules)))
"""


async def test_a_bot_role_process_never_loads_the_console_or_key_unlocking_code(
    app: App, police: Police, settings: Settings
) -> None:
    kdf = [str(FAST_TEST_KDF.memory_kib), str(FAST_TEST_KDF.iterations)]
    done = subprocess.run(  # noqa: ASYNC221 (the test waits for it on purpose)
        [sys.executable, "-c", BOT_PROCESS, str(settings.data_dir), *kdf],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bot.web" in loaded and "storage.vault" in loaded  # the process did build the app
    assert [m for m in loaded if m.startswith(BOT_FORBIDDEN_MODULES)] == []


async def test_the_bot_role_refuses_to_start_near_a_recovery_key(
    app: App, police: Police, settings: Settings
) -> None:
    bot_settings = role_settings(settings, "bot")
    assert private_material(bot_settings) == []
    key_file = settings.data_dir / "backup" / "recovery-01.key"
    key_file.parent.mkdir()
    key_file.write_text(
        sealing.export_recovery_key(police.recovery_private, "passphrase", FAST_TEST_KDF, "HN")
    )
    with pytest.raises(RoleError, match=r"recovery-01\.key"):
        await open_app(bot_settings)
    key_file.unlink()
    (settings.data_dir / "demo-credentials.json").write_text("{}")
    with pytest.raises(RoleError, match=r"demo-credentials\.json"):
        await open_app(bot_settings)


def test_serve_in_the_bot_role_says_why_it_will_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / f"recovery-{HANOI:02d}.key").write_text("-----BEGIN TIPLINE RECOVERY KEY-----\n")
    monkeypatch.setenv("TIPLINE_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--role", "bot", "--port", "1"])
    assert result.exit_code == 1
    said = "".join(result.output.splitlines())  # the console wraps long lines
    assert "Cannot start the bot role" in said and "recovery-01.key" in said
    assert not (data / "tipline.db").exists()  # refused before touching the database
    wrong = CliRunner().invoke(cli, ["serve", "--role", "robot"])
    assert wrong.exit_code == 1 and "--role must be one of all, bot, console" in wrong.output


async def test_the_bot_role_never_migrates_and_waits_for_the_owner_to(tmp_path: Path) -> None:
    settings = role_settings(make_settings(tmp_path / "data"), "bot")
    with pytest.raises(RoleError, match="tipline db upgrade"):
        await open_app(settings)
    owner = await bootstrap(role_settings(settings, "console"))
    await owner.close()
    bot = await open_app(settings)
    await bot.close()
