"""Fuzzing the conversation itself: any sequence of texts, button presses (offered or made
up), locations, photos and locale hints gets at least one non-empty reply, never an
exception, and the chat's state stays loadable."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bootstrap import App
from bot.config import Settings
from handlers.types import Attachment, Inbound, Location
from tests.conftest import Police, make_settings
from tests.reliability.conftest import fuzz
from tests.reliability.strategies import NASTY, text_with_surrogates

locales = st.one_of(
    st.none(), st.sampled_from(["vi", "en", "en-US", "fr", "", "VI", "\x00"]), st.text(max_size=8)
)
actions = st.one_of(
    st.tuples(st.just("press"), st.integers(0, 30)),  # one of the buttons offered last
    st.tuples(st.just("type"), text_with_surrogates),
    st.tuples(st.just("option"), st.integers(-1, 12).map(str)),
    st.tuples(st.just("payload"), st.one_of(st.sampled_from(NASTY), st.text(max_size=64))),
    st.tuples(st.just("location"), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.tuples(st.just("photo"), st.binary(max_size=200)),
    st.tuples(
        st.just("command"),
        st.sampled_from(
            [
                "/start",
                "/tobao",
                "/kiemtra",
                "/xoa",
                "/huy",
                "/dangky",
                "/stop",
                "/hoc",
                "/khancap",
                "back",
            ]
        ),
    ),
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Flood control drops a fast chat's messages without a reply, by design; these examples
    # send a dozen messages in a few milliseconds, so it is off here.
    return make_settings(tmp_path / "data").model_copy(update={"flood_per_second": 0})


@fuzz(40)
@given(steps=st.lists(st.tuples(actions, locales), min_size=1, max_size=12))
async def test_any_sequence_is_answered_and_the_state_stays_loadable(
    app: App, police: Police, steps: list[tuple[tuple[str, object], str | None]]
) -> None:
    conversation = app.conversation
    chat = f"web:{uuid.uuid4().hex}"
    buttons: list[str] = []
    for (kind, value), locale in steps:
        inbound = Inbound(chat=chat, locale=locale)
        if kind == "press" and buttons:
            inbound = Inbound(chat=chat, payload=buttons[int(value) % len(buttons)], locale=locale)  # type: ignore[call-overload]
        elif kind in ("type", "option", "command"):
            inbound = Inbound(chat=chat, text=str(value), locale=locale)
        elif kind == "payload":
            inbound = Inbound(chat=chat, payload=str(value), locale=locale)
        elif kind == "location":
            latitude, longitude = value  # type: ignore[misc]
            inbound = Inbound(chat=chat, location=Location(latitude, longitude), locale=locale)
        elif kind == "photo":
            attachment = Attachment(data=value, mime="image/jpeg")  # type: ignore[arg-type]
            inbound = Inbound(chat=chat, attachments=(attachment,), locale=locale)
        else:
            inbound = Inbound(chat=chat, text="/start", locale=locale)
        replies = await conversation.handle(inbound)
        assert replies, inbound
        assert all(reply.text.strip() for reply in replies)
        buttons = [b.payload for reply in replies for row in reply.buttons for b in row]
        locale_now = await conversation.saved_locale(chat)  # loads (and unseals) the state
        assert locale_now in (None, "vi", "en")
