"""``POST /telegram/webhook``: updates pushed by Telegram in webhook mode.

The secret token Telegram sends in ``X-Telegram-Bot-Api-Secret-Token`` is checked (in
constant time) before the body is even read: a wrong or missing one gets ``401`` and changes
nothing. A body that is not an update gets ``400`` and is logged without its content.
Otherwise the update is handled before the answer (``200``), so Telegram sends the chat's
next update only when this one is done.
"""

from __future__ import annotations

import logging

from aiogram.types import Update
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.privacy import where
from bot.channels.webhooks import read_limited

__all__ = ["SECRET_HEADER", "router"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)

router = APIRouter()


@router.post("/telegram/webhook", include_in_schema=False)
async def webhook(request: Request) -> Response:
    channel: TelegramChannel = request.app.state.telegram
    if not channel.webhook_secret_matches(request.headers.get(SECRET_HEADER)):
        log.warning("telegram webhook: a call without the right secret token was refused")
        return Response(status_code=401)
    body = await read_limited(request)
    if body is None:
        log.warning("telegram webhook: an oversized body was refused")
        return Response(status_code=413)
    try:
        update = Update.model_validate_json(body, context={"bot": channel.bot})
    except ValidationError:
        log.warning("telegram webhook: a malformed update was refused (%d bytes)", len(body))
        return Response(status_code=400)
    try:
        await channel.process(update)
    except Exception as error:  # answering 500 would make Telegram send it again and again
        log.error("telegram webhook: an update failed: %s", where(error))
    return Response(status_code=200)
