"""Coming back with a receipt: the tip's status, the police's questions, an anonymous answer.

Wrong receipts are throttled per chat (counters in memory or Redis) and all get the same
answer. The open receipt, and the step of a check, are kept in memory only (see
:class:`handlers.conversation.FollowUp` and :data:`handlers.conversation.PRIVATE_STEPS`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from handlers.flow import Input, Turn, step
from handlers.places import please_choose
from handlers.types import Button
from storage import sealing
from storage.vault import UntrustedKey

__all__: list[str] = []

STATUS_PURPOSE = "receipt"
ALL_CHATS = "*"


def _status_label(turn: Turn, status: str) -> str:
    _ = turn._
    return {
        "new": _("received, waiting to be reviewed"),
        "in_review": _("being reviewed by the police"),
        "actioned": _("action taken"),
        "closed": _("closed"),
    }.get(status, status)


async def receipt_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _("Type your 16-digit receipt. It is not stored and it is not shown back to you."),
        [[Button(_("Main menu"), "g:menu")]],
    )


@step("check.receipt", prompt=receipt_prompt)
async def receipt(turn: Turn, given: Input) -> None:
    if not given.text:
        turn.say(turn._("Please type the 16 digits of your receipt."))
        turn.reprompt()
        return
    first = len(turn.replies)
    await _check(turn, given.text)
    # The typed receipt should not stay on the screen of the phone in a pocket.
    turn.replies[first] = replace(turn.replies[first], erase_input=True)


async def _check(turn: Turn, typed: str) -> None:
    _ = turn._
    conversation = turn.conversation
    limits = conversation.limits
    allowed, wait = await conversation.throttle.allow(
        turn.inbound.chat, STATUS_PURPOSE, limits.receipt_attempts, limits.receipt_window
    )
    if allowed:
        # A cap for all chats together: a new web chat session costs nothing.
        allowed, wait = await conversation.throttle.allow(
            ALL_CHATS, STATUS_PURPOSE, limits.receipt_checks_per_minute, timedelta(minutes=1)
        )
    if not allowed:
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        turn.say(
            _("Too many attempts. Please wait {minutes} minutes and try again.").format(
                minutes=minutes
            )
        )
        turn.reprompt()
        return
    digits = sealing.parse_receipt(typed)
    started = time.perf_counter()
    view = await conversation.desk.check(digits) if digits else None
    turn.untimed_seconds += time.perf_counter() - started
    if view is None:
        turn.say(_("No tip matches this receipt. Check the digits and try again."))
        turn.reprompt()
        return
    await conversation.throttle.reset(turn.inbound.chat, STATUS_PURPOSE)
    conversation.open_followup(turn.chat, view.tip_id, view.receipt)
    category = conversation.content.category(view.category)
    lines = [
        _("Tip of {date}: {category}").format(
            date=view.received_at.strftime("%d/%m/%Y"),
            category=category.label[turn.locale] if category else view.category,
        ),
        _("Status: {status}").format(status=_status_label(turn, view.status)),
    ]
    if view.messages:
        lines.append("")
        for message in view.messages:
            who = _("Police") if message.author == "police" else _("You")
            lines.append(f"{who}: {message.text}")
    else:
        lines.append(_("No questions from the police yet."))
    turn.say("\n".join(lines))
    turn.goto("check.view")


async def view_prompt(turn: Turn) -> None:
    _ = turn._
    if turn.conversation.followup(turn.chat) is None:
        turn.ask(
            _(
                "For your safety, the tip you opened was closed. "
                "Type your receipt again to continue."
            ),
            [[Button(_("Main menu"), "g:menu")]],
        )
        turn.state["step"] = "check.receipt"
        return
    turn.ask(
        _("You can answer the police anonymously."),
        [[Button(_("Write an answer"), "reply")], [Button(_("Main menu"), "g:menu")]],
    )


@step("check.view", prompt=view_prompt)
async def view(turn: Turn, given: Input) -> None:
    if turn.conversation.followup(turn.chat) is None:
        turn.reprompt()
        return
    if given.payload == "reply":
        turn.goto("check.reply")
    else:
        please_choose(turn)


async def reply_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _(
            "Write your answer in one message. Do not include your name or anything that "
            "identifies you."
        ),
        [[Button(_("Cancel"), "g:menu")]],
    )


@step("check.reply", prompt=reply_prompt, stores_text=True)
async def reply(turn: Turn, given: Input) -> None:
    _ = turn._
    session = turn.conversation.followup(turn.chat)
    if session is None:
        turn.goto("check.view", remember=False)
        return
    if not given.text:
        turn.say(_("Please write your answer as text."))
        turn.reprompt()
        return
    if sealing.looks_like_receipt(given.text):
        turn.say(
            _(
                "This message looks like a receipt number. Never send your receipt in a "
                "message: it was not saved. Please write it again without the number."
            )
        )
        turn.reprompt()
        return
    try:
        await turn.conversation.desk.reply(session.tip_id, session.keys, given.text)
    except UntrustedKey:
        # A police key failed its check: nothing was stored (the operator's log says which).
        turn.say(
            _(
                "Your answer cannot be sent safely right now, so it was not sent and not "
                "kept. Please write it again later."
            )
        )
        turn.reprompt()
        return
    turn.say(_("Your answer was sent to the police anonymously. Thank you."))
    turn.goto("check.view", remember=False)
