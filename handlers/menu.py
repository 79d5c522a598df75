"""Greeting, language, the main menu and the learn section."""

from __future__ import annotations

from handlers.flow import Input, Turn, step
from handlers.places import please_choose
from handlers.types import Button

__all__: list[str] = []


async def language_prompt(turn: Turn) -> None:
    turn.ask(
        "Xin chào! Đây là kênh tin báo tội phạm ma túy ẩn danh.\n"
        "Hello! This is an anonymous drug-crime tip line.\n\n"
        "Chọn ngôn ngữ / Choose your language:",
        [[Button("Tiếng Việt", "lang:vi"), Button("English", "lang:en")]],
    )


@step("language", prompt=language_prompt)
async def language(turn: Turn, given: Input) -> None:
    if given.payload in ("lang:vi", "lang:en"):
        turn.state["locale"] = given.payload.removeprefix("lang:")
    turn.goto("menu", remember=False)
    turn.state["back"] = []


async def menu_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _("What would you like to do?"),
        [
            [Button(_("Send an anonymous tip"), "menu:report")],
            [Button(_("Check a tip with my receipt"), "menu:check")],
            [Button(_("Subscribe to awareness messages"), "menu:subscribe")],
            [Button(_("Learn about drugs and the law"), "menu:learn")],
            [Button(_("Emergency: someone is in danger"), "menu:emergency")],
            [Button(_("Language: Tiếng Việt / English"), "menu:language")],
        ],
    )


@step("menu", prompt=menu_prompt)
async def main_menu(turn: Turn, given: Input) -> None:
    from handlers import report, subscribe

    _ = turn._
    match given.payload:
        case "menu:report":
            await report.start(turn)
        case "menu:check":
            turn.goto("check.receipt")
        case "menu:subscribe":
            await subscribe.start(turn)
        case "menu:learn":
            turn.goto("learn")
        case "menu:emergency":
            turn.say(turn.conversation.content.help_text("emergency", turn.locale))
            turn.reprompt()
        case "menu:language":
            turn.goto("language")
        case _unknown:
            please_choose(turn)


async def learn_prompt(turn: Turn) -> None:
    _ = turn._
    topics = turn.conversation.content.topics
    turn.ask(
        _("What would you like to read about?"),
        [[Button(t.title[turn.locale], f"learn:{t.id}")] for t in topics]
        + [[Button(_("Main menu"), "g:menu")]],
    )


@step("learn", prompt=learn_prompt)
async def learn(turn: Turn, given: Input) -> None:
    _ = turn._
    topic = None
    if given.payload and given.payload.startswith("learn:"):
        topic = turn.conversation.content.topic(given.payload.removeprefix("learn:"))
    if topic is None:
        please_choose(turn)
        return
    turn.say(f"{topic.title[turn.locale]}\n\n{topic.body[turn.locale]}")
    turn.reprompt()
