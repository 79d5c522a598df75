"""A reporter comes back with the receipt, reads the police's question and answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.bootstrap import App
from handlers.conversation import Limits
from tests.conftest import OFFICER, OFFICER_PASSWORD, Police
from tests.dialog import english_chat
from tests.flow.helpers import send_tip


async def test_the_reporter_reads_a_police_question_and_answers_anonymously(
    app: App, police: Police
) -> None:
    _, receipt = await send_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    await app.casework.ask_reporter(officer, summary.tip_id, "What colour is the scooter?")

    later = await english_chat(app)  # another device, another chat
    await later.talk(
        [
            ("[Check a tip with my receipt]", "16-digit receipt"),
            (receipt, "Status: received, waiting to be reviewed"),
            ("[Main menu]", "what would you like to do"),
            ("[Check a tip]", "16-digit receipt"),
            (receipt, "Police: What colour is the scooter?"),
            ("[Write an answer]", "write your answer"),
            ("Red, a Honda Wave", "sent to the police"),
        ]
    )
    opened = await app.casework.open_tip(officer, summary.tip_id)
    assert [(m.author, m.text) for m in opened.messages] == [
        ("police", "What colour is the scooter?"),
        ("reporter", "Red, a Honda Wave"),
    ]


async def test_a_receipt_with_dashes_or_without_spaces_works(app: App, police: Police) -> None:
    _, receipt = await send_tip(app)
    chat = await english_chat(app)
    await chat.talk([("/kiemtra", "16-digit"), (receipt.replace(" ", "-"), "status")])
    assert chat.replies[0].erase_input and not chat.replies[-1].erase_input
    chat2 = await english_chat(app)
    await chat2.talk([("/kiemtra", "16-digit"), (receipt.replace(" ", ""), "status")])


async def test_a_wrong_receipt_gets_the_same_answer_whether_or_not_it_is_well_formed(
    app: App, police: Police
) -> None:
    _, receipt = await send_tip(app)
    chat = await english_chat(app)
    digits = receipt.replace(" ", "")
    typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)  # fails the check digit
    valid_other = "4111 1111 1111 1111"  # Luhn-valid, no such tip
    answers = []
    for attempt in (typo, valid_other, "hello"):
        await chat.send("/kiemtra")
        await chat.send(attempt)
        answers.append(chat.replies[0].text)
    assert answers[0] == answers[1] == answers[2]
    assert "no tip matches" in answers[0].casefold()


async def test_wrong_receipts_are_throttled_even_for_a_right_one_after(
    app: App, police: Police
) -> None:
    _, receipt = await send_tip(app)
    chat = await english_chat(app)
    await chat.send("/kiemtra")
    for _ in range(Limits().receipt_attempts):
        await chat.send("1234 5678 9012 3456")
        assert "no tip matches" in chat.text.casefold()
    await chat.send(receipt)
    assert "too many attempts" in chat.text.casefold()
    assert "status" not in chat.text.casefold()


async def test_the_open_receipt_is_forgotten_after_its_time(app: App, police: Police) -> None:
    _, receipt = await send_tip(app)
    app.conversation.limits = Limits(followup_ttl=timedelta(milliseconds=300))
    chat = await english_chat(app)
    await chat.talk([("/kiemtra", "16-digit"), (receipt, "status")])
    await asyncio.sleep(0.4)
    await chat.send("1")
    assert "type your receipt again" in chat.text.casefold()
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    opened = await app.casework.open_tip(officer, summary.tip_id)
    assert opened.messages == []


async def test_new_sessions_cannot_get_around_the_receipt_limit(app: App, police: Police) -> None:
    app.conversation.limits = Limits(receipt_checks_per_minute=3)
    _, receipt = await send_tip(app)
    for _ in range(3):
        chat = await english_chat(app)  # a fresh web chat session each time
        await chat.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "no tip matches")])
    chat = await english_chat(app)
    await chat.talk([("/kiemtra", "16-digit"), (receipt, "too many attempts")])
