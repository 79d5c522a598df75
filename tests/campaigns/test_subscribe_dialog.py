"""Subscribing in the conversation: by typing, by buttons, seeing and changing settings,
stopping with /stop or "dừng", being forgotten, and the web chat's refusal."""

from __future__ import annotations

from sqlalchemy import inspect, select

from bot.bootstrap import App
from storage.models import Subscriber, Tip
from storage.subscriptions import Subscription
from tests.conftest import BA_DINH, HANOI, Police
from tests.dialog import Chat


async def telegram_chat(app: App, chat_id: int = 5001, language: str = "English") -> Chat:
    chat = Chat(app, key=f"tg:{chat_id}")
    await chat.send("/start")
    await chat.press(language)
    return chat


async def test_subscribing_by_typing_only(app: App) -> None:
    chat = await telegram_chat(app)
    await chat.talk(
        [
            ("/dangky", "In which province or city do you live?"),
            ("ha noi", "In which commune or ward"),
            ("ba dinh", "Which of these is it?"),
            ("1", "Which describes you best?"),
            ("2", "In which language do you want the messages?"),
            ("english", "Quiet hours: no messages from 21:00–07:00?"),
            ("1", "Please check your subscription"),
            ("subscribe", "You are subscribed"),
        ]
    )
    assert "What would you like to do?" in chat.text
    assert await app.subscriptions.get(chat.key) == Subscription(
        province_code=HANOI,
        commune_code=BA_DINH,
        group="parents",
        locale="en",
        quiet_hours=True,
    )


async def test_subscribing_with_buttons_in_vietnamese(app: App) -> None:
    chat = await telegram_chat(app, language="Tiếng Việt")
    await chat.talk(
        [
            ("[Đăng ký nhận tin]", "Bạn sống ở tỉnh, thành phố nào?"),
            ("[Hà Nội]", "Ở xã, phường nào?"),
            ("[Cả tỉnh]", "Bạn thuộc nhóm nào?"),
            ("[Công nhân]", "ngôn ngữ nào"),
            ("[Tiếng Việt]", "Giờ yên tĩnh"),
            ("[giờ nào cũng được]", "Vui lòng kiểm tra thông tin đăng ký"),
            ("[Đăng ký]", "Bạn đã đăng ký"),
        ]
    )
    assert await app.subscriptions.get(chat.key) == Subscription(
        province_code=HANOI, commune_code=None, group="workers", locale="vi", quiet_hours=False
    )


async def test_the_summary_can_be_corrected_before_subscribing(app: App) -> None:
    chat = await telegram_chat(app)
    await chat.talk(
        [
            ("/subscribe", "province"),
            ("Đà Nẵng", "commune or ward"),
            ("[The whole province]", "describes you best"),
            ("[Pupils]", "language"),
            ("[English]", "Quiet hours"),
            ("[Yes, quiet at night]", "Area: the whole province, Đà Nẵng"),
            ("[Change something]", "What do you want to change?"),
            ("[Group]", "describes you best"),
            ("[Parents]", "Group: Parents and carers of children"),
            ("[Subscribe]", "You are subscribed"),
        ]
    )
    saved = await app.subscriptions.get(chat.key)
    assert saved is not None and saved.group == "parents" and saved.province_code == 48


async def test_a_subscriber_sees_and_changes_settings_saved_at_once(app: App) -> None:
    chat = await telegram_chat(app)
    await app.subscriptions.save(chat.key, Subscription(HANOI, None, "general", "en"))
    await chat.talk(
        [
            ("/dangky", "You receive awareness messages."),
            ("[Change something]", "What do you want to change?"),
            ("[Quiet hours]", "Quiet hours: no messages"),
            ("[No, any time]", "Saved."),
        ]
    )
    assert "Quiet hours 21:00–07:00: off" in chat.text
    await chat.talk(
        [
            ("[Change something]", "change"),
            ("[Area]", "province"),
            ("hue", "commune or ward"),
            ("[The whole province]", "Saved."),
        ]
    )
    assert await app.subscriptions.get(chat.key) == Subscription(
        province_code=46, commune_code=None, group="general", locale="en", quiet_hours=False
    )


async def test_stop_and_dung_unsubscribe_at_once_from_anywhere(app: App) -> None:
    chat = await telegram_chat(app)
    for word in ("/stop", "dừng", "Huỷ đăng ký", "hủy đăng ký", "unsubscribe", "/unsubscribe"):
        await app.subscriptions.save(chat.key, Subscription(HANOI, None, "general", "en"))
        await chat.send("/tobao")  # in the middle of something else
        await chat.send(word)
        assert "you will not receive awareness messages any more" in chat.text, word
        assert "1. Continue" in chat.text, "the tip goes on where it was"
        saved = await app.subscriptions.get(chat.key)
        assert saved is not None and not saved.active, word
    await chat.talk([("/stop", "nothing to stop")])


async def test_words_that_only_look_like_dung_do_not_unsubscribe(app: App) -> None:
    chat = await telegram_chat(app)
    await app.subscriptions.save(chat.key, Subscription(HANOI, None, "general", "vi"))
    for word in ("đúng", "dung", "dùng", "stop it"):
        await chat.send(word)
        assert (await app.subscriptions.get(chat.key)).active, word  # type: ignore[union-attr]


async def test_a_stopped_subscriber_can_receive_again(app: App) -> None:
    chat = await telegram_chat(app)
    await app.subscriptions.save(chat.key, Subscription(HANOI, None, "general", "en"))
    await chat.talk(
        [
            ("/dangky", "Stop the messages"),
            ("[Stop the messages]", "you will not receive awareness messages any more"),
            ("[Receive messages again]", "Welcome back"),
        ]
    )
    assert "You receive awareness messages." in chat.text
    assert (await app.subscriptions.get(chat.key)).active  # type: ignore[union-attr]


async def test_forget_me_deletes_the_subscription_after_confirming(app: App) -> None:
    chat = await telegram_chat(app)
    await app.subscriptions.save(chat.key, Subscription(HANOI, BA_DINH, "parents", "en"))
    await chat.talk(
        [
            ("/dangky", "Forget my subscription"),
            ("[Forget my subscription]", "This cannot be undone"),
            ("[No, keep it]", "You receive awareness messages."),
            ("[Forget my subscription]", "This cannot be undone"),
            ("[Yes, forget me]", "Your subscription was deleted"),
        ]
    )
    assert await app.subscriptions.get(chat.key) is None
    async with app.db.sessions() as session:
        assert (await session.scalars(select(Subscriber))).all() == []
    await chat.talk([("/dangky", "In which province or city do you live?")])


async def test_the_web_chat_cannot_subscribe(app: App) -> None:
    chat = Chat(app)  # a web chat key
    await chat.send("/start")
    await chat.press("English")
    await chat.talk([("/dangky", "open Tipline on Telegram or Zalo"), ("/stop", "nothing to stop")])
    assert await app.subscriptions.count(active=None) == 0


async def test_a_subscription_never_links_to_a_tip(app: App, police: Police) -> None:
    from tests.flow.helpers import send_tip

    await send_tip(app)  # the same person also sent a tip from the web chat
    chat = await telegram_chat(app)
    await app.subscriptions.save(chat.key, Subscription(HANOI, BA_DINH, "general", "en"))
    columns = {c.name for c in inspect(Subscriber).columns}
    assert not {c for c in columns if "tip" in c}
    assert not inspect(Subscriber).relationships
    assert not [fk for fk in Subscriber.__table__.foreign_keys]
    assert not [fk for fk in Tip.__table__.foreign_keys if fk.column.table.name == "subscribers"]
    async with app.db.sessions() as session:
        row = (await session.scalars(select(Subscriber))).one()
    # The chat id is never stored in the clear.
    assert b"5001" not in row.address and b"5001" not in row.lookup
    assert app.subscriptions.addresses.open(row.address, row.lookup) == "tg:5001"
