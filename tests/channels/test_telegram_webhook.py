"""The webhook route: only Telegram (with the secret token) gets in; junk gets 400."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from storage.models import ConversationState
from tests.channels.conftest import WEBHOOK_SECRET, Served
from tests.channels.telegram_user import TelegramUser

HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


def update(chat_id: int, text: str, update_id: int = 900) -> dict[str, object]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Mallory"},
            "from": user,
            "text": text,
        },
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {HEADER: "wrong"}, {HEADER: WEBHOOK_SECRET + "x"}, {HEADER: ""}],
    ids=["missing", "wrong", "longer", "empty"],
)
async def test_a_forged_update_is_refused_and_changes_nothing(
    served: Served, headers: dict[str, str]
) -> None:
    before = await states(served.app)
    calls_before = len(served.fake.calls)
    async with httpx.AsyncClient() as client:
        response = await client.post(served.url, json=update(777, "/start"), headers=headers)
        # Not even the body is looked at: junk gets 401 as well.
        junk = await client.post(served.url, content=b"{not json", headers=headers)
    assert response.status_code == 401 and junk.status_code == 401
    assert await states(served.app) == before
    assert len(served.fake.calls) == calls_before
    assert not served.fake.calls_of("sendMessage", status=None)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"update_id": "nine"}', b'{"message": {"text": "x"}}', b""],
    ids=["not-json", "a-list", "bad-id", "no-update-id", "empty"],
)
async def test_a_malformed_update_gets_400_and_is_logged_without_content(
    served: Served, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            served.url,
            content=body,
            headers={HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert "malformed update" in caplog.text
    if len(body) > 3:
        assert body.decode() not in caplog.text


async def test_a_good_update_is_answered_before_the_webhook_returns(served: Served) -> None:
    served.fake.user(4242, "Minh", None, "en")
    async with httpx.AsyncClient() as client:
        response = await client.post(
            served.url, json=update(4242, "/start"), headers={HEADER: WEBHOOK_SECRET}
        )
    assert response.status_code == 200
    [answer] = served.fake.sent(4242)
    assert "Choose your language" in answer.message["text"]


async def test_an_update_telegram_sends_twice_is_handled_once(served: Served) -> None:
    served.fake.user(4343, "Minh", None, "en")
    body = json.dumps(update(4343, "/start", update_id=12345))
    async with httpx.AsyncClient() as client:
        for _ in range(2):
            response = await client.post(
                served.url,
                content=body,
                headers={HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
            )
            assert response.status_code == 200
    assert len(served.fake.sent(4343)) == 1


async def test_the_webhook_is_registered_with_the_secret_and_the_update_types(
    served: Served,
) -> None:
    [call] = served.fake.calls_of("setWebhook")
    assert call.params["url"] == served.url
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert sorted(call.params["allowed_updates"]) == ["callback_query", "message"]
    user = TelegramUser(served.fake, 4444)
    assert "Choose your language" in await user.say("hello")
