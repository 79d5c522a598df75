"""``POST /zalo/webhook``: events pushed by Zalo in webhook mode.

The secret Zalo sends in ``X-Bot-Api-Secret-Token`` (the one given to ``setWebhook``) is
checked in constant time before the body is even read: a wrong or missing one gets ``401``
and changes nothing. A body that is not an update gets ``400`` and is logged without its
content; one over 1 MB gets ``413``. Otherwise the event is handled before the answer
(``200``); an event Zalo sends again is handled once.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from bot.channels.webhooks import read_limited
from bot.channels.zalo.channel import ZaloChannel
from bot.channels.zalo.updates import MalformedUpdate, parse

__all__ = ["SECRET_HEADER", "router"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 (a header name)

router = APIRouter()


@router.post("/zalo/webhook", include_in_schema=False)
async def webhook(request: Request) -> Response:
    channel: ZaloChannel = request.app.state.zalo
    if not channel.webhook_secret_matches(request.headers.get(SECRET_HEADER)):
        log.warning("zalo webhook: a call without the right secret token was refused")
        return Response(status_code=401)
    body = await read_limited(request)
    if body is None:
        log.warning("zalo webhook: an oversized body was refused")
        return Response(status_code=413)
    try:
        event = parse(json.loads(body))
    except (ValueError, RecursionError, MalformedUpdate) as error:
        reason = str(error) if isinstance(error, MalformedUpdate) else "not JSON"
        log.warning(
            "zalo webhook: a malformed update was refused (%s, %d bytes)", reason, len(body)
        )
        return Response(status_code=400)
    if event is None:
        log.info("zalo webhook: an event without a message was ignored")
    else:
        await channel.handle(event)
    return JSONResponse({"ok": True})
