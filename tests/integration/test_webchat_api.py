"""The web chat's JSON API answers bad requests clearly and stores nothing from them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from bot.bootstrap import App
from bot.web import create_web_app
from storage.models import ConversationState
from tests.conftest import Police
from tests.unit.test_media import encode, revealing_exif, two_colour


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
        yield http


async def states(app: App) -> int:
    async with app.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationState)) or 0)


def session() -> str:
    return uuid.uuid4().hex


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b'{"session": "short", "text": "hi"}', 400),
        (b'{"session": "' + b"a" * 40 + b'"}', 400),
        (b'{"session": "' + b"a" * 40 + b'", "text": "hi", "admin": true}', 400),
        (b'["a list"]', 400),
        (b'{"session": "' + b"a" * 40 + b'", "text": "' + b"x" * 70000 + b'"}', 413),
    ],
)
async def test_malformed_requests_get_a_bilingual_error_and_change_nothing(
    app: App, client: httpx.AsyncClient, body: bytes, status: int
) -> None:
    response = await client.post(
        "/api/chat", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    detail = response.json()["detail"]
    assert " / " in detail and not detail.isascii()  # Vietnamese, then English
    assert "x" * 100 not in response.text
    assert await states(app) == 0


async def test_a_conversation_over_http_and_its_headers(
    app: App, police: Police, client: httpx.AsyncClient
) -> None:
    token = session()
    response = await client.post("/api/chat", json={"session": token, "text": "/start"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
    reply = response.json()["replies"][0]
    assert [b["payload"] for b in reply["buttons"][0]] == ["lang:vi", "lang:en"]
    response = await client.post("/api/chat", json={"session": token, "payload": "lang:en"})
    assert "What would you like to do?" in response.json()["replies"][0]["text"]


async def test_photos_upload_through_the_api(
    app: App, police: Police, client: httpx.AsyncClient
) -> None:
    token = session()
    for said in (
        "/start",
        "2",
        "/tobao",
        "1",
        "1",
        "Hà Nội",
        "Ba Đình",
        "1",
        "1",
        "Chợ",
        "Có người bán",
        "done",
    ):
        await client.post("/api/chat", json={"session": token, "text": said})
    photo = encode(two_colour(), "JPEG", exif=revealing_exif())
    response = await client.post(
        "/api/chat/photo", data={"session": token}, files={"file": ("x.jpg", photo, "image/jpeg")}
    )
    assert "Photo 1 added" in response.json()["replies"][0]["text"]
    big = b"\xff\xd8" + b"0" * (app.settings.max_photo_bytes + 10)
    response = await client.post(
        "/api/chat/photo", data={"session": token}, files={"file": ("big.jpg", big, "image/jpeg")}
    )
    assert "too large" in response.json()["replies"][0]["text"]
    response = await client.post(
        "/api/chat/photo", data={"session": "bad"}, files={"file": ("x.jpg", photo, "image/jpeg")}
    )
    assert response.status_code == 400
