"""A citizen sends a tip by buttons or by typing, changes it, and gets a receipt."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from bot.bootstrap import App
from storage.state import ChatKeys
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, Police
from tests.dialog import Chat, english_chat
from tests.flow.helpers import tip_to_review


async def opened_tips(app: App) -> list:
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    summaries = await app.casework.list_tips(officer)
    return [await app.casework.open_tip(officer, t.tip_id) for t in summaries]


async def test_a_tip_typed_with_numbers_and_words_reaches_the_commune_queue(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("1", "16-digit receipt"),  # menu: send a tip -> anonymity notice
            ("continue", "what is the tip about"),
            ("1", "in which province"),  # category: dealing
            ("ha noi", "which commune"),
            ("phuong ba dinh", "Phường Ba Đình"),
            ("1", "when did it happen"),
            ("it happens regularly", "where exactly"),
            ("Quán nước đầu ngõ 12, cạnh cột điện", "what happened"),
            ("A man sells meth from a red scooter", "added"),
            ("Most nights after 22:00", "added"),
            ("done", "photos"),
            ("done", "check your tip"),
            ("send", "your receipt"),
        ]
    )
    receipt = chat.receipt()
    assert "delete this conversation" in chat.text.casefold() or chat.buttons
    [tip] = await opened_tips(app)
    assert tip.queue_id == police.queues[BA_DINH]
    assert tip.commune_code == BA_DINH and tip.province_code == HANOI
    assert tip.category == "trading"
    assert tip.content["when"] == "recurring"
    assert tip.content["where"] == "Quán nước đầu ngõ 12, cạnh cột điện"
    assert tip.content["description"] == [
        "A man sells meth from a red scooter",
        "Most nights after 22:00",
    ]
    assert receipt.replace(" ", "") not in str(tip.content)


async def test_a_tip_by_buttons_only(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("[Send an anonymous tip]", "16-digit receipt"),
            ("[Continue]", "what is the tip about"),
            ("[hotspot]", "in which province"),
            ("[Hà Nội]", "which commune"),
            ("Hoan Kiem", "which of these"),
            ("[Phường Hoàn Kiếm]", "when did it happen"),
            ("[Happening now]", "where exactly"),
            ("[Skip]", "what happened"),
            ("People gather to use drugs behind the market", "added"),
            ("[Done]", "photos"),
            ("[Done]", "check your tip"),
            ("[Send the tip]", "your receipt"),
        ]
    )
    [tip] = await opened_tips(app)
    assert tip.queue_id == police.queues[HOAN_KIEM]
    assert tip.category == "hotspot"


async def test_a_commune_without_its_own_queue_falls_back_to_the_province(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("3", "province"),
            ("Hà Nội", "commune"),
            ("Tây Hồ", "which of these"),
            ("1", "when"),
            ("3", "where"),
            ("skip", "what happened"),
            ("Drugs hidden in a garage", "added"),
            ("done", "photos"),
            ("done", "check"),
            ("send", "receipt"),
        ]
    )
    [tip] = await opened_tips(app)
    assert tip.queue_id == police.queues[None]
    assert tip.commune_code is not None and tip.commune_code not in (BA_DINH, HOAN_KIEM)


async def test_i_dont_know_the_commune_goes_to_the_province_queue(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("[Continue]", "what is the tip"),
            ("[Other]", "province"),
            ("ha noi", "commune"),
            ("[I don't know the commune]", "when"),
            ("2", "where"),
            ("skip", "what happened"),
            ("Something odd", "added"),
            ("done", "photos"),
            ("done", "commune not known"),
            ("send", "receipt"),
        ]
    )
    [tip] = await opened_tips(app)
    assert tip.queue_id == police.queues[None] and tip.commune_code is None


async def test_an_old_pre_2025_address_maps_to_the_current_commune(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("[Continue]", "what is the tip"),
            ("1", "province"),
            ("Hà Nội", "commune"),
            ("phuong trang tien", "formerly"),
        ]
    )
    await chat.press("Hoàn Kiếm")
    assert "when did it happen" in chat.text.casefold()


async def test_the_dangerous_user_category_says_call_113_first(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk([("/tobao", "16-digit receipt"), ("[Continue]", "what is the tip")])
    await chat.press("danger")
    assert "113" in chat.text
    await chat.talk([("[Continue the tip]", "province")])


async def test_review_edit_changes_one_part_and_returns_to_review(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("ba dinh", "which of these"),
            ("1", "when"),
            ("1", "where"),
            ("Chợ đêm", "what happened"),
            ("First version", "added"),
            ("done", "photos"),
            ("done", "first version"),
            ("[Change something]", "what do you want to change"),
            ("[What happened]", "what happened"),
            ("Second version", "added"),
            ("done", "check your tip"),
        ]
    )
    assert "Second version" in chat.text and "First version" not in chat.text
    await chat.talk(
        [
            ("[Change something]", "change"),
            ("[When]", "when did it happen"),
            ("[Before today]", "check your tip"),
        ]
    )
    assert "Before today" in chat.text
    await chat.talk([("[Send the tip]", "receipt")])
    [tip] = await opened_tips(app)
    assert tip.content["description"] == ["Second version"]
    assert tip.content["when"] == "earlier"


async def test_back_returns_to_the_previous_question_and_keeps_answers(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("back", "province"),
            ("quay lại", "what is the tip"),
            ("2", "province"),
            ("ha noi", "commune"),
        ]
    )
    state = await app.states.load(await chat_keys(app, chat))
    assert state is not None and state["draft"]["category"] == "transporting"


async def chat_keys(app: App, chat: Chat) -> ChatKeys:
    return await app.conversation.chat_keys(chat.key)


async def test_cancel_asks_before_deleting_a_written_tip(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("[I don't know]", "when"),
            ("1", "where"),
            ("Near the bridge", "what happened"),
            ("cancel", "cancel this tip"),
            ("[No, continue]", "what happened"),
            ("Something happened", "added"),
            ("huỷ", "cancel this tip"),
            ("[Yes, delete it]", "nothing was sent"),
        ]
    )
    assert "what would you like to do" in chat.text.casefold()
    state = await app.states.load(await chat_keys(app, chat))
    assert state is not None and not state.get("draft")


async def test_help_works_in_the_middle_of_a_tip_and_keeps_the_step(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("help", "/kiemtra"),
        ]
    )
    assert "what is the tip about" in chat.text.casefold()


async def test_a_province_without_a_police_queue_is_refused_politely(
    app: App, police: Police
) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("Cần Thơ", "does not reach the police"),
            ("Hà Nội", "commune"),
        ]
    )


async def test_vietnamese_is_the_default_language(app: App, police: Police) -> None:
    chat = Chat(app)
    await chat.send("xin chào")
    await chat.press("Tiếng Việt")
    assert "Gửi tin báo ẩn danh" in [label for label, _ in chat.buttons]
    await chat.talk([("1", "mã biên nhận"), ("tiep tuc", "về việc gì")])


async def test_a_tip_filed_just_before_a_crash_is_not_filed_twice(app: App, police: Police) -> None:
    """The tip is filed, then the database refuses the conversation's own save (as when the
    process dies between the two): pressing "send" again shows the same receipt and files
    nothing more."""
    chat = await tip_to_review(app, "Filed once only")
    saves: list[str] = []

    def refuse_the_save_after_filing(_conn, _cursor, statement, parameters, _ctx, _many):  # type: ignore[no-untyped-def]
        if "INSERT INTO tips" in statement:
            saves.append("tip")
        elif "INSERT INTO conversation_states" in statement and saves == ["tip"]:
            saves.append("refused")
            raise ConnectionResetError("the process died here")
        return statement, parameters

    engine = app.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", refuse_the_save_after_filing, retval=True)
    try:
        with pytest.raises(Exception):  # noqa: B017 (whatever the driver makes of it)
            await chat.send("send")
    finally:
        event.remove(engine, "before_cursor_execute", refuse_the_save_after_filing)
    assert saves == ["tip", "refused"]

    await chat.send("help")
    assert "check your tip" in chat.text.casefold(), "the chat is still at the review"
    await chat.send("send")
    receipt = chat.receipt()
    [tip] = await opened_tips(app)
    assert tip.content["description"] == ["Filed once only"]
    view = await app.vault.check(receipt.replace(" ", ""))
    assert view is not None and view.tip_id == tip.tip_id, "the receipt shown opens that tip"
