"""The roles of ``tipline serve``: the bot role serves no console or API, loads nothing that
unlocks a private key, refuses to start near private key material or on an old schema; the
console role serves no chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from bot.bootstrap import App, bootstrap
from bot.cli import app as cli
from bot.config import Settings, SigningKeyProblem
from bot.roles import BOT_FORBIDDEN_MODULES, RoleError, private_material
from bot.server import open_app
from bot.web import create_web_app
from storage import sealing
from storage.sealing import FAST_TEST_KDF
from tests.conftest import HANOI, Police, make_settings

POLICE_PATHS = ("/console/", "/console/login", "/api/v1/tips", "/api/v1/queues")


def role_settings(settings: Settings, role: str, **changes: object) -> Settings:
    return settings.model_copy(update={"role": role, **changes})


def pin_of(settings: Settings) -> str:
    """The printed public half of the signing key the all-in-one app made in its data dir."""
    private = sealing.import_signing_key((settings.data_dir / "signing.key").read_bytes())
    return sealing.format_signing_key(sealing.signing_public_key(private))


def bot_settings(settings: Settings) -> Settings:
    """The bot role beside ``settings``' app: its own data dir, the same database, the pin."""
    return role_settings(
        settings,
        "bot",
        data_dir=settings.data_dir.parent / "bot-data",
        database_url=settings.sqlalchemy_url(),
        trusted_signing_key=pin_of(settings),
    )


async def paths(web: object, *wanted: str) -> dict[str, int]:
    transport = httpx.ASGITransport(app=web)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
        return {path: (await http.get(path)).status_code for path in wanted}


async def test_the_bot_role_serves_the_chat_and_no_console_or_api(
    app: App, police: Police, settings: Settings
) -> None:
    bot = await open_app(bot_settings(settings))
    try:
        assert bot.signer is None
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
from bot.config import Settings, SigningKeyProblem
from bot.server import open_app
from bot.web import create_web_app

SCRIPT = ["/start", "2", "1", "1", "1", "ha noi", "hoan kiem", "1", "1", "Cổng sau chợ",
          "Hai người bán hàng mỗi tối", "done", "done", "send"]

async def main():
    settings = Settings(_env_file=None, role="bot")  # the rest from the environment
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
    bot = bot_settings(settings)
    env = {
        **os.environ,
        "TIPLINE_DATA_DIR": str(bot.data_dir),
        "TIPLINE_DATABASE_URL": bot.database_url,
        "TIPLINE_TRUSTED_SIGNING_KEY": str(bot.trusted_signing_key),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
    }
    done = subprocess.run(  # noqa: ASYNC221 (the test waits for it on purpose)
        [sys.executable, "-c", BOT_PROCESS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "bot.web" in loaded and "storage.vault" in loaded  # the process did build the app
    assert [m for m in loaded if m.startswith(BOT_FORBIDDEN_MODULES)] == []


async def test_the_bot_role_refuses_to_start_near_private_key_material(
    app: App, police: Police, settings: Settings
) -> None:
    bot = bot_settings(settings)
    bot.data_dir.mkdir()
    assert private_material(bot) == []
    # The all-in-one data dir holds the signing key it generated: no bot may start there.
    with pytest.raises(RoleError, match=r"signing\.key"):
        await open_app(role_settings(bot, "bot", data_dir=settings.data_dir))
    with pytest.raises(RoleError, match="TIPLINE_SIGNING_KEY_FILE"):
        await open_app(role_settings(bot, "bot", signing_key_file=tmp_key(bot.data_dir.parent)))
    key_file = bot.data_dir / "backup" / "recovery-01.key"
    key_file.parent.mkdir()
    key_file.write_text(
        sealing.export_recovery_key(police.recovery_private, "passphrase", FAST_TEST_KDF, "HN")
    )
    with pytest.raises(RoleError, match=r"recovery-01\.key"):
        await open_app(bot)
    key_file.unlink()
    renamed = bot.data_dir / "backup" / "notes.txt"  # a signing key under another name
    renamed.write_bytes((settings.data_dir / "signing.key").read_bytes())
    with pytest.raises(RoleError, match=r"notes\.txt"):
        await open_app(bot)
    renamed.unlink()
    (bot.data_dir / "demo-credentials.json").write_text("{}")
    with pytest.raises(RoleError, match=r"demo-credentials\.json"):
        await open_app(bot)
    (bot.data_dir / "demo-credentials.json").unlink()
    with pytest.raises(SigningKeyProblem, match="TIPLINE_TRUSTED_SIGNING_KEY"):
        await open_app(role_settings(bot, "bot", trusted_signing_key=None))
    assert not (bot.data_dir / "signing.key").exists()  # a bot never makes one
    started = await open_app(bot)
    await started.close()


def tmp_key(directory: Path) -> Path:
    path = directory / "elsewhere" / "signing.key"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(sealing.export_signing_key(sealing.new_signing_key()))
    return path


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
    owner_settings = role_settings(make_settings(tmp_path / "data"), "console")
    pin = sealing.format_signing_key(sealing.signing_public_key(sealing.new_signing_key()))
    settings = role_settings(
        owner_settings,
        "bot",
        data_dir=tmp_path / "bot-data",
        database_url=owner_settings.sqlalchemy_url(),
        trusted_signing_key=pin,
    )
    with pytest.raises(RoleError, match="tipline db upgrade"):
        await open_app(settings)
    owner = await bootstrap(owner_settings)
    await owner.close()
    bot = await open_app(settings)
    await bot.close()
