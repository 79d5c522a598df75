"""The wipe on Telegram: both sides of the private chat are deleted, and the user is told
when older messages may remain."""

from __future__ import annotations

from bot.bootstrap import App
from bot.channels.telegram.history import MessageLog
from bot.config import Settings
from tests.channels.conftest import Served, polling
from tests.channels.telegram_user import TIP_BY_TYPING, TelegramUser, send_tip
from tests.conftest import Police
from tests.fakes.telegram_api import FakeTelegram

OLDER_REMAIN = "Some older messages could not be deleted"


def deleted_ids(fake: FakeTelegram) -> set[int]:
    ids: set[int] = set()
    for call in fake.calls_of("deleteMessages"):
        ids.update(call.params["message_ids"])
    ids.update(call.params["message_id"] for call in fake.calls_of("deleteMessage"))
    return ids


async def test_the_button_after_a_tip_deletes_both_sides_of_the_chat(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5551001)
    receipt = await send_tip(user, "Hẻm 5", "Dealing at night")
    before = fake.visible(user.id)
    users_ids = {s.message["message_id"] for s in before if not s.by_bot}
    bots_ids = {s.message["message_id"] for s in before if s.by_bot}
    assert len(users_ids) > 10 and len(bots_ids) > 10

    await user.press("Delete this conversation")

    assert users_ids | bots_ids <= deleted_ids(fake)
    [left] = fake.visible(user.id)  # only the wipe's own answer
    assert left.by_bot and "deleted its copy of this conversation" in left.message["text"]
    assert OLDER_REMAIN not in left.message["text"]
    assert all(receipt not in s.message["text"] for s in fake.visible(user.id))


async def test_the_xoa_command_deletes_the_half_written_tip_and_itself(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5551002)
    await user.talk([*TIP_BY_TYPING, ("Cổng chợ", "what happened")])
    await user.say("/xoa")
    [left] = fake.visible(user.id)
    assert "Type /start to begin again" in left.message["text"]
    await user.talk([("hello", "Choose your language")])  # the state was forgotten too


async def test_after_a_restart_the_wipe_says_older_messages_may_remain(
    app: App, fake: FakeTelegram, settings: Settings, police: Police
) -> None:
    user = TelegramUser(fake, 5551003)
    async with polling(app, fake, settings):
        await user.talk(TIP_BY_TYPING[:3])
    async with polling(app, fake, settings):  # a new process knows no message ids
        await user.say("/xoa")
    assert OLDER_REMAIN in user.text
    before_restart = [s for s in fake.visible(user.id) if "Choose your language" in str(s.message)]
    assert before_restart, "messages from before the restart are still there"


async def test_messages_older_than_48_hours_are_not_deleted_and_the_user_is_told(
    app: App, fake: FakeTelegram, settings: Settings, police: Police
) -> None:
    now = [1_000_000.0]
    history = MessageLog(clock=lambda: now[0])
    user = TelegramUser(fake, 5551004)
    async with polling(app, fake, settings, history=history):
        await user.talk(TIP_BY_TYPING[:2])
        fake.age(user.id, 49 * 3600)
        now[0] += 49 * 3600
        await user.say("/xoa")
    assert OLDER_REMAIN in user.text
    assert any("Choose your language" in str(s.message) for s in fake.visible(user.id))
