"""The web chat channel: a mobile-friendly page and a small JSON API.

``POST /api/chat`` takes one thing the user did and answers with the bot's replies;
``POST /api/chat/photo`` takes one photo. The session token is chosen by the page
(random, kept in the tab's sessionStorage) and is the chat key: the server stores only a
keyed hash of it. Nothing is kept server-side between requests except the sealed state.
See docs/webchat-api.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from handlers.conversation import Conversation
from handlers.types import Attachment, Inbound, Location, Outbound

__all__ = ["ChatMessage", "router"]

STATIC = Path(__file__).parent / "webchat_static"
SESSION = re.compile(r"^[A-Za-z0-9_-]{22,128}$")
MAX_JSON_BYTES = 64 * 1024


class LocationIn(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ChatMessage(BaseModel):
    """One thing the user did: typed text, a button's payload, or a location."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(description="Random token (22–128 of A–Z a–z 0–9 _ -) chosen by the page.")
    text: str | None = Field(None, max_length=20000)
    payload: str | None = Field(None, max_length=64)
    location: LocationIn | None = None
    locale: Literal["vi", "en"] | None = None

    @field_validator("session")
    @classmethod
    def _session(cls, value: str) -> str:
        if not SESSION.match(value):
            raise ValueError("session must be 22–128 characters of A–Z a–z 0–9 _ -")
        return value


def render(replies: list[Outbound]) -> dict[str, Any]:
    return {
        "replies": [
            {
                "text": r.text,
                "kind": r.kind,
                "sensitive": r.sensitive,
                "erase_input": r.erase_input,
                "buttons": [
                    [{"label": b.label, "payload": b.payload} for b in row] for row in r.buttons
                ],
            }
            for r in replies
        ]
    }


def _conversation(request: Request) -> Conversation:
    conversation: Conversation = request.app.state.tipline.conversation
    return conversation


def _no_store(content: dict[str, Any]) -> JSONResponse:
    return JSONResponse(content, headers={"Cache-Control": "no-store"})


router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


@router.get("/chat/{name}", include_in_schema=False)
async def asset(name: str) -> FileResponse:
    if name not in ("chat.js", "chat.css"):
        raise HTTPException(404)
    return FileResponse(STATIC / name)


@router.post("/api/chat", summary="Send text, a button press or a location")
async def send(request: Request) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise HTTPException(413, "Tin nhắn quá lớn. / Message too large.")
    try:
        message = ChatMessage.model_validate_json(body)
    except ValueError as error:
        raise HTTPException(400, "Yêu cầu không hợp lệ. / Invalid request.") from error
    if message.text is None and message.payload is None and message.location is None:
        raise HTTPException(400, "Tin nhắn trống. / Empty message.")
    inbound = Inbound(
        chat=f"web:{message.session}",
        text=message.text,
        payload=message.payload,
        location=Location(message.location.latitude, message.location.longitude)
        if message.location
        else None,
        locale=message.locale,
    )
    return _no_store(render(await _conversation(request).handle(inbound)))


@router.post("/api/chat/photo", summary="Send one photo")
async def photo(
    request: Request,
    session: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
    locale: Annotated[Literal["vi", "en"] | None, Form()] = None,
) -> JSONResponse:
    if not SESSION.match(session):
        raise HTTPException(400, "Yêu cầu không hợp lệ. / Invalid request.")
    limit = request.app.state.tipline.settings.max_photo_bytes
    # Read one byte past the limit so an oversized file is refused by the conversation.
    data = await file.read(limit + 1)
    inbound = Inbound(
        chat=f"web:{session}",
        attachments=(Attachment(data=data, mime=file.content_type, filename=None),),
        locale=locale,
    )
    return _no_store(render(await _conversation(request).handle(inbound)))
