"""The channel around the conversation: groups, long texts, HTML, commands, polling, and
logs that never name anyone."""

from __future__ import annotations

import logging
import random
import uuid

import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.config import Settings
from storage.models import ConversationState
from tests.channels.conftest import Served, polling
from tests.channels.telegram_user import TIP_BY_TYPING, TelegramUser
from tests.conftest import Police
from tests.fakes.telegram_api import FakeTelegram


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


async def test_a_group_is_sent_to_a_private_chat_and_no_conversation_starts(
    served: Served,
) -> None:
    fake = served.fake
    fake.group(-100777, "Tổ dân phố 5")
    fake.user(6001, "Hùng", None, "vi")
    before = await states(served.app)
    await fake.send_text(-100777, "/tobao có người bán ma túy ở ngõ 3", user_id=6001)
    await fake.send_text(-100777, "chuyện thường ngày, không gọi bot", user_id=6001)
    await fake.send_text(-100777, f"@{fake.username} giúp với", user_id=6001)
    await fake.send_text(-100777, "/tobao@some_other_bot", user_id=6001)
    answers = fake.sent(-100777)
    assert len(answers) == 2  # the command and the mention, nothing else
    assert "trò chuyện riêng" in answers[0].message["text"]
    assert f"https://t.me/{fake.username}" in answers[0].message["text"]
    assert await states(served.app) == before
    assert fake.calls_of("deleteMessages", status=None) == []


async def test_a_long_text_is_split_at_4096_with_the_buttons_on_the_last_part(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 6002)
    await user.talk([*TIP_BY_TYPING, ("skip", "what happened")])
    for part in range(4):
        await user.say(f"Part {part}: " + "lorem ipsum dolor sit amet " * 105)
    await user.say("done")
    await user.say("done")
    review = user.replies
    assert len(review) >= 3
    for stored in review:
        assert len(stored.message["text"]) <= 4096
    assert "Please check your tip" in review[0].message["text"]
    assert [bool(s.message.get("reply_markup")) for s in review] == [False] * (len(review) - 1) + [
        True
    ]
    await user.talk([("[Send the tip]", "receipt")])


async def test_text_is_escaped_for_html_and_shown_as_typed(served: Served, police: Police) -> None:
    user = TelegramUser(served.fake, 6003)
    tricky = '<b>bold</b> & <script>alert("x")</script> 5 < 6 > 4'
    await user.talk([*TIP_BY_TYPING, (tricky, "what happened"), ("Story", "added")])
    await user.talk([("done", "photos"), ("done", "check your tip")])
    assert tricky in user.text  # the fake parsed the HTML: it arrived as plain text
    sent_html = served.fake.sent(user.id)[-1].html or ""
    assert "&lt;script&gt;" in sent_html


async def test_the_command_menu_is_registered_in_vietnamese_and_english(served: Served) -> None:
    commands = served.fake.commands
    assert set(commands) == {("default", ""), ("default", "vi"), ("default", "en")}
    names = [c["command"] for c in commands[("default", "en")]]
    assert names == ["start", "tobao", "kiemtra", "xoa", "dangky", "stop", "huy", "help"]
    vietnamese = {c["command"]: c["description"] for c in commands[("default", "vi")]}
    english = {c["command"]: c["description"] for c in commands[("default", "en")]}
    assert commands[("default", "")] == commands[("default", "vi")]
    assert english["tobao"] == "Send an anonymous tip"
    assert vietnamese["tobao"] != english["tobao"]
    assert "xóa" in vietnamese["xoa"].casefold()


async def test_polling_answers_updates_including_those_sent_while_it_was_down(
    app: App, fake: FakeTelegram, settings: Settings, police: Police
) -> None:
    user = TelegramUser(fake, 6004)
    await fake.send_text(user.id, "/start")  # queued before the bot runs
    async with polling(app, fake, settings) as channel:
        assert channel.mode == "polling"
        await fake.wait_for(lambda: len(fake.sent(user.id)) == 1)
        assert "Choose your language" in fake.sent(user.id)[0].message["text"]
        await user.talk([("[English]", "What would you like to do?")])
        assert fake.calls_of("answerCallbackQuery")
    [delete] = fake.calls_of("deleteWebhook")
    assert not delete.params.get("drop_pending_updates")
    assert fake.calls_of("getUpdates")


async def test_the_logs_never_name_the_reporter_or_the_tip(
    served: Served, police: Police, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY{uuid.uuid4().hex[:12]}"
    chat_id = random.randint(7_000_000_000, 7_999_999_999)
    user = TelegramUser(served.fake, chat_id, first_name=f"{canary}name", username=f"{canary}user")
    await user.talk(
        [
            *TIP_BY_TYPING,
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
    await user.say("/xoa")
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert "wiped" in logged  # the logs did run
    assert "filed" not in logged  # a line at the moment of filing would time the tip
    for secret in (
        str(chat_id),
        f"{canary}name",
        f"{canary}user",
        f"{canary}-place",
        f"{canary}-story",
        receipt,
        receipt.replace(" ", ""),
        canary,
    ):
        assert secret not in logged, secret
