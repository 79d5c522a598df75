"""The Telegram channel's small parts: rendering, the message log, settings, log redaction."""

from __future__ import annotations

import html
import logging

import pytest
from pydantic import SecretStr, ValidationError

from bot.channels.telegram.history import DELETE_WINDOW_SECONDS, MessageLog
from bot.channels.telegram.privacy import Redact
from bot.channels.telegram.render import MAX_TEXT, fits_callback_data, render
from bot.config import Settings
from handlers.types import Button, Outbound


def choices(*payloads: str) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(f"Choice {p}", p),) for p in payloads)


def test_buttons_are_numbered_and_carry_their_payload() -> None:
    [part] = render(Outbound("Pick one", buttons=choices("a", "b")))
    assert part.keyboard is not None
    rows = part.keyboard.inline_keyboard
    assert [(b.text, b.callback_data) for row in rows for b in row] == [
        ("1. Choice a", "a"),
        ("2. Choice b", "b"),
    ]


def test_a_payload_over_64_bytes_falls_back_to_typed_numbers() -> None:
    too_long = "x" * 60 + "ệ"  # 63 bytes: fits; one more multi-byte letter does not
    assert fits_callback_data(too_long)
    assert not fits_callback_data(too_long + "ệ")
    [part] = render(Outbound("Pick one", buttons=choices("ok", too_long + "ệ")))
    assert part.keyboard is None
    assert "1. Choice ok" in part.html and "2. Choice" in part.html


def test_long_texts_are_split_with_the_keyboard_on_the_last_part() -> None:
    paragraph = "Một đoạn văn bản dài về an toàn. " * 60
    text = "\n\n".join([paragraph] * 8)
    parts = render(Outbound(text, buttons=choices("done")))
    assert len(parts) >= 3
    assert all(len(html.unescape(p.html)) <= MAX_TEXT for p in parts)
    assert [p.keyboard is not None for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(html.unescape(p.html) for p in parts).replace(" ", "").replace(
        "\n", ""
    ) == text.replace(" ", "").replace("\n", "")


def test_parts_respect_the_limit_in_utf16_units_too() -> None:
    parts = render(Outbound("🚨" * 5000))
    assert all(len(html.unescape(p.html).encode("utf-16-le")) // 2 <= MAX_TEXT for p in parts)


def test_everything_is_escaped() -> None:
    [part] = render(Outbound('<a href="x">1 & 2</a>'))
    assert part.html == "&lt;a href=&quot;x&quot;&gt;1 &amp; 2&lt;/a&gt;"


def test_the_message_log_is_bounded_and_forgets_after_the_window() -> None:
    now = [0.0]
    log = MessageLog(per_chat=3, chats=2, clock=lambda: now[0])
    log.begin(1, complete=True)
    for message_id in range(1, 4):
        log.add(1, message_id)
    collected = log.collect(1)
    assert collected.ids == [1, 2, 3] and not collected.missed

    log.begin(1, complete=True)
    for message_id in range(1, 6):
        log.add(1, message_id)  # two fall off the end
    collected = log.collect(1)
    assert collected.ids == [3, 4, 5] and collected.missed

    log.begin(1, complete=True)
    log.add(1, 10)
    now[0] += DELETE_WINDOW_SECONDS + 1
    log.add(1, 11)
    collected = log.collect(1)
    assert collected.ids == [11] and collected.missed

    for chat in (1, 2, 3):  # only two chats are kept
        log.add(chat, 1)
    assert len(log) == 2 and not log.knows(1)
    assert log.collect(1).missed  # an unknown chat may have messages we never saw


def test_webhook_mode_needs_a_valid_secret() -> None:
    base = {"_env_file": None, "telegram_token": SecretStr("1:x")}
    with pytest.raises(ValidationError):
        Settings(**base, telegram_webhook_url="https://bot.example/telegram/webhook")
    with pytest.raises(ValidationError) as error:
        Settings(
            **base,
            telegram_webhook_url="https://bot.example/telegram/webhook",
            telegram_webhook_secret=SecretStr("has spaces and ünicode"),
        )
    assert "has spaces" not in str(error.value)  # secrets are not echoed
    settings = Settings(
        **base,
        telegram_webhook_url="https://bot.example/telegram/webhook",
        telegram_webhook_secret=SecretStr("A-b_9" * 10),
    )
    assert settings.telegram_api_base == "https://api.telegram.org"


def test_aiogram_log_lines_lose_exception_messages_but_keep_where() -> None:
    try:
        raise ValueError("update content: tip about Nguyễn Văn A")
    except ValueError as error:
        record = logging.LogRecord(
            "aiogram.event", logging.ERROR, __file__, 1, "failed: %s: %s", ("ValueError", error),
            (ValueError, error, error.__traceback__),
        )  # fmt: skip
    Redact().filter(record)
    text = logging.Formatter().format(record)
    assert "Nguyễn" not in text and "update content" not in text
    assert "ValueError at test_telegram_parts.py" in text
