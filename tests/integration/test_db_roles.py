"""``tipline db roles`` on PostgreSQL: the bot and the console, each logged in as its own
role, do their real work through the real stores, and the bot's role is refused what a
stolen bot password would be used for (rewriting a key, reading an officer's locked key,
deleting tips)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.bootstrap import App, bootstrap
from bot.cli import app as cli
from bot.config import Settings
from storage.deliveries import Outcome
from storage.roles import drop_role
from storage.subscriptions import Subscription
from storage.vault import TipDraft
from tests.campaigns.helpers import Clock, campaign, message, service, vn
from tests.conftest import (
    BA_DINH,
    HANOI,
    HOAN_KIEM,
    OFFICER,
    OFFICER_PASSWORD,
    make_settings,
    setup_hanoi,
)

PHOTO = b"\xff\xd8sealed-photo"
# What the bot's role must be refused, each with insufficient privilege.
BOT_REFUSED = [
    "UPDATE queues SET public_key = '\\x00'::bytea",
    "UPDATE recovery_keys SET public_key = '\\x00'::bytea",
    "UPDATE officers SET display_name = 'x'",
    "INSERT INTO queues (province_code, name, public_key, recovery_wrap, created_at) "
    "VALUES (1, 'fake', '\\x00', '\\x00', now())",
    "DELETE FROM recovery_keys",
    "SELECT recovery_wrap FROM queues",
    "SELECT locked_private_key FROM officers",
    "SELECT username FROM officers",
    "SELECT wrapped_queue_key FROM queue_members",
    "UPDATE queue_members SET wrapped_queue_key = '\\x00'::bytea",
    "SELECT * FROM api_tokens",
    "SELECT * FROM audit_events",
    "SELECT * FROM tip_notes",
    "DELETE FROM tips",
    "UPDATE tips SET queue_id = queue_id",
    "UPDATE tips SET content = '\\x00'::bytea",
    "DELETE FROM tip_messages",
    "SELECT content FROM tip_attachments",
    "CREATE TABLE planted (id int)",
]
CONSOLE_REFUSED = [
    "SELECT content FROM conversation_states",
    "SELECT content FROM draft_attachments",
    "SELECT address FROM subscribers",
    "UPDATE audit_events SET actor = 'x'",
    "DELETE FROM audit_events",
    "DELETE FROM tips",
    "UPDATE tips SET content = '\\x00'::bytea",
    "INSERT INTO recovery_keys (province_code, public_key, fingerprint, created_at) "
    "VALUES (2, '\\x00', 'x', now())",
]


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture
async def owner(postgres_database: str, tmp_path: Path) -> AsyncIterator[App]:
    app = await bootstrap(make_settings(tmp_path / "data", database_url=postgres_database))
    yield app
    await app.close()


@pytest.fixture
async def roles(postgres_database: str, owner: App) -> AsyncIterator[tuple[str, str]]:
    """Role names unique to this test's database (roles are cluster-wide), dropped after."""
    suffix = make_url(postgres_database).database
    names = (f"bot_{suffix}", f"console_{suffix}")
    yield names
    for name in names:
        await drop_role(owner.db, name)


async def db_roles(settings: Settings, *args: str) -> str:
    env = {
        "TIPLINE_DATABASE_URL": settings.database_url,
        "TIPLINE_DATA_DIR": str(settings.data_dir),
        "TIPLINE_KDF_MEMORY_KIB": str(settings.kdf_memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(settings.kdf_iterations),
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["db", "roles", *args], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


async def not_refused(url: str, statements: list[str]) -> list[str]:
    """The statements a role was *not* refused."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    allowed = []
    try:
        for statement in statements:
            try:
                await connection.execute(statement)
            except asyncpg.exceptions.InsufficientPrivilegeError:
                continue
            allowed.append(statement)
    finally:
        await connection.close()
    return allowed


@pytest.mark.postgres
async def test_the_bot_and_the_console_work_as_their_own_roles_and_the_bot_is_refused_keys(
    owner: App, roles: tuple[str, str], tmp_path: Path
) -> None:
    bot_role, console_role = roles
    police = await setup_hanoi(owner)
    clock = Clock(vn(2030, 6, 20, 12))
    await service(owner, clock).load(campaign(message("hello", yearly="06-26 07:00")))

    await db_roles(
        owner.settings, "--bot-role", bot_role, "--console-role", console_role, "--login"
    )
    # A later migration adds a public column (the keys' certificates): granted on the next
    # run, which changes nothing else; the deny-list still holds.
    async with owner.db.engine.begin() as connection:
        await connection.execute(
            text("ALTER TABLE queues ADD COLUMN IF NOT EXISTS certificate bytea")
        )
    await db_roles(owner.settings, "--bot-role", bot_role, "--console-role", console_role)

    # --- the bot, as its own role, without migrating ------------------------------------
    base = owner.settings
    bot_settings = make_settings(base.data_dir, database_url=as_role(base.database_url, bot_role))
    bot = await bootstrap(bot_settings, migrate=False)
    try:
        assert await bot.db.is_current()
        receipt = await bot.vault.submit(
            TipDraft(
                category="storing",
                province_code=HANOI,
                commune_code=BA_DINH,
                when="today",
                where="Kho sau chợ",
                description=["Hàng giấu trong kho"],
                locale="vi",
                photos=[PHOTO],
            )
        )
        view = await bot.vault.check(receipt)
        assert view is not None and view.status == "new" and view.messages == []
        await bot.vault.reply(view.tip_id, view.receipt, "Tầng hai")

        chat = await bot.conversation.chat_keys("web:session-of-a-reporter")
        await bot.states.save(chat, {"step": "tip.where", "draft": {"where": "Kho"}})
        assert await bot.states.load(chat) == {"step": "tip.where", "draft": {"where": "Kho"}}
        await bot.states.add_photo(chat, PHOTO)
        assert await bot.states.photos(chat) == [PHOTO]
        await bot.states.forget(chat)
        assert await bot.states.load(chat) is None
        assert await bot.states.purge_expired() == 0

        await bot.subscriptions.save(
            "tg:424242",
            Subscription(
                province_code=HANOI,
                commune_code=None,
                group="general",
                locale="vi",
                quiet_hours=False,
            ),
        )
        clock.now = vn(2030, 6, 26, 7, 1)
        [started] = await service(bot, clock).run_due()
        assert started.action == "started" and started.added == 1
        run = (started.message.id, started.occurrence)
        [claimed] = await bot.campaigns.deliveries.claim(run, "telegram", 10, clock.now, "w1")
        await bot.campaigns.deliveries.record(
            [Outcome(claimed.id, "sent", claimed.subscriber_id)], clock.now, "w1"
        )
        assert await bot.campaigns.deliveries.waiting(*run, clock.now) == 0
    finally:
        await bot.close()

    assert await not_refused(bot_settings.database_url, BOT_REFUSED) == []
    assert await not_refused(
        bot_settings.database_url, ["SELECT id, public_key, certificate FROM queues"]
    ) == ["SELECT id, public_key, certificate FROM queues"]

    # --- the console, as its own role ------------------------------------------------------
    console_settings = make_settings(
        base.data_dir, database_url=as_role(base.database_url, console_role)
    )
    console = await bootstrap(console_settings, migrate=False)
    try:
        officer = await console.accounts.login(OFFICER, OFFICER_PASSWORD)
        [tip] = await console.casework.list_tips(officer)
        opened = await console.casework.open_tip(officer, tip.tip_id)
        assert opened.content["where"] == "Kho sau chợ" and opened.photos == [PHOTO]
        assert [m.text for m in opened.messages] == ["Tầng hai"]
        await console.casework.add_note(officer, tip.tip_id, "Đã xác minh")
        await console.casework.ask_reporter(officer, tip.tip_id, "Mấy giờ?")
        await console.casework.set_status(officer, tip.tip_id, "in_review")
        await console.casework.forward(officer, tip.tip_id, police.queues[HOAN_KIEM])
        assert [n.text for n in await console.casework.notes(officer, tip.tip_id)] == [
            "Đã xác minh"
        ]
        assert await console.casework.escalate_overdue(timedelta(hours=24)) == []
        checked, problems = await console.audit.verify()
        assert checked >= 4 and problems == []
        assert await console.subscriptions.count() == 1
        assert await console.campaigns.pause(started.message.id) is True
        assert await console.campaigns.resume(started.message.id) == "scheduled"
    finally:
        await console.close()

    assert await not_refused(console_settings.database_url, CONSOLE_REFUSED) == []


def test_db_roles_says_sqlite_has_no_roles(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["db", "roles"],
        env={"TIPLINE_DATA_DIR": str(tmp_path / "data"), "TIPLINE_DATABASE_URL": ""},
    )
    assert result.exit_code == 1
    assert "need PostgreSQL" in result.output
