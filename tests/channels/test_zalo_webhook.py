"""The Zalo webhook route: only Zalo (with the secret token) gets in, junk gets 400, and an
event delivered twice is answered once."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from storage.models import ConversationState
from tests.channels.conftest import ZALO_WEBHOOK_SECRET, ZaloServed
from tests.channels.zalo_user import ZaloUser

HEADER = "X-Bot-Api-Secret-Token"


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


def update(chat_id: str, text: str, message_id: str = "2d758cb5e222177a4e35") -> dict[str, object]:
    return {
        "ok": True,
        "result": {
            "event_name": "message.text.received",
            "message": {
                "from": {"id": chat_id, "display_name": "Mallory", "is_bot": False},
                "chat": {"id": chat_id, "chat_type": "PRIVATE"},
                "text": text,
                "message_id": message_id,
                "date": 1750316131602,
            },
        },
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {HEADER: "wrong-secret"}, {HEADER: ZALO_WEBHOOK_SECRET + "x"}, {HEADER: ""}],
    ids=["missing", "wrong", "longer", "empty"],
)
async def test_a_forged_event_is_refused_and_changes_nothing(
    zalo_served: ZaloServed, headers: dict[str, str]
) -> None:
    fake = zalo_served.fake
    chat_id = fake.user()
    before = await states(zalo_served.app)
    calls_before = len(fake.calls)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            zalo_served.url, json=update(chat_id, "/start"), headers=headers
        )
        # Not even the body is looked at: junk gets 401 as well.
        junk = await client.post(zalo_served.url, content=b"{not json", headers=headers)
    assert response.status_code == 401 and junk.status_code == 401
    assert await states(zalo_served.app) == before
    assert len(fake.calls) == calls_before
    assert fake.sent(chat_id) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b"",
        b"\xff\xfe",
        b'{"ok": true, "result": 5}',
        b'{"event_name": "message.text.received", "message": "hello"}',
        b'{"event_name": "message.text.received", "message": {"text": "secret words"}}',
        b'{"event_name": 7, "message": {"chat": {"id": "abc"}}}',
        b'{"message": {"chat": {"id": "has a space"}, "text": "x"}}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=[
        "not-json",
        "a-list",
        "a-string",
        "empty",
        "not-utf8",
        "result-not-object",
        "message-not-object",
        "no-chat",
        "event-name-not-string",
        "bad-chat-id",
        "deeply-nested",
    ],
)
async def test_a_malformed_event_gets_400_and_is_logged_without_content(
    zalo_served: ZaloServed, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await states(zalo_served.app)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            zalo_served.url,
            content=body,
            headers={HEADER: ZALO_WEBHOOK_SECRET, "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert "malformed update" in caplog.text
    for secret in ("hello", "secret words", "has a space"):
        assert secret not in caplog.text
    assert await states(zalo_served.app) == before
    assert zalo_served.fake.calls_of("sendMessage", status=None) == []


async def test_an_oversized_body_gets_413(zalo_served: ZaloServed) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            zalo_served.url,
            content=b'{"pad": "' + b"x" * (1024 * 1024) + b'"}',
            headers={HEADER: ZALO_WEBHOOK_SECRET, "Content-Type": "application/json"},
        )
    assert response.status_code == 413


async def test_an_event_is_answered_before_the_webhook_returns(zalo_served: ZaloServed) -> None:
    chat_id = zalo_served.fake.user()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            zalo_served.url, json=update(chat_id, "/start"), headers={HEADER: ZALO_WEBHOOK_SECRET}
        )
    assert response.status_code == 200
    [answer] = zalo_served.fake.texts(chat_id)
    assert "Chọn ngôn ngữ / Choose your language" in answer
    assert "1. Tiếng Việt\n2. English" in answer


async def test_an_event_zalo_delivers_twice_is_handled_once(zalo_served: ZaloServed) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    await user.talk([("/start", "Choose your language")])
    first = fake.event(user.id, "message.text.received", text="2")
    assert await fake.post_to_webhook(first) == 200
    assert await fake.post_to_webhook(first) == 200  # Zalo retried: same message id
    assert fake.webhook_statuses[-2:] == [200, 200]
    texts = fake.texts(user.id)
    assert len(texts) == 2 and "What would you like to do?" in texts[-1]
    # The same words in a new message are a new event.
    assert "What would you like to do?" in await user.say("menu")


async def test_an_unwrapped_event_is_accepted_too(zalo_served: ZaloServed) -> None:
    chat_id = zalo_served.fake.user()
    bare = update(chat_id, "/start")["result"]
    async with httpx.AsyncClient() as client:
        response = await client.post(
            zalo_served.url, content=json.dumps(bare), headers={HEADER: ZALO_WEBHOOK_SECRET}
        )
    assert response.status_code == 200
    assert "Choose your language" in zalo_served.fake.texts(chat_id)[0]


async def test_the_webhook_is_registered_with_the_secret(zalo_served: ZaloServed) -> None:
    [call] = zalo_served.fake.calls_of("setWebhook")
    assert call.params == {"url": zalo_served.url, "secret_token": ZALO_WEBHOOK_SECRET}
    assert zalo_served.fake.calls_of("getMe")
    assert zalo_served.fake.calls_of("getUpdates", status=None) == []
    user = ZaloUser(zalo_served.fake)
    assert "Choose your language" in await user.say("hello")
