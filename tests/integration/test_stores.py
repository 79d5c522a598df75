"""The stores and the vault on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage import sealing
from storage.state import ChatKeys
from storage.vault import NoQueue, TipDraft
from tests.conftest import BA_DINH, HANOI, OFFICER, OFFICER_PASSWORD, setup_hanoi
from tests.dialog import Chat, english_chat


def draft(**changes: object) -> TipDraft:
    values: dict[str, object] = {
        "category": "storing",
        "province_code": HANOI,
        "commune_code": BA_DINH,
        "when": "today",
        "where": "Kho sau chợ",
        "description": ["Hàng giấu trong kho"],
        "locale": "vi",
        "photos": [b"\xff\xd8fake-jpeg"],
    }
    values.update(changes)
    return TipDraft(**values)  # type: ignore[arg-type]


async def test_state_round_trip_expiry_and_forgetting(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        chat = ChatKeys.of(b"s" * 32, "web:abc")
        other = ChatKeys.of(b"s" * 32, "web:other")
        assert await app.states.load(chat) is None
        await app.states.save(chat, {"step": "tip.what", "draft": {"where": "Ngõ 5"}})
        await app.states.add_photo(chat, b"photo-1")
        await app.states.add_photo(chat, b"photo-2")
        assert (await app.states.load(chat))["draft"]["where"] == "Ngõ 5"  # type: ignore[index]
        assert await app.states.photos(chat) == [b"photo-1", b"photo-2"]
        assert await app.states.load(other) is None
        # A state sealed for one chat cannot be read as another's.
        wrong_key = ChatKeys(tag=chat.tag, key=other.key)
        with pytest.raises(sealing.CannotOpen):
            await app.states.load(wrong_key)
        await app.states.forget(chat)
        assert await app.states.load(chat) is None
        assert await app.states.photo_count(chat) == 0
        app.states._ttl = timedelta(hours=-3)
        await app.states.save(other, {"step": "menu"})
        assert await app.states.load(other) is None
        assert await app.states.purge_expired() == 1
    finally:
        await app.close()


async def test_vault_routing_sealing_and_dialogue(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        with pytest.raises(NoQueue):
            await app.vault.submit(draft())
        police = await setup_hanoi(app)
        receipt = await app.vault.submit(draft())
        fallback = await app.vault.submit(draft(commune_code=8))
        unknown = await app.vault.submit(draft(commune_code=None))
        officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
        tips = {t.tip_id: t for t in await app.casework.list_tips(officer)}
        assert len(tips) == 3
        by_receipt = {}
        for digits in (receipt, fallback, unknown):
            view = await app.vault.check(digits)
            assert view is not None
            by_receipt[digits] = tips[view.tip_id]
        assert by_receipt[receipt].queue_id == police.queues[BA_DINH]
        assert by_receipt[fallback].queue_id == police.queues[None]
        assert by_receipt[unknown].queue_id == police.queues[None]

        tip_id = by_receipt[receipt].tip_id
        opened = await app.casework.open_tip(officer, tip_id)
        assert opened.content["where"] == "Kho sau chợ"
        assert opened.photos == [b"\xff\xd8fake-jpeg"]
        # The recovery key opens it too, without any officer.
        recovered = await app.casework.open_with_recovery(tip_id, police.recovery_private)
        assert recovered.content == opened.content

        await app.casework.ask_reporter(officer, tip_id, "Kho ở tầng mấy?")
        view = await app.vault.check(receipt)
        assert view is not None and [m.text for m in view.messages] == ["Kho ở tầng mấy?"]
        await app.vault.reply(tip_id, view.receipt, "Tầng hai")
        assert [m.text for m in (await app.casework.open_tip(officer, tip_id)).messages] == [
            "Kho ở tầng mấy?",
            "Tầng hai",
        ]
        # Another tip's receipt cannot answer this one.
        other = await app.vault.check(unknown)
        assert other is not None
        with pytest.raises(PermissionError):
            await app.vault.reply(tip_id, other.receipt, "forged")
        assert await app.vault.check(sealing.new_receipt()) is None
    finally:
        await app.close()


async def test_an_officer_opens_only_their_queues_tips(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        police = await setup_hanoi(app)
        outsider = await app.police.add_officer("outsider", "Other unit", "another-password")
        queue, private = await app.police.create_queue(HANOI, 10, "Queue 10")
        await app.police.grant(queue.id, outsider.id, private)
        receipt = await app.vault.submit(draft())
        view = await app.vault.check(receipt)
        assert view is not None
        unlocked = await app.police.unlock("outsider", "another-password")
        assert await app.casework.list_tips(unlocked) == []
        with pytest.raises(PermissionError):
            await app.casework.open_tip(unlocked, view.tip_id)
        with pytest.raises(PermissionError):
            await app.casework.ask_reporter(unlocked, view.tip_id, "?")
        with pytest.raises(sealing.WrongPassword):
            await app.police.unlock(OFFICER, "not-the-password")
        with pytest.raises(sealing.WrongPassword):
            await app.police.unlock("nobody", OFFICER_PASSWORD)
        assert police.queues[None] != queue.id
    finally:
        await app.close()


@pytest.mark.redis
async def test_a_restart_in_the_middle_of_a_tip_continues_where_it_was(
    backend_settings: Settings, redis_settings: dict[str, str]
) -> None:
    """With the keys of conversation state in Redis (without Redis, a restart costs the
    draft: tests/integration/test_state_keys.py)."""
    backend_settings = backend_settings.model_copy(update=redis_settings)
    first = await bootstrap(backend_settings)
    await setup_hanoi(first)
    chat = await english_chat(first)
    await chat.talk(
        [
            ("/tobao", "16-digit"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("ba dinh", "which of these"),
            ("1", "when"),
            ("1", "where"),
            ("Behind the karaoke bar", "what happened"),
            ("Before the restart", "added"),
        ]
    )
    await first.close()

    second = await bootstrap(backend_settings)
    try:
        resumed = Chat(second, key=chat.key)
        await resumed.talk(
            [
                ("After the restart", "added"),
                ("done", "photos"),
                ("done", "Before the restart\nAfter the restart"),
                ("send", "receipt"),
            ]
        )
        officer = await second.police.unlock(OFFICER, OFFICER_PASSWORD)
        [summary] = await second.casework.list_tips(officer)
        opened = await second.casework.open_tip(officer, summary.tip_id)
        assert opened.content["where"] == "Behind the karaoke bar"
        assert opened.content["description"] == ["Before the restart", "After the restart"]
    finally:
        await second.close()


async def test_migrations_leave_the_schema_current(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        assert await app.db.is_current()
        await app.db.upgrade()  # idempotent
    finally:
        await app.close()
