"""The Zalo channel around the conversation: long texts, the wipe, stickers, groups, polling,
and logs that never name anyone."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.config import Settings
from storage.models import ConversationState
from tests.channels.conftest import ZaloServed, zalo_polling
from tests.channels.zalo_user import TIP_UNTIL_WHERE, TIP_UNTIL_WHERE_EN, ZaloUser
from tests.conftest import Police
from tests.fakes.zalo_api import FakeZalo


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


async def test_a_long_text_is_split_at_2000_characters_in_order(
    zalo_served: ZaloServed, police: Police
) -> None:
    user = ZaloUser(zalo_served.fake)
    await user.talk([*TIP_UNTIL_WHERE_EN, ("skip", "what happened")])
    stories = [
        f"Part {n}. " + "The van stops at the market gate and two men unload boxes. " * 25
        for n in range(3)
    ]
    for story in stories:
        await user.talk([(story, "added")])
    await user.talk([("done", "photos")])
    review = await user.say("done")
    parts = user.replies
    assert len(parts) >= 3
    assert all(1 <= len(part) <= 2000 for part in parts)
    assert "Please check your tip" in parts[0]
    # In order, nothing lost: the parts put together hold each story, one after the other.
    joined = " ".join(parts)
    positions = [joined.find(story.strip()[:40]) for story in stories]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    # The choices come last, as numbered lines, and typing one works.
    assert "1. Send the tip" in parts[-1]
    assert review.index("1. Send the tip") > review.index(stories[-1][:40])
    await user.talk([("1", "receipt")])
    assert zalo_served.fake.calls_of("sendMessage", status=400) == []


async def test_the_wipe_asks_the_user_to_delete_the_chat_in_zalo(
    zalo_served: ZaloServed, police: Police, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = ZaloUser(zalo_served.fake)
    await user.talk([*TIP_UNTIL_WHERE, ("Cong cho", "Chuyện gì")])
    await user.say("/xoa")
    [wiped] = user.replies
    assert wiped.startswith("Tipline đã xóa bản lưu cuộc trò chuyện này.")
    # Zalo bots cannot delete messages: the user is told how to do it, in their language.
    assert "Zalo không cho phép bot xóa tin nhắn" in wiped and "chọn Xóa" in wiped
    assert "conversation wiped" in caplog.text
    before = await states(zalo_served.app)
    await user.talk([("hello", "Chọn ngôn ngữ")])  # the half-written tip was forgotten
    assert await states(zalo_served.app) == before + 1


async def test_a_burst_of_stickers_gets_one_polite_hint(zalo_served: ZaloServed) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    await user.talk([("/start", "Chọn ngôn ngữ"), ("english", "What would you like to do?")])
    before = len(fake.sent(user.id))
    for _ in range(3):
        assert await fake.send_sticker(user.id) == 200
    await fake.send_event(user.id, "message.voice.received", voice_url="https://x.example/a.aac")
    hints = fake.texts(user.id)[before:]
    assert len(hints) == 1
    assert "I can read text and photos" in hints[0]  # in the language the user chose
    # Typing still works, at the same step.
    assert "Send an anonymous tip" not in await user.say("/tobao")


async def test_a_message_zalo_withholds_or_an_unknown_kind_gets_the_hint(
    zalo_served: ZaloServed,
) -> None:
    fake = zalo_served.fake
    first, second = ZaloUser(fake), ZaloUser(fake)
    assert await fake.send_event(first.id, "message.unsupported.received") == 200
    assert await fake.send_event(second.id, "message.reaction.received", reaction="like") == 200
    for user in (first, second):
        [hint] = fake.texts(user.id)
        assert "không đọc được loại tin nhắn này" in hint  # Vietnamese by default


async def test_a_group_is_sent_to_a_private_chat_and_no_conversation_starts(
    zalo_served: ZaloServed,
) -> None:
    fake = zalo_served.fake
    group = fake.group()
    before = await states(zalo_served.app)
    await fake.send_text(group, "@bot có người bán ma túy ở ngõ 3")
    await fake.send_text(group, "/tobao")
    [answer] = fake.texts(group)
    assert "trò chuyện riêng" in answer
    assert await states(zalo_served.app) == before


async def test_polling_answers_events_including_those_sent_while_it_was_down(
    app: App, zalo_fake: FakeZalo, settings: Settings, police: Police
) -> None:
    fake = zalo_fake
    user = ZaloUser(fake)
    await fake.send_text(user.id, "xin chao")  # queued before the bot runs
    fake.fail("getUpdates", 502)  # and Zalo hiccups once
    async with zalo_polling(app, fake, settings) as channel:
        assert channel.mode == "polling"
        await fake.wait_for(lambda: len(fake.sent(user.id)) == 1)
        assert "Chọn ngôn ngữ" in fake.texts(user.id)[0]
        await user.talk(
            [
                *TIP_UNTIL_WHERE[1:],
                ("bo qua", "Chuyện gì"),
                ("Hai nguoi do hang ban dem", "Đã thêm"),
                ("xong", "ảnh"),
                ("xong", "kiểm tra lại"),
                ("gui", "Mã biên nhận"),
            ]
        )
    assert fake.calls_of("deleteWebhook") and not fake.calls_of("setWebhook")
    statuses = [c.status for c in fake.calls_of("getUpdates", status=None)]
    assert statuses[0] == 502 and 200 in statuses[1:]  # polling went on after the error
    assert fake.pending == 0


async def test_the_logs_never_name_the_reporter_or_the_tip(
    zalo_served: ZaloServed, police: Police, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY{uuid.uuid4().hex[:12]}"
    chat_id = f"{canary}chat"
    fake = zalo_served.fake
    user = ZaloUser(fake, chat_id, name=f"{canary}name")
    await user.talk(
        [
            *TIP_UNTIL_WHERE_EN,
            (f"{canary}-place", "what happened"),
            (f"{canary}-story", "added"),
            ("done", "photos"),
            ("done", "check your tip"),
            ("send", "receipt"),
        ]
    )
    receipt = user.receipt()
    await user.say("/kiemtra")
    await user.say(receipt)
    await fake.send_sticker(chat_id)
    await user.say("/xoa")
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "wiped" in logged  # the logs did run
    assert "filed" not in logged  # a line at the moment of filing would time the tip
    assert "sendMessage" in logged  # httpx's request lines, with the URL shortened
    for secret in (
        chat_id,
        f"{canary}name",
        f"{canary}-place",
        f"{canary}-story",
        receipt,
        receipt.replace(" ", ""),
        canary,
        fake.token,
        fake.token.split(":")[1],
    ):
        assert secret not in logged, secret
