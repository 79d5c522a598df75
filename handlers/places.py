"""Choosing a province and a commune, by button or by typing (old names too).

Shared by the tip flow and the subscription flow: each step supplies its own question and
its own "no commune" choice, and these helpers do the matching, the "which of these did
you mean?" lists and the error messages. The candidates offered are kept in the state
(``province_matches``, ``commune_matches``) so that a restart resumes the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.flow import Input, Turn
from handlers.types import Button
from storage.directory import ProvinceInfo

__all__ = [
    "CommuneChoice",
    "ask_commune",
    "ask_province",
    "chosen_commune",
    "chosen_province",
    "please_choose",
]

PROVINCE_MATCHES = "province_matches"
COMMUNE_MATCHES = "commune_matches"
NO_COMMUNE = "commune:unknown"


def please_choose(turn: Turn) -> None:
    turn.say(turn._("Please choose one of the options, or type its number."))
    turn.reprompt()


def ask_province(turn: Turn, question: str) -> None:
    """Offer every province, or the candidates for what was typed last."""
    _ = turn._
    matches: list[int] = turn.state.get(PROVINCE_MATCHES) or []
    directory = turn.conversation.directory
    provinces = (
        [p for p in (directory.province(code) for code in matches) if p is not None]
        if matches
        else directory.provinces()
    )
    text = _("Which of these did you mean?") if matches else question
    turn.ask(text, [[Button(p.short_name, f"prov:{p.code}")] for p in provinces])


def chosen_province(turn: Turn, given: Input) -> ProvinceInfo | None:
    """The province pressed or typed; None when the step asks again (having said why)."""
    _ = turn._
    directory = turn.conversation.directory
    code: int | None = None
    if given.payload and given.payload.startswith("prov:"):
        code = int(given.payload.removeprefix("prov:"))
    elif given.text:
        found = directory.match_province(given.text)
        if len(found) == 1:
            code = found[0].code
        elif found:
            turn.state[PROVINCE_MATCHES] = [p.code for p in found]
            turn.reprompt()
            return None
        else:
            turn.state.pop(PROVINCE_MATCHES, None)
            turn.say(
                _(
                    "I could not find a province called “{name}”. Please check the name "
                    "or choose from the list."
                ).format(name=given.text[:80])
            )
            turn.reprompt()
            return None
    chosen = directory.province(code) if code is not None else None
    if chosen is None:
        please_choose(turn)
        return None
    turn.state.pop(PROVINCE_MATCHES, None)
    return chosen


def ask_commune(turn: Turn, question: str, no_commune: str) -> None:
    """Ask for the commune by name, or offer the candidates for what was typed last.

    ``no_commune`` labels the choice of not naming a commune ("I don't know", "the whole
    province")."""
    _ = turn._
    directory = turn.conversation.directory
    matches: list[list[Any]] = turn.state.get(COMMUNE_MATCHES) or []
    none_of_them = Button(no_commune, NO_COMMUNE)
    if not matches:
        turn.ask(question, [[none_of_them]])
        return
    rows: list[list[Button]] = []
    for code, legacy in matches:
        commune = directory.commune(code)
        if commune is None:
            continue
        label = commune.name if not legacy else f"{commune.name} ({_('formerly')} {legacy})"
        rows.append([Button(label, f"commune:{code}")])
    rows.append([Button(_("None of these, type again"), "commune:retry")])
    rows.append([none_of_them])
    turn.ask(_("Which of these is it?"), rows)


@dataclass(frozen=True, slots=True)
class CommuneChoice:
    """A decided commune: its code, or None for "no commune"."""

    code: int | None


def chosen_commune(turn: Turn, given: Input, province_code: int) -> CommuneChoice | None:
    """The commune pressed or typed in the province; None when the step asks again."""
    _ = turn._
    directory = turn.conversation.directory
    if given.payload == NO_COMMUNE:
        turn.state.pop(COMMUNE_MATCHES, None)
        return CommuneChoice(None)
    if given.payload == "commune:retry":
        turn.state.pop(COMMUNE_MATCHES, None)
        turn.reprompt()
        return None
    if given.payload and given.payload.startswith("commune:"):
        chosen = directory.commune(int(given.payload.removeprefix("commune:")))
        if chosen is None or chosen.province_code != province_code:
            please_choose(turn)
            return None
        turn.state.pop(COMMUNE_MATCHES, None)
        return CommuneChoice(chosen.code)
    if given.text:
        matches = directory.match_commune(province_code, given.text)
        if not matches:
            province = directory.province(province_code)
            turn.say(
                _(
                    "I could not find “{name}” in {province}. Check the spelling, try the old "
                    "name, or choose “{none}”."
                ).format(
                    name=given.text[:80],
                    province=province.short_name if province else "—",
                    none=_no_commune_label(turn),
                )
            )
            turn.state.pop(COMMUNE_MATCHES, None)
            turn.reprompt()
            return None
        turn.state[COMMUNE_MATCHES] = [[m.commune.code, m.legacy_name] for m in matches]
        turn.reprompt()
        return None
    please_choose(turn)
    return None


def _no_commune_label(turn: Turn) -> str:
    """The label of the "no commune" button the last prompt offered."""
    options: list[list[str]] = turn.state.get("options") or []
    return next((label for label, payload in options if payload == NO_COMMUNE), "—")
