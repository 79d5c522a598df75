"""Conversation state under rotating epoch keys; nothing kept after a tip is sent or a
receipt checked; the subscriber key outside the data directory; retiring the old secret."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from handlers.types import Attachment
from storage.epochs import MemoryKeyring
from storage.models import ConversationState, DraftAttachment, Subscriber, Throttle
from storage.state import chat_keys
from storage.subscriptions import AddressBook, Subscription
from tests.conftest import BA_DINH, HANOI, Police, make_settings
from tests.dialog import Chat, english_chat
from tests.flow.helpers import send_tip, tip_to_review
from tests.unit.test_media import encode, two_colour

DAY = 24 * 3600.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every test here on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        return make_settings(tmp_path / "data")
    return make_settings(tmp_path / "data", request.getfixturevalue("postgres_database"))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def rows(app: App, model: Any) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored(app: App, chat: Chat) -> dict[str, Any] | None:
    return await app.states.load(await app.conversation.chat_keys(chat.key))


# --- rotation ----------------------------------------------------------------------------------


async def test_a_draft_survives_one_rotation_moved_under_the_new_key(
    app: App, police: Police
) -> None:
    clock = Clock()
    app.conversation.keyring = MemoryKeyring(DAY, clock=clock)
    chat = await tip_to_review(app, "Written before the rotation")
    await chat.talk([("[Change something]", "What do you want to change?"), ("[Photos]", "up to")])
    await chat.send(attachments=[Attachment(encode(two_colour(), "PNG"))])
    assert "Photo 1 added" in chat.text
    old = await app.conversation.chat_keys(chat.key)
    clock.now += DAY  # the next epoch: yesterday's key is now the previous one
    await chat.send("done")
    assert "Written before the rotation" in chat.text and "Photos: 1" in chat.text
    new = await app.conversation.chat_keys(chat.key)
    assert new.tag != old.tag
    async with app.db.sessions() as session:
        tags = set(await session.scalars(select(ConversationState.chat_tag)))
        photo_tags = set(await session.scalars(select(DraftAttachment.chat_tag)))
    assert new.tag in tags and old.tag not in tags, "the old row was deleted"
    assert photo_tags == {new.tag}
    await chat.talk([("send", "receipt")])


async def test_a_draft_untouched_for_two_rotations_can_no_longer_be_read(
    app: App, police: Police
) -> None:
    clock = Clock()
    app.conversation.keyring = MemoryKeyring(DAY, clock=clock)
    chat = await tip_to_review(app, "Too old")
    clock.now += 2 * DAY
    await chat.send("send")
    assert "receipt" not in chat.text.casefold()
    assert await app.vault.check("0" * 16) is None


async def test_a_restart_without_redis_costs_the_unsent_drafts(settings: Settings) -> None:
    first = await bootstrap(settings)
    chat = Chat(first, "tg:123456")
    await chat.talk([("/start", "Choose your language"), ("2", "What would you like to do?")])
    await chat.talk([("/tobao", "16-digit receipt")])
    await first.close()
    second = await bootstrap(settings)
    try:
        again = Chat(second, "tg:123456")
        await again.send("1")
        assert "Choose your language" in again.text, "a new conversation"
        # The old row cannot be opened by anyone; it expires and is purged with the others.
        assert await rows(second, ConversationState) == 2
    finally:
        await second.close()


async def test_keys_of_state_never_touch_the_data_directory(app: App) -> None:
    await english_chat(app)
    directory = app.settings.data_dir
    names = {p.name for p in directory.iterdir()} if directory.exists() else set()
    # The database, and the all-in-one setup's signing key (which certifies public keys).
    assert names <= {"tipline.db", "tipline.db-wal", "tipline.db-shm", "signing.key"}
    epoch_key = (await app.keyring.current()).key
    for path in directory.rglob("*"):
        assert epoch_key not in path.read_bytes(), path


# --- nothing kept after a tip or a receipt check ---------------------------------------------


async def test_after_sending_the_state_keeps_only_the_language_and_the_menu(
    app: App, police: Police
) -> None:
    chat, _ = await send_tip(app)
    assert await stored(app, chat) == {"locale": "en", "step": "menu", "back": []}
    await chat.press("Delete this conversation")
    assert [r.kind for r in chat.replies] == ["wipe"]
    assert await stored(app, chat) is None


async def test_after_sending_the_main_menu_button_works(app: App, police: Police) -> None:
    chat, _ = await send_tip(app)
    await chat.talk([("[Main menu]", "What would you like to do?")])


async def test_a_receipt_check_is_not_written_down(app: App, police: Police) -> None:
    _, receipt = await send_tip(app)
    chat = await english_chat(app)
    await chat.talk([("[Check a tip]", "16-digit receipt")])
    state = await stored(app, chat)
    assert state is not None and state["step"] == "menu" and not state["options"]
    await chat.talk([("1234 5678 9012 3452", "No tip matches"), (receipt, "Status")])
    state = await stored(app, chat)
    assert state is not None
    assert state["step"] == "menu" and "check" not in repr(state)
    # In memory the check goes on: the reporter can answer.
    await chat.talk([("[Write an answer]", "write your answer")])
    assert await rows(app, Throttle) == 0, "wrong receipts are counted in memory"


async def test_wrong_receipts_are_still_throttled(app: App, police: Police) -> None:
    chat = await english_chat(app)
    for _ in range(app.conversation.limits.receipt_attempts):
        await chat.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "No tip matches")])
    await chat.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "Too many attempts")])


# --- the subscriber key ----------------------------------------------------------------------


def test_a_subscriber_key_inside_the_data_directory_is_refused(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", subscriber_key_file=tmp_path / "data" / "keys" / "subscriber.key"
    )
    with pytest.raises(ValueError, match="must not be inside the data directory"):
        settings.subscriber_key_bytes()


def test_the_default_subscriber_key_is_made_once_in_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = make_settings(tmp_path / "data", subscriber_key_file=None)
    key = settings.subscriber_key_bytes()
    path = tmp_path / "config" / "tipline" / "subscriber.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32 and settings.subscriber_key_bytes() == key


async def test_subscribers_are_sealed_under_the_subscriber_key(app: App) -> None:
    await app.subscriptions.save(
        "tg:4242",
        Subscription(province_code=HANOI, commune_code=BA_DINH, group="parents", locale="vi"),
    )
    book = AddressBook(app.settings.subscriber_key_bytes())
    async with app.db.sessions() as session:
        row = await session.scalar(select(Subscriber))
    assert row is not None and book.open(row.address, row.lookup) == "tg:4242"


# --- retiring the state secret of older versions ---------------------------------------------


async def test_the_old_state_secret_is_retired_at_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = await bootstrap(settings)
    old_secret = "0123456789abcdef" * 4
    old_book = AddressBook(old_secret.encode())
    async with app.db.sessions.begin() as session:
        for chat in ("tg:1001", "zalo:abcdef"):
            lookup = old_book.lookup(chat)
            session.add(
                Subscriber(
                    channel="telegram" if chat.startswith("tg") else "zalo",
                    address=old_book.seal(chat, lookup),
                    lookup=lookup,
                    province_code=HANOI,
                    commune_code=None,
                    group="parents",
                    locale="vi",
                    created_at=date(2026, 1, 1),
                )
            )
        keys = await chat_keys(MemoryKeyring(DAY), "tg:1001")
        session.add(
            ConversationState(
                chat_tag=keys.tag,
                content=b"sealed under the old secret",
                expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
    await app.close()
    legacy = settings.data_dir / "state.secret"  # as an older version left it
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(old_secret)
    caplog.set_level(logging.INFO)
    upgraded = await bootstrap(settings)
    try:
        assert not legacy.exists()
        assert "old state secret was retired: 2 subscriber(s) re-sealed" in caplog.text
        assert old_secret not in caplog.text
        assert await rows(upgraded, ConversationState) == 0
        for chat in ("tg:1001", "zalo:abcdef"):
            found = await upgraded.subscriptions.get(chat)
            assert found is not None and found.province_code == HANOI
        with pytest.raises(Exception, match="cannot open"):
            async with upgraded.db.sessions() as session:
                row = await session.scalar(select(Subscriber))
                assert row is not None
                old_book.open(row.address, row.lookup)
    finally:
        await upgraded.close()
    caplog.clear()
    again = await bootstrap(settings)  # nothing more to do
    await again.close()
    assert "retired" not in caplog.text


async def test_an_old_state_secret_from_the_environment_is_retired_too(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    old_secret = "fedcba9876543210" * 4
    app = await bootstrap(settings)
    old_book = AddressBook(old_secret.encode())
    async with app.db.sessions.begin() as session:
        lookup = old_book.lookup("tg:2002")
        session.add(
            Subscriber(
                channel="telegram",
                address=old_book.seal("tg:2002", lookup),
                lookup=lookup,
                province_code=HANOI,
                commune_code=None,
                group="parents",
                locale="vi",
                created_at=date(2026, 1, 1),
            )
        )
    await app.close()
    caplog.set_level(logging.INFO)
    upgraded = await bootstrap(
        settings.model_copy(update={"legacy_state_secret": SecretStr(old_secret)})
    )
    try:
        assert "now remove TIPLINE_STATE_SECRET" in caplog.text
        assert await upgraded.subscriptions.get("tg:2002") is not None
    finally:
        await upgraded.close()
