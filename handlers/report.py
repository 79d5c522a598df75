"""The tip flow: notice → category → province → commune → when → where → what → photos →
review → send → receipt.

The draft lives in the chat's sealed state (photos in sealed draft rows) until it is sent;
then it is sealed for the police queue and forgotten here: the state kept afterwards is the
language and the menu, nothing that says a tip was sent (the "sent" step is shown, not kept).
"""

from __future__ import annotations

import time

from handlers.flow import Input, Turn, step
from handlers.places import (
    ask_commune,
    ask_province,
    chosen_commune,
    chosen_province,
    please_choose,
)
from handlers.types import Button, Outbound
from storage import sealing
from storage.media import MediaRejected, clean_image
from storage.vault import NoQueue, TipDraft, UntrustedKey

__all__ = ["cancel", "start"]

WHEN = ("now", "today", "earlier", "recurring")
TIP_STEPS = frozenset(
    {
        "tip.notice",
        "tip.category",
        "tip.urgent",
        "tip.province",
        "tip.commune",
        "tip.when",
        "tip.where",
        "tip.what",
        "tip.photos",
        "tip.review",
        "tip.edit",
    }
)


def _when_label(turn: Turn, key: str) -> str:
    _ = turn._
    return {
        "now": _("Happening now"),
        "today": _("Earlier today"),
        "earlier": _("Before today"),
        "recurring": _("It happens regularly"),
    }[key]


def _advance(turn: Turn, next_step: str) -> None:
    """Go on to the next step, or back to the review when the user was editing."""
    if turn.state.get("editing"):
        turn.state["editing"] = False
        turn.goto("tip.review")
    else:
        turn.goto(next_step)


def _refuse_receipt(turn: Turn, text: str) -> bool:
    """Never store a message carrying a receipt: someone could find it with the tip."""
    if sealing.looks_like_receipt(text):
        turn.say(
            turn._(
                "This message looks like a receipt number. Never send your receipt in a message: "
                "it was not saved. Please write it again without the number."
            )
        )
        turn.reprompt()
        return True
    return False


async def start(turn: Turn) -> None:
    """Begin a new tip, or pick up the one in progress."""
    conversation = turn.conversation
    conversation.close_followup(turn.chat)
    if turn.step_name in TIP_STEPS:
        turn.say(turn._("You are already writing a tip; let's continue."))
        turn.reprompt()
        return
    turn.state["draft"] = {}
    turn.state["editing"] = False
    await conversation.states.clear_photos(turn.chat)
    turn.goto("tip.notice")


async def cancel(turn: Turn) -> None:
    """Cancel: ask first when a tip with real content would be lost."""
    _ = turn._
    draft = turn.state.get("draft") or {}
    if turn.step_name in TIP_STEPS and (draft.get("description") or draft.get("where")):
        turn.goto("tip.cancel")
        return
    if turn.step_name in TIP_STEPS or turn.step_name == "tip.cancel":
        await _discard(turn)
        turn.say(_("The tip was cancelled; nothing was sent."))
    turn.conversation.close_followup(turn.chat)
    turn.state["back"] = []
    turn.goto("menu", remember=False)


async def _discard(turn: Turn) -> None:
    turn.state["draft"] = {}
    turn.state["editing"] = False
    await turn.conversation.states.clear_photos(turn.chat)


# --- notice and category ---------------------------------------------------------------------


async def notice_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        turn.conversation.content.help_text("anonymity", turn.locale),
        [[Button(_("Continue"), "go"), Button(_("Cancel"), "g:cancel")]],
    )


@step("tip.notice", prompt=notice_prompt)
async def notice(turn: Turn, given: Input) -> None:
    if given.payload == "go":
        turn.goto("tip.category")
    else:
        please_choose(turn)


async def category_prompt(turn: Turn) -> None:
    _ = turn._
    categories = turn.conversation.content.categories
    turn.ask(
        _("What is the tip about?"),
        [[Button(c.label[turn.locale], f"cat:{c.id}")] for c in categories],
    )


@step("tip.category", prompt=category_prompt)
async def category(turn: Turn, given: Input) -> None:
    chosen = None
    if given.payload and given.payload.startswith("cat:"):
        chosen = turn.conversation.content.category(given.payload.removeprefix("cat:"))
    if chosen is None:
        please_choose(turn)
        return
    turn.draft["category"] = chosen.id
    turn.say(chosen.hint[turn.locale])
    if chosen.urgent:
        turn.goto("tip.urgent")
    else:
        _advance(turn, "tip.province")


async def urgent_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        turn.conversation.content.help_text("emergency", turn.locale),
        [[Button(_("Continue the tip"), "go")], [Button(_("Main menu"), "g:menu")]],
    )


@step("tip.urgent", prompt=urgent_prompt)
async def urgent(turn: Turn, given: Input) -> None:
    if given.payload == "go":
        _advance(turn, "tip.province")
    else:
        please_choose(turn)


# --- place -----------------------------------------------------------------------------------


async def province_prompt(turn: Turn) -> None:
    ask_province(
        turn, turn._("In which province or city did it happen? Type its name or choose it.")
    )


@step("tip.province", prompt=province_prompt)
async def province(turn: Turn, given: Input) -> None:
    _ = turn._
    chosen = chosen_province(turn, given)
    if chosen is None:
        return
    if not await turn.conversation.desk.has_queue(chosen.code):
        turn.say(
            _(
                "Tipline does not reach the police of {province} yet. Please call 113 or go "
                "to the nearest police station. You can choose another province."
            ).format(province=chosen.short_name)
        )
        turn.reprompt()
        return
    turn.draft["province"] = chosen.code
    turn.draft.pop("commune", None)
    turn.goto("tip.commune")


async def commune_prompt(turn: Turn) -> None:
    _ = turn._
    ask_commune(
        turn,
        _(
            "Which commune or ward (xã, phường)? Type its name; old names from before 2025 "
            "are fine too."
        ),
        _("I don't know the commune"),
    )


@step("tip.commune", prompt=commune_prompt)
async def commune(turn: Turn, given: Input) -> None:
    chosen = chosen_commune(turn, given, int(turn.draft["province"]))
    if chosen is None:
        return
    turn.draft["commune"] = chosen.code
    _advance(turn, "tip.when")


# --- when, where, what -----------------------------------------------------------------------


async def when_prompt(turn: Turn) -> None:
    turn.ask(
        turn._("When did it happen?"),
        [[Button(_when_label(turn, key), f"when:{key}")] for key in WHEN],
    )


@step("tip.when", prompt=when_prompt)
async def when(turn: Turn, given: Input) -> None:
    key = (given.payload or "").removeprefix("when:")
    if key not in WHEN:
        please_choose(turn)
        return
    turn.draft["when"] = key
    _advance(turn, "tip.where")


async def where_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _(
            "Where exactly? Describe the place: street, landmark, what the house or shop looks "
            "like. You can also share a location. Do not describe where you live."
        ),
        [[Button(_("Skip"), "skip")]],
    )


@step("tip.where", prompt=where_prompt, accepts_location=True, stores_text=True)
async def where(turn: Turn, given: Input) -> None:
    _ = turn._
    if given.location is not None:
        turn.draft["location"] = [
            round(given.location.latitude, 6),
            round(given.location.longitude, 6),
        ]
        turn.say(_("Location noted. Add a description of the place too, or press Skip."))
        turn.reprompt()
        return
    if given.payload == "skip":
        turn.draft.setdefault("where", "")
        _advance(turn, "tip.what")
        return
    if not given.text:
        please_choose(turn)
        return
    if _refuse_receipt(turn, given.text):
        return
    turn.draft["where"] = given.text
    _advance(turn, "tip.what")


async def what_prompt(turn: Turn) -> None:
    _ = turn._
    if turn.draft.get("description"):
        text = _("Write more if you want, or press Done.")
    else:
        text = _(
            "What happened? Describe what you saw or know: who (descriptions, not your "
            "relation to them), what, how often. You can send several messages; press "
            "Done when finished."
        )
    turn.ask(text, [[Button(_("Done"), "done")]])


@step("tip.what", prompt=what_prompt, accepts_photos=True, stores_text=True)
async def what(turn: Turn, given: Input) -> None:
    _ = turn._
    description: list[str] = turn.draft.setdefault("description", [])
    if given.attachments:
        await _take_photos(turn, given)
        return
    if given.payload == "done":
        if not description:
            turn.say(_("Please describe what happened first, even briefly."))
            turn.reprompt()
            return
        _advance(turn, "tip.photos")
        return
    if not given.text:
        please_choose(turn)
        return
    if _refuse_receipt(turn, given.text):
        return
    total = sum(len(part) for part in description) + len(given.text)
    if total > turn.conversation.limits.max_description_chars:
        turn.say(
            _(
                "The description is getting very long. What you wrote so far is kept; "
                "please press Done and add details later through your receipt."
            )
        )
        turn.reprompt()
        return
    description.append(given.text)
    turn.say(_("Added."))
    turn.reprompt()


# --- photos ----------------------------------------------------------------------------------


async def photos_prompt(turn: Turn) -> None:
    _ = turn._
    limits = turn.conversation.limits
    turn.ask(
        _(
            "You can send up to {count} photos (optional). Their hidden details such as place and "
            "camera are removed. Press Done when finished."
        ).format(count=limits.max_photos),
        [[Button(_("Done"), "done")]],
    )


async def _take_photos(turn: Turn, given: Input) -> None:
    _ = turn._
    conversation = turn.conversation
    limits = conversation.limits
    for attachment in given.attachments:
        count = await conversation.states.photo_count(turn.chat)
        if count >= limits.max_photos:
            turn.say(
                _("You have already added {count} photos, the most one tip can carry.").format(
                    count=limits.max_photos
                )
            )
            break
        try:
            image = clean_image(attachment.data, max_bytes=limits.max_photo_bytes)
        except MediaRejected as rejected:
            turn.say(_media_message(turn, rejected.reason))
            continue
        await conversation.states.add_photo(turn.chat, image.data)
        turn.say(_("Photo {number} added.").format(number=count + 1))
    turn.reprompt()


def _media_message(turn: Turn, reason: str) -> str:
    _ = turn._
    limit_mb = turn.conversation.limits.max_photo_bytes // (1024 * 1024)
    return {
        "too_large": _("This file is too large (the limit is {mb} MB) and was not added.").format(
            mb=limit_mb
        ),
        "too_many_pixels": _("This picture is too large to process and was not added."),
        "unsupported_type": _(
            "Only photos (JPEG, PNG, WebP or GIF) can be added; this file was not added."
        ),
    }.get(reason, _("This file could not be read as a photo and was not added."))


@step("tip.photos", prompt=photos_prompt, accepts_photos=True)
async def photos(turn: Turn, given: Input) -> None:
    if given.attachments:
        await _take_photos(turn, given)
        return
    if given.payload == "done":
        turn.state["editing"] = False
        turn.goto("tip.review")
        return
    please_choose(turn)


# --- review, edit, send ----------------------------------------------------------------------


async def review_prompt(turn: Turn) -> None:
    _ = turn._
    conversation = turn.conversation
    draft = turn.draft
    category_ = conversation.content.category(draft.get("category", ""))
    province_ = conversation.directory.province(int(draft.get("province", 0)))
    commune_code = draft.get("commune")
    commune_ = conversation.directory.commune(commune_code) if commune_code else None
    place = commune_.name if commune_ else _("commune not known")
    photo_count = await conversation.states.photo_count(turn.chat)
    lines = [
        _("Please check your tip before sending:"),
        "",
        _("Type: {value}").format(value=category_.label[turn.locale] if category_ else "—"),
        _("Place: {commune}, {province}").format(
            commune=place, province=province_.short_name if province_ else "—"
        ),
        _("When: {value}").format(
            value=_when_label(turn, draft["when"]) if draft.get("when") in WHEN else "—"
        ),
        _("Where exactly: {value}").format(value=draft.get("where") or "—"),
    ]
    if draft.get("location"):
        lines.append(_("Location shared: yes"))
    lines.append(_("What happened:"))
    lines.extend(draft.get("description") or ["—"])
    lines.append(_("Photos: {count}").format(count=photo_count))
    turn.ask(
        "\n".join(lines),
        [
            [Button(_("Send the tip"), "send")],
            [Button(_("Change something"), "edit")],
            [Button(_("Cancel"), "g:cancel")],
        ],
    )


@step("tip.review", prompt=review_prompt)
async def review(turn: Turn, given: Input) -> None:
    if given.payload == "send":
        await _send(turn)
    elif given.payload == "edit":
        turn.goto("tip.edit")
    else:
        please_choose(turn)


async def edit_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _("What do you want to change?"),
        [
            [Button(_("Type of tip"), "edit:category")],
            [Button(_("Province and commune"), "edit:place")],
            [Button(_("When"), "edit:when")],
            [Button(_("Where exactly"), "edit:where")],
            [Button(_("What happened (write it again)"), "edit:what")],
            [Button(_("Photos (send them again)"), "edit:photos")],
            [Button(_("Back to the review"), "edit:review")],
        ],
    )


@step("tip.edit", prompt=edit_prompt)
async def edit(turn: Turn, given: Input) -> None:
    target = (given.payload or "").removeprefix("edit:")
    steps = {
        "category": "tip.category",
        "place": "tip.province",
        "when": "tip.when",
        "where": "tip.where",
        "what": "tip.what",
        "photos": "tip.photos",
        "review": "tip.review",
    }
    if target not in steps:
        please_choose(turn)
        return
    if target == "what":
        turn.draft["description"] = []
    if target == "photos":
        await turn.conversation.states.clear_photos(turn.chat)
    # A changed province leads through the commune step before returning to the review.
    turn.state["editing"] = target != "review"
    turn.goto(steps[target])


async def _send(turn: Turn) -> None:
    _ = turn._
    conversation = turn.conversation
    draft = turn.draft
    required = ("category", "province", "when")
    if any(draft.get(key) is None for key in required) or not draft.get("description"):
        turn.say(_("Some parts of the tip are missing; let's fill them in."))
        turn.goto("tip.category")
        return
    if "receipt" not in draft:
        # Chosen and saved (sealed, with the rest of the draft) before the tip is filed: if
        # the process dies after filing but before this turn's state is saved, pressing
        # "send" again finds the tip under this receipt instead of filing it twice.
        draft["receipt"] = sealing.new_receipt()
        await conversation.states.save(turn.chat, turn.state)
    location = draft.get("location")
    tip = TipDraft(
        category=draft["category"],
        province_code=int(draft["province"]),
        commune_code=draft.get("commune"),
        when=draft["when"],
        where=draft.get("where") or "",
        description=list(draft["description"]),
        locale=turn.locale,
        location=(float(location[0]), float(location[1])) if location else None,
        photos=await conversation.states.photos(turn.chat),
        receipt=draft["receipt"],
    )
    started = time.perf_counter()
    try:
        receipt = await conversation.desk.submit(tip)
    except NoQueue:
        turn.say(
            _(
                "Tipline cannot reach the police of this province right now. Your tip is "
                "kept here; please try again later or call 113."
            )
        )
        turn.reprompt()
        return
    except UntrustedKey:
        # A police key failed its check (the operator's log line says which): nothing was
        # sealed, and the draft stays so that "send" works again once the keys are fixed.
        turn.say(
            _(
                "Your tip cannot be sent safely right now, so it was not sent. It is kept "
                "here: please try again later, or call 113 if it is urgent."
            )
        )
        turn.reprompt()
        return
    finally:
        turn.untimed_seconds += time.perf_counter() - started
    # No log line and no counter here: either would give the filing time to the second.
    await conversation.states.clear_photos(turn.chat)
    turn.state["draft"] = {}
    turn.state["back"] = []
    turn.state["editing"] = False
    turn.settled = True
    turn.replies.append(
        Outbound(
            text=_(
                "Your tip was sent. Thank you.\n\nYour receipt (shown only once):\n\n{receipt}"
            ).format(receipt=sealing.format_receipt(receipt)),
            sensitive=True,
            kind="receipt",
        )
    )
    turn.goto("tip.sent", remember=False)


async def sent_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        turn.conversation.content.help_text("receipt_advice", turn.locale)
        + "\n\n"
        + _("For your safety, you can delete this conversation now."),
        [
            [Button(_("Delete this conversation"), "g:wipe")],
            [Button(_("Main menu"), "g:menu")],
        ],
    )


@step("tip.sent", prompt=sent_prompt)
async def sent(turn: Turn, given: Input) -> None:
    please_choose(turn)


async def cancel_prompt(turn: Turn) -> None:
    _ = turn._
    turn.ask(
        _("Cancel this tip? Everything you entered will be deleted."),
        [[Button(_("Yes, delete it"), "yes"), Button(_("No, continue"), "no")]],
    )


@step("tip.cancel", prompt=cancel_prompt)
async def cancel_confirm(turn: Turn, given: Input) -> None:
    _ = turn._
    if given.payload == "yes":
        await _discard(turn)
        turn.say(_("The tip was cancelled; nothing was sent."))
        turn.state["back"] = []
        turn.goto("menu", remember=False)
    elif given.payload == "no":
        turn.go_back()
    else:
        please_choose(turn)
