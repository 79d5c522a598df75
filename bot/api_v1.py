"""A JSON API for police case systems: the same tips and permissions as the console.

Every request carries ``Authorization: Bearer <token>`` (created with
``tipline tokens create``); the token opens its officer's key for that request only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bot.bootstrap import App
from storage.accounts import LoginFailed
from storage.casework import NotAllowed
from storage.police import UnlockedOfficer

__all__ = ["router"]

bearer = HTTPBearer(auto_error=False, description="A token from `tipline tokens create`.")
router = APIRouter(
    prefix="/api/v1",
    tags=["police"],
    # Documented so the OpenAPI matches what every operation can answer (bot/web.py turns
    # validation errors into 400).
    responses={
        400: {"description": "Invalid request."},
        401: {"description": "Missing, invalid or revoked bearer token."},
    },
)

NOT_FOUND = "No such tip in your queues."
# Integers that reach SQL are bounded: SQLite and PostgreSQL refuse (500) what does not fit.
MAX_CODE = 2**31 - 1


def _app(request: Request) -> App:
    tipline: App = request.app.state.tipline
    return tipline


async def officer(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UnlockedOfficer:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            401, "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        return await _app(request).accounts.token_login(credentials.credentials)
    except LoginFailed:
        raise HTTPException(
            401, "Invalid or revoked token.", headers={"WWW-Authenticate": "Bearer"}
        ) from None


Officer = Annotated[UnlockedOfficer, Depends(officer)]


class TipOut(BaseModel):
    id: str
    queue_id: int
    category: str
    status: str
    disposition: str | None
    province_code: int
    commune_code: int | None
    received_at: datetime
    unread_for_police: int
    escalated: bool


class MessageOut(BaseModel):
    author: Literal["police", "reporter"]
    text: str
    created_at: datetime


class TipDetail(TipOut):
    content: dict[str, Any] = Field(description="when, where, location, description, photos")
    outcome: dict[str, Any] | None
    messages: list[MessageOut]


class StatusIn(BaseModel):
    status: Literal["new", "in_review", "actioned", "closed"]
    disposition: (
        Literal["confirmed", "already_known", "unfounded", "prank", "out_of_jurisdiction"] | None
    ) = None


class QuestionIn(BaseModel):
    text: str = Field(min_length=1, max_length=3000)


class QueueOut(BaseModel):
    id: int
    name: str
    province_code: int
    commune_code: int | None


@router.get("/queues", response_model=list[QueueOut], summary="Queues of the token's officer")
async def queues(request: Request, me: Officer) -> list[QueueOut]:
    result = []
    for queue in await _app(request).police.queues():
        if queue.id in me.queue_keys:
            result.append(
                QueueOut(
                    id=queue.id,
                    name=queue.name,
                    province_code=queue.province_code,
                    commune_code=queue.commune_code,
                )
            )
    return result


@router.get("/tips", response_model=list[TipOut], summary="Tips visible to the officer")
async def tips(
    request: Request,
    me: Officer,
    status: Literal["new", "in_review", "actioned", "closed"] | None = None,
    category: str | None = None,
    commune: Annotated[int | None, Query(ge=0, le=MAX_CODE)] = None,
) -> list[TipOut]:
    rows = await _app(request).casework.list_tips(
        me, status, category=category, commune_code=commune
    )
    return [
        TipOut(
            id=t.tip_id,
            queue_id=t.queue_id,
            category=t.category,
            status=t.status,
            disposition=t.disposition,
            province_code=t.province_code,
            commune_code=t.commune_code,
            received_at=t.received_at,
            unread_for_police=t.unread_for_police,
            escalated=t.escalated_at is not None,
        )
        for t in rows
    ]


@router.get(
    "/tips/{tip_id}",
    response_model=TipDetail,
    summary="One tip, decrypted (audited)",
    responses={404: {"description": NOT_FOUND}},
)
async def tip(request: Request, me: Officer, tip_id: str) -> TipDetail:
    try:
        opened = await _app(request).casework.open_tip(me, tip_id)
    except NotAllowed:
        raise HTTPException(404, NOT_FOUND) from None
    return TipDetail(
        id=opened.tip_id,
        queue_id=opened.queue_id,
        category=opened.category,
        status=opened.status,
        disposition=opened.disposition,
        province_code=opened.province_code,
        commune_code=opened.commune_code,
        received_at=opened.received_at,
        unread_for_police=0,
        escalated=opened.escalated,
        content=opened.content,
        outcome=opened.outcome,
        messages=[
            MessageOut(author=m.author, text=m.text, created_at=m.created_at)  # type: ignore[arg-type]
            for m in opened.messages
        ],
    )


@router.get(
    "/tips/{tip_id}/photos/{position}",
    summary="A photo of a tip (JPEG, audited)",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": NOT_FOUND}},
)
async def photo(
    request: Request, me: Officer, tip_id: str, position: Annotated[int, Path(ge=0, le=MAX_CODE)]
) -> Response:
    try:
        data = await _app(request).casework.photo(me, tip_id, position)
    except (NotAllowed, LookupError):
        raise HTTPException(404, NOT_FOUND) from None
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post(
    "/tips/{tip_id}/status",
    status_code=204,
    summary="Change status/disposition",
    responses={404: {"description": NOT_FOUND}},
)
async def set_status(request: Request, me: Officer, tip_id: str, body: StatusIn) -> Response:
    try:
        await _app(request).casework.set_status(me, tip_id, body.status, body.disposition)
    except NotAllowed:
        raise HTTPException(404, NOT_FOUND) from None
    return Response(status_code=204)


@router.post(
    "/tips/{tip_id}/questions",
    status_code=204,
    summary="Ask the reporter (they read it with their receipt)",
    responses={404: {"description": NOT_FOUND}},
)
async def ask(request: Request, me: Officer, tip_id: str, body: QuestionIn) -> Response:
    try:
        await _app(request).casework.ask_reporter(me, tip_id, body.text)
    except NotAllowed:
        raise HTTPException(404, NOT_FOUND) from None
    return Response(status_code=204)
