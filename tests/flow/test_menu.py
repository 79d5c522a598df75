"""The main menu: language, learning, emergency, subscriptions, and wiping the chat."""

from __future__ import annotations

from bot.bootstrap import App
from tests.conftest import Police
from tests.dialog import Chat, english_chat


async def test_learn_topics_are_browsable_by_number_and_by_button(app: App) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("[Learn about drugs]", "what would you like to read about"),
            ("1", "How Tipline protects you"),
            ("[psychosis]", "113"),
            ("[Main menu]", "what would you like to do"),
        ]
    )


async def test_emergency_says_113_and_115_at_once(app: App) -> None:
    chat = await english_chat(app)
    await chat.talk([("[Emergency]", "113")])
    assert "115" in chat.text
    await chat.talk([("/khancap", "113")])


async def test_subscribing_in_the_web_chat_points_to_telegram_and_zalo(app: App) -> None:
    chat = await english_chat(app)
    await chat.talk([("[Subscribe]", "Telegram or Zalo"), ("/dangky", "Telegram or Zalo")])
    assert await app.subscriptions.count(active=None) == 0


async def test_the_language_can_be_changed_at_any_time(app: App) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("[Language]", "Chọn ngôn ngữ"),
            ("[Tiếng Việt]", "Bạn muốn làm gì?"),
            ("/start", "Choose your language"),
            ("2", "What would you like to do?"),
        ]
    )


async def test_wiping_forgets_the_chat_and_the_draft(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk([("/tobao", "16-digit"), ("1", "what is the tip"), ("1", "province")])
    keys = await app.conversation.chat_keys(chat.key)
    assert await app.states.load(keys) is not None
    await chat.send("/xoa")
    assert [r.kind for r in chat.replies] == ["wipe"]
    assert await app.states.load(keys) is None
    fresh = Chat(app, key=chat.key)
    await fresh.send("hello")
    assert "Choose your language" in fresh.text


async def test_after_a_tip_the_wipe_button_deletes_the_conversation(
    app: App, police: Police
) -> None:
    from tests.flow.helpers import send_tip

    chat, _ = await send_tip(app)
    assert any(r.sensitive and r.kind == "receipt" for r in chat.replies)
    await chat.press("Delete this conversation")
    assert chat.replies[0].kind == "wipe"
    keys = await app.conversation.chat_keys(chat.key)
    assert await app.states.load(keys) is None
