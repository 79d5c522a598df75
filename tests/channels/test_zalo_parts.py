"""The Zalo channel's small parts: reading updates, rendering, memories, settings, logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from bot.channels.zalo.privacy import RedactURLs, redact
from bot.channels.zalo.recent import Cooldown, Recent
from bot.channels.zalo.render import MAX_TEXT, render, split
from bot.channels.zalo.updates import (
    IMAGE,
    STICKER,
    TEXT,
    MalformedUpdate,
    chat_key,
    parse,
)
from bot.config import Settings
from handlers.types import Button, Outbound


def message(**content: object) -> dict[str, object]:
    return {"chat": {"id": "e4ea2cd5189df1c3a88c", "chat_type": "PRIVATE"},
            "message_id": "16f6366b3f02645a3d15", "date": 1766619597466, **content}  # fmt: skip


def test_a_text_event_wrapped_or_bare() -> None:
    bare = {"event_name": TEXT, "message": message(text="Xin chào")}
    for update in (bare, {"ok": True, "result": bare}):
        event = parse(update)
        assert event is not None
        assert (event.name, event.text, event.group) == (TEXT, "Xin chào", False)
        assert event.key == f"{TEXT}:16f6366b3f02645a3d15"
        assert chat_key(event.chat_id) == "zalo:e4ea2cd5189df1c3a88c"


def test_a_polled_update_without_an_event_name_is_understood() -> None:
    # The getUpdates sample of the documentation has no event_name.
    text = parse({"message": message(text="hi")})
    photo = parse({"message": message(photo="https://cdn.example/p.jpg", caption="c")})
    sticker = parse({"message": message(sticker="0e078a2f")})
    assert text is not None and text.name == TEXT
    assert photo is not None and (photo.name, photo.photo_url, photo.caption) == (
        IMAGE,
        "https://cdn.example/p.jpg",
        "c",
    )
    assert sticker is not None and sticker.name == STICKER


def test_a_photo_link_is_read_from_the_known_shapes_and_only_http() -> None:
    for content in ({"photo": {"url": "https://a/b.jpg"}}, {"photo_url": "https://a/b.jpg"}):
        event = parse({"event_name": IMAGE, "message": message(**content)})
        assert event is not None and event.photo_url == "https://a/b.jpg"
    event = parse({"event_name": IMAGE, "message": message(photo="file:///etc/passwd")})
    assert event is not None and event.photo_url is None


def test_a_group_and_an_event_without_a_message() -> None:
    group = parse(
        {"event_name": TEXT, "message": message(text="x", chat={"id": "g1", "chat_type": "GROUP"})}
    )
    assert group is not None and group.group
    assert parse({"event_name": "user.follow"}) is None


@pytest.mark.parametrize(
    "update",
    [[], "x", {}, {"message": []}, {"message": {"text": "no chat"}},
     {"event_name": ["x"], "message": message()}, {"message": message(chat={"id": True})},
     {"message": message(chat={"id": "x" * 200})}],
)  # fmt: skip
def test_what_is_not_an_update_is_refused(update: object) -> None:
    with pytest.raises(MalformedUpdate):
        parse(update)


def test_choices_are_numbered_lines_under_the_text() -> None:
    buttons = ((Button("Gửi tin báo", "a"), Button("Hủy", "b")), (Button("Xong", "c"),))
    assert render(Outbound("Chọn một mục", buttons=buttons)) == [
        "Chọn một mục\n\n1. Gửi tin báo\n2. Hủy\n3. Xong"
    ]


def test_long_texts_are_split_within_the_limit_and_in_order() -> None:
    paragraph = "Một đoạn văn bản dài về an toàn. " * 40
    text = "\n\n".join(f"{n}: {paragraph}" for n in range(6))
    parts = render(Outbound(text, buttons=((Button("Xong", "done"),),)))
    assert len(parts) >= 3
    assert all(len(p) <= MAX_TEXT for p in parts)
    assert parts[-1].endswith("1. Xong")
    assert "".join(parts).replace(" ", "").replace("\n", "") == (text + "1. Xong").replace(
        " ", ""
    ).replace("\n", "")


def test_parts_respect_the_limit_in_utf16_units_too() -> None:
    parts = split("🚨" * 3000)
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in parts)


def test_recent_events_are_bounded() -> None:
    recent = Recent(size=3)
    assert recent.first_time("a") and not recent.first_time("a")
    for key in "bcd":
        assert recent.first_time(key)
    assert len(recent) == 3 and recent.first_time("a")  # "a" was forgotten


def test_a_cooldown_says_yes_once_per_window() -> None:
    now = [0.0]
    cooldown = Cooldown(seconds=10, clock=lambda: now[0])
    assert cooldown.ready("chat") and not cooldown.ready("chat") and cooldown.ready("other")
    now[0] = 11
    assert cooldown.ready("chat")


def test_urls_in_httpx_logs_lose_the_token_and_the_path() -> None:
    api = httpx.URL("https://bot-api.zaloplatforms.com/bot1459:SECRET-token/sendMessage")
    picture = httpx.URL("https://photo.zdn.vn/abc/private-path.jpg?sig=1")
    assert redact(api) == "https://bot-api.zaloplatforms.com/…/sendMessage"
    assert redact(picture) == "https://photo.zdn.vn/…"
    record = logging.LogRecord(
        "httpx", logging.INFO, "x", 1, "HTTP Request: %s %s", ("POST", api), None
    )
    RedactURLs().filter(record)
    assert "SECRET" not in record.getMessage()


def test_webhook_mode_needs_a_secret_of_8_to_256_safe_characters() -> None:
    base = {"_env_file": None, "zalo_webhook_url": "https://bot.example/zalo/webhook"}
    with pytest.raises(ValidationError, match="TIPLINE_ZALO_WEBHOOK_SECRET"):
        Settings(**base)
    for wrong in ("short", "has spaces in it", "x" * 257):
        with pytest.raises(ValidationError):
            Settings(**base, zalo_webhook_secret=SecretStr(wrong))
    with pytest.raises(ValidationError, match="http"):
        Settings(_env_file=None, zalo_webhook_url="ftp://x", zalo_webhook_secret=SecretStr("a" * 8))
    ok = Settings(**base, zalo_webhook_secret=SecretStr("good_secret-123"))
    assert ok.zalo_api_base == "https://bot-api.zaloplatforms.com"
