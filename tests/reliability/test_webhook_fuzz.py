"""Fuzzing the Telegram and Zalo webhook routes with update-shaped junk: never a 5xx, the
channel keeps working, a refused update (400/413) sends nothing and stores nothing, and a
wrong secret is always 401 with no change at all."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import event, example, given
from hypothesis import strategies as st

from tests.reliability.conftest import TelegramHook, Webhook, ZaloHook, fuzz, plant, states
from tests.reliability.strategies import NASTY, encode, json_values, maybe, text

_ids = itertools.count(2_000_000_000)

ints = st.one_of(st.integers(-(2**63), 2**63), st.integers(0, 10_000))
tg_user = st.fixed_dictionaries(
    {"id": maybe(ints), "is_bot": maybe(st.booleans()), "first_name": maybe(text)},
    optional={"language_code": maybe(st.sampled_from(["vi", "en", "fr", "", "vi-VN"]))},
)
tg_chat = st.fixed_dictionaries(
    {
        "id": maybe(st.one_of(st.integers(1, 10**6), st.sampled_from([-100123, 0, 2**70]))),
        "type": maybe(st.sampled_from(["private", "group", "supergroup", "channel", "x"])),
    },
    optional={"first_name": text, "title": text},
)
tg_message = st.fixed_dictionaries(
    {"message_id": maybe(ints), "date": maybe(ints), "chat": maybe(tg_chat)},
    optional={
        "from": maybe(tg_user),
        "text": maybe(text),
        "caption": maybe(text),
        "entities": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": maybe(st.sampled_from(["bot_command", "bold", "mention", "x"])),
                        "offset": maybe(st.integers(-5, 400)),
                        "length": maybe(st.integers(-5, 400)),
                    }
                ),
                max_size=3,
            )
        ),
        "location": maybe(
            st.fixed_dictionaries({"latitude": maybe(st.floats()), "longitude": maybe(st.floats())})
        ),
        "photo": maybe(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "file_id": maybe(text),
                        "file_unique_id": maybe(text),
                        "width": maybe(ints),
                        "height": maybe(ints),
                    },
                    optional={"file_size": maybe(ints)},
                ),
                max_size=3,
            )
        ),
    },
)
tg_callback = st.fixed_dictionaries(
    {"id": maybe(text), "from": maybe(tg_user), "chat_instance": maybe(text)},
    optional={"data": maybe(text), "message": maybe(tg_message)},
)
tg_updates = st.fixed_dictionaries(
    {"update_id": maybe(st.integers(0, 2**31))},
    optional={
        "message": maybe(tg_message),
        "edited_message": maybe(tg_message),
        "callback_query": maybe(tg_callback),
        "channel_post": maybe(tg_message),
        "unknown_field": json_values,
    },
)

zalo_message = st.fixed_dictionaries(
    {
        "chat": maybe(
            st.fixed_dictionaries(
                {
                    "id": maybe(
                        st.sampled_from(["KNOWN", "a1b2c3", "has space", "", 12345, "x" * 200])
                    )
                },
                optional={"chat_type": maybe(st.sampled_from(["PRIVATE", "GROUP", "private", ""]))},
            )
        )
    },
    optional={
        "from": maybe(st.fixed_dictionaries({"id": maybe(text), "display_name": maybe(text)})),
        "text": maybe(text),
        "caption": maybe(text),
        "message_id": maybe(st.one_of(text, ints)),
        "date": maybe(ints),
        "photo": maybe(st.sampled_from(["PICTURE", "MISSING", "not a url", ""])),
        "sticker": json_values,
    },
)
zalo_events = st.fixed_dictionaries(
    {},
    optional={
        "event_name": maybe(
            st.sampled_from(
                [
                    "message.text.received",
                    "message.image.received",
                    "message.sticker.received",
                    "message.voice.received",
                    "message.unsupported.received",
                    "user.follow",
                ]
            )
        ),
        "message": maybe(zalo_message),
        "extra": json_values,
    },
)
zalo_bodies = st.one_of(
    zalo_events, st.fixed_dictionaries({"ok": maybe(st.booleans()), "result": maybe(zalo_events)})
)

raw_bodies = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'"text"',
            b"\xff\xfe",
            b'{"update_id": 1, "message": {"text": "\\ud800"}}',
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a": "' + b"x" * (1024 * 1024) + b'"}',
        ]
    ),
)


async def post(hook: Webhook, body: bytes, secret: str | None) -> int:
    headers: dict[str, bytes] = {"content-type": b"application/json"}
    if secret is not None:
        headers[hook.header] = secret.encode("latin-1")  # headers are latin-1 on the wire
    response = await hook.client.post(hook.path, content=body, headers=headers)
    return response.status_code


async def check_posting(hook: Webhook, calls: list[Any], body: bytes) -> None:
    before_states, before_calls = await states(hook.app), len(calls)
    status = await post(hook, body, hook.secret)
    event(f"status {status}")
    assert status in (200, 400, 413), status
    if status != 200:
        assert await states(hook.app) == before_states
        assert len(calls) == before_calls


def tg_body(update: Any) -> bytes:
    if isinstance(update, dict) and update.get("update_id") == 7:
        update["update_id"] = next(_ids)  # a fresh id now and then, so it is not a repeat
    return encode(update, ascii_only=True)


@fuzz(60)
@given(
    body=st.integers(0, 3).flatmap(
        lambda n: raw_bodies if n == 0 else st.builds(tg_body, tg_updates)
    )
)
@example(
    body=json.dumps(
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": 424242, "type": "private"},
                "text": "x" * 500_000,
            },
        }
    ).encode()
)
async def test_telegram_webhook_with_random_updates(
    telegram_hook: TelegramHook, body: bytes
) -> None:
    telegram_hook.fake.any_chat = True  # answers reach any private chat id
    await check_posting(telegram_hook, telegram_hook.fake.calls, body)


@fuzz(60)
@given(
    event=maybe(zalo_bodies),
    raw=st.integers(0, 3).flatmap(lambda n: raw_bodies if n == 0 else st.none()),
)
async def test_zalo_webhook_with_random_events(
    zalo_hook: ZaloHook, event: Any, raw: bytes | None
) -> None:
    fake = zalo_hook.fake
    known = fake.user("c0ffee0000000000beef")
    picture = fake.add_picture(b"\xff\xd8\xff" + b"0" * 100)
    missing = f"{fake.base_url}/files/none.jpg"
    text_body = json.dumps(event, ensure_ascii=True)
    text_body = text_body.replace('"KNOWN"', json.dumps(known))
    text_body = text_body.replace('"PICTURE"', json.dumps(picture))
    text_body = text_body.replace('"MISSING"', json.dumps(missing))
    body = raw if raw is not None else text_body.encode()
    await check_posting(zalo_hook, fake.calls, body)


@fuzz(20)
@given(
    secret=st.one_of(
        st.none(),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
        st.sampled_from(
            ["", " ", "tipline-test-secret_0123456789 ", "TIPLINE-TEST-SECRET_0123456789"]
        ),
    ),
    body=st.one_of(st.builds(tg_body, tg_updates), raw_bodies),
)
async def test_telegram_wrong_secrets_are_refused(
    telegram_hook: TelegramHook, secret: str | None, body: bytes
) -> None:
    if secret == telegram_hook.secret:
        return
    before_states, before_calls = await states(telegram_hook.app), len(telegram_hook.fake.calls)
    assert await post(telegram_hook, body, secret) == 401
    assert await states(telegram_hook.app) == before_states
    assert len(telegram_hook.fake.calls) == before_calls


@fuzz(20)
@given(
    secret=st.one_of(
        st.none(),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
        st.sampled_from(
            ["", " ", "tipline-zalo-secret_0123456789 ", "TIPLINE-ZALO-SECRET_0123456789"]
        ),
    ),
    event=zalo_bodies,
)
async def test_zalo_wrong_secrets_are_refused(
    zalo_hook: ZaloHook, secret: str | None, event: Any
) -> None:
    if secret == zalo_hook.secret:
        return
    known = zalo_hook.fake.user("c0ffee0000000000beef")
    body = json.dumps(event).replace('"KNOWN"', json.dumps(known)).encode()
    before_states, before_calls = await states(zalo_hook.app), len(zalo_hook.fake.calls)
    assert await post(zalo_hook, body, secret) == 401
    assert await states(zalo_hook.app) == before_states
    assert len(zalo_hook.fake.calls) == before_calls


# Chat ids no table or log may hold in plaintext (see the canary sweep in conftest.py).
JUNK_CHAT, FRESH_CHAT = 7_391_845_226, 8_492_956_337
plant(str(JUNK_CHAT), "Telegram chat id")
plant(str(FRESH_CHAT), "Telegram chat id")


def tg_text(chat_id: int, value: Any) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "private"}
    message = {"message_id": 1, "date": 1, "chat": chat, "text": value}
    return {"update_id": next(_ids), "message": message}


async def test_telegram_channel_still_answers_after_junk(telegram_hook: TelegramHook) -> None:
    fake = telegram_hook.fake
    fake.user(JUNK_CHAT)
    fake.user(FRESH_CHAT)
    for value in [*NASTY[:12], None, 5, [], {"x": 1}]:
        update = tg_text(JUNK_CHAT, value)
        assert (
            await post(telegram_hook, encode(update, ascii_only=True), telegram_hook.secret) < 500
        )
    # A fresh chat (JUNK_CHAT is flood-throttled by now): the channel still answers.
    update = tg_text(FRESH_CHAT, "/start")
    sent = len(fake.calls_of("sendMessage"))
    assert await post(telegram_hook, encode(update, ascii_only=True), telegram_hook.secret) == 200
    assert len(fake.calls_of("sendMessage")) > sent


async def test_zalo_channel_still_answers_after_junk(zalo_hook: ZaloHook) -> None:
    fake = zalo_hook.fake
    chat = fake.user()
    for value in [*NASTY[:12], None, 5, [], {"x": 1}]:
        body = json.dumps(fake.event(chat, "message.text.received", text=value)).encode()
        assert await post(zalo_hook, body, zalo_hook.secret) < 500
    fresh = fake.user()  # the first chat may be flood-throttled by now
    body = json.dumps(fake.event(fresh, "message.text.received", text="/start")).encode()
    assert await post(zalo_hook, body, zalo_hook.secret) == 200
    assert fake.sent(fresh)
