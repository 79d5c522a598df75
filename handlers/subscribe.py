"""Subscribing to awareness messages: area, audience group, language, quiet hours.

A new subscriber goes province → commune → group → language → quiet hours → confirm. Someone
already subscribed sees their settings and can change one of them (saved at once), stop the
messages, receive them again, or be forgotten (the row is deleted). ``/stop``, "dừng" and
"huỷ đăng ký" stop at once from anywhere (:func:`stop`). The web chat cannot receive pushed
messages, so subscribing there points to Telegram and Zalo.

A subscription is kept apart from tips: nothing here reads or writes a tip, and the tip
flow never sees a subscription.
"""

from __future__ import annotations

from typing import Any

from handlers.flow import Input, Turn, step
from handlers.places import (
    ask_commune,
    ask_province,
    chosen_commune,
    chosen_province,
    please_choose,
)
from handlers.types import Button
from storage.subscriptions import QUIET_END, QUIET_START, Subscription, channel_of

__all__ = ["STOP_WORDS", "start", "stop"]

# Whole messages that stop the messages, compared casefolded with their diacritics: without
# them "dung" would also be "đúng" (right, yes).
STOP_WORDS = frozenset(
    {"dừng", "dừng lại", "huỷ đăng ký", "hủy đăng ký", "huy dang ky", "unsubscribe"}
)

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DRAFT = "subscription"


def _quiet_window() -> str:
    return f"{QUIET_START:%H:%M}–{QUIET_END:%H:%M}"


def _draft(turn: Turn) -> dict[str, Any]:
    draft: dict[str, Any] = turn.state.setdefault(DRAFT, {})
    return draft


def _subscription(draft: dict[str, Any]) -> Subscription:
    return Subscription(
        province_code=int(draft["province"]),
        commune_code=draft.get("commune"),
        group=str(draft["group"]),
        locale=str(draft["locale"]),
        quiet_hours=bool(draft.get("quiet_hours", True)),
        active=bool(draft.get("active", True)),
    )


def _from_subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        "province": subscription.province_code,
        "commune": subscription.commune_code,
        "group": subscription.group,
        "locale": subscription.locale,
        "quiet_hours": subscription.quiet_hours,
        "active": subscription.active,
        "return_to": "sub.settings",
    }


async def start(turn: Turn) -> None:
    """/dangky and the menu's button: the settings of a subscriber, or the first question."""
    _ = turn._
    if channel_of(turn.inbound.chat) is None:
        turn.say(
            _(
                "The web chat cannot receive messages later, so it cannot subscribe. To "
                "receive awareness messages, open Tipline on Telegram or Zalo and type /dangky "
                "there."
            )
        )
        turn.state["back"] = []
        turn.goto("menu", remember=False)
        return
    existing = await turn.conversation.subscriptions.get(turn.inbound.chat)
    if existing is not None:
        turn.state[DRAFT] = _from_subscription(existing)
        turn.goto("sub.settings")
        return
    turn.state[DRAFT] = {"locale": turn.locale, "quiet_hours": True, "return_to": None}
    turn.say(
        _(
            "Awareness messages: a few short messages a week during the Drug Prevention "
            "Action Month in June, and a few during the year, for your area and your "
            "situation. Tipline keeps only your area, group and language and, encrypted, "
            "where to send them; nothing links them to any tip. Type /stop at any time to "
            "stop them."
        )
    )
    turn.goto("sub.province")


async def stop(turn: Turn) -> None:
    """/stop, "dừng", "huỷ đăng ký": stop the messages at once, then carry on."""
    _ = turn._
    if await turn.conversation.subscriptions.stop(turn.inbound.chat):
        turn.say(
            _(
                "Done: you will not receive awareness messages any more. To receive them "
                "again, type /dangky; there you can also ask Tipline to forget your settings."
            )
        )
    else:
        turn.say(_("You are not receiving awareness messages, so there is nothing to stop."))
    if turn.step_name == "sub.settings":
        turn.state[DRAFT]["active"] = False
    turn.reprompt()


async def _advance(turn: Turn, next_step: str) -> None:
    """Go on with the setup, or save a change and return to where it was asked."""
    draft = _draft(turn)
    target = draft.get("return_to")
    if target == "sub.settings":
        await turn.conversation.subscriptions.save(turn.inbound.chat, _subscription(draft))
        turn.say(turn._("Saved."))
        turn.goto("sub.settings", remember=False)
    elif target == "sub.confirm":
        turn.goto("sub.confirm", remember=False)
    else:
        turn.goto(next_step)


# --- area ------------------------------------------------------------------------------------


async def province_prompt(turn: Turn) -> None:
    ask_province(turn, turn._("In which province or city do you live? Type its name or choose it."))


@step("sub.province", prompt=province_prompt)
async def province(turn: Turn, given: Input) -> None:
    chosen = chosen_province(turn, given)
    if chosen is None:
        return
    draft = _draft(turn)
    draft["province"] = chosen.code
    draft.pop("commune", None)
    turn.goto("sub.commune")


async def commune_prompt(turn: Turn) -> None:
    _ = turn._
    ask_commune(
        turn,
        _(
            "In which commune or ward (xã, phường)? Type its name; old names from before 2025 "
            "are fine too. Or choose the whole province."
        ),
        _("The whole province"),
    )


@step("sub.commune", prompt=commune_prompt)
async def commune(turn: Turn, given: Input) -> None:
    draft = _draft(turn)
    chosen = chosen_commune(turn, given, int(draft["province"]))
    if chosen is None:
        return
    draft["commune"] = chosen.code
    await _advance(turn, "sub.group")


# --- group, language, quiet hours ------------------------------------------------------------


async def group_prompt(turn: Turn) -> None:
    groups = turn.conversation.content.audience_groups
    turn.ask(
        turn._(
            "Which describes you best? Some messages are written for each group; messages "
            "for everyone come too."
        ),
        [[Button(g.label[turn.locale], f"group:{g.id}")] for g in groups],
    )


@step("sub.group", prompt=group_prompt)
async def group(turn: Turn, given: Input) -> None:
    chosen = None
    if given.payload and given.payload.startswith("group:"):
        chosen = turn.conversation.content.audience_group(given.payload.removeprefix("group:"))
    if chosen is None:
        please_choose(turn)
        return
    _draft(turn)["group"] = chosen.id
    await _advance(turn, "sub.language")


async def language_prompt(turn: Turn) -> None:
    turn.ask(
        turn._("In which language do you want the messages?"),
        [[Button(label, f"sublang:{code}") for code, label in LANGUAGES.items()]],
    )


@step("sub.language", prompt=language_prompt)
async def language(turn: Turn, given: Input) -> None:
    code = (given.payload or "").removeprefix("sublang:")
    if code not in LANGUAGES:
        please_choose(turn)
        return
    _draft(turn)["locale"] = code
    await _advance(turn, "sub.quiet")


async def quiet_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _(
            "Quiet hours: no messages from {window}? A message due then waits until "
            "{end} in the morning."
        ).format(window=_quiet_window(), end=f"{QUIET_END:%H:%M}"),
        [
            [Button(_("Yes, quiet at night (recommended)"), "quiet:on")],
            [Button(_("No, any time"), "quiet:off")],
        ],
    )


@step("sub.quiet", prompt=quiet_prompt)
async def quiet(turn: Turn, given: Input) -> None:
    if given.payload not in ("quiet:on", "quiet:off"):
        please_choose(turn)
        return
    _draft(turn)["quiet_hours"] = given.payload == "quiet:on"
    await _advance(turn, "sub.confirm")


# --- confirm, settings, forget ---------------------------------------------------------------


def _summary(turn: Turn, draft: dict[str, Any]) -> list[str]:
    _ = turn._
    directory = turn.conversation.directory
    province_ = directory.province(int(draft.get("province") or 0))
    commune_code = draft.get("commune")
    commune_ = directory.commune(int(commune_code)) if commune_code else None
    group_ = turn.conversation.content.audience_group(str(draft.get("group")))
    return [
        _("Area: {commune}, {province}").format(
            commune=commune_.name if commune_ else _("the whole province"),
            province=province_.short_name if province_ else "—",
        ),
        _("Group: {value}").format(value=group_.label[turn.locale] if group_ else "—"),
        _("Language: {value}").format(value=LANGUAGES.get(str(draft.get("locale")), "—")),
        (
            _("Quiet hours {window}: on").format(window=_quiet_window())
            if draft.get("quiet_hours", True)
            else _("Quiet hours {window}: off").format(window=_quiet_window())
        ),
    ]


async def confirm_prompt(turn: Turn) -> None:
    _ = turn._
    draft = _draft(turn)
    draft["return_to"] = None
    turn.ask(
        "\n".join([_("Please check your subscription:"), "", *_summary(turn, draft)]),
        [
            [Button(_("Subscribe"), "sub:save")],
            [Button(_("Change something"), "sub:change")],
            [Button(_("Cancel"), "g:cancel")],
        ],
    )


@step("sub.confirm", prompt=confirm_prompt)
async def confirm(turn: Turn, given: Input) -> None:
    _ = turn._
    draft = _draft(turn)
    if given.payload == "sub:change":
        draft["return_to"] = "sub.confirm"
        turn.goto("sub.change")
        return
    if given.payload != "sub:save":
        please_choose(turn)
        return
    await turn.conversation.subscriptions.save(turn.inbound.chat, _subscription(draft))
    turn.state.pop(DRAFT, None)
    turn.say(
        _(
            "You are subscribed. Thank you! Type /dangky to see or change your settings, "
            "/stop to stop the messages."
        )
    )
    turn.state["back"] = []
    turn.goto("menu", remember=False)


async def change_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _("What do you want to change?"),
        [
            [Button(_("Area"), "change:area")],
            [Button(_("Group"), "change:group")],
            [Button(_("Language of the messages"), "change:language")],
            [Button(_("Quiet hours"), "change:quiet")],
        ],
    )


CHANGES = {
    "change:area": "sub.province",
    "change:group": "sub.group",
    "change:language": "sub.language",
    "change:quiet": "sub.quiet",
}


@step("sub.change", prompt=change_prompt)
async def change(turn: Turn, given: Input) -> None:
    target = CHANGES.get(given.payload or "")
    if target is None:
        please_choose(turn)
        return
    turn.goto(target)


async def settings_prompt(turn: Turn) -> None:
    _ = turn._
    draft = _draft(turn)
    draft["return_to"] = "sub.settings"
    active = bool(draft.get("active", True))
    status = (
        _("You receive awareness messages.")
        if active
        else _("Your awareness messages are stopped.")
    )
    switch = (
        Button(_("Stop the messages"), "sub:stop")
        if active
        else Button(_("Receive messages again"), "sub:resume")
    )
    turn.ask(
        "\n".join([status, "", *_summary(turn, draft)]),
        [
            [Button(_("Change something"), "sub:change")],
            [switch],
            [Button(_("Forget my subscription"), "sub:forget")],
            [Button(_("Main menu"), "g:menu")],
        ],
    )


@step("sub.settings", prompt=settings_prompt)
async def settings(turn: Turn, given: Input) -> None:
    _ = turn._
    draft = _draft(turn)
    match given.payload:
        case "sub:change":
            turn.goto("sub.change")
        case "sub:stop":
            await stop(turn)
        case "sub:resume":
            draft["active"] = True
            await turn.conversation.subscriptions.save(turn.inbound.chat, _subscription(draft))
            turn.say(_("Welcome back: you will receive awareness messages again."))
            turn.reprompt()
        case "sub:forget":
            turn.goto("sub.forget")
        case _unknown:
            please_choose(turn)


async def forget_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _(
            "Forget your subscription? Your area, group, language and address are deleted "
            "and no more messages come. This cannot be undone."
        ),
        [[Button(_("Yes, forget me"), "yes"), Button(_("No, keep it"), "no")]],
    )


@step("sub.forget", prompt=forget_prompt)
async def forget(turn: Turn, given: Input) -> None:
    _ = turn._
    if given.payload == "yes":
        await turn.conversation.subscriptions.forget(turn.inbound.chat)
        turn.state.pop(DRAFT, None)
        turn.say(
            _(
                "Your subscription was deleted: Tipline no longer knows your area, group or "
                "address. Type /dangky if you ever want messages again."
            )
        )
        turn.state["back"] = []
        turn.goto("menu", remember=False)
    elif given.payload == "no":
        turn.go_back()
    else:
        please_choose(turn)
