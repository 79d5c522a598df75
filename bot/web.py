"""The web application of a role (:mod:`bot.roles`).

The bot role serves the web chat and the webhooks; the console role serves the police console
and ``/api/v1``; the all role serves everything. The console and the API are imported only
when served, so a bot-role process never loads them.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.bootstrap import App
from bot.channels import webchat
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.zalo import ZaloChannel

__all__ = ["create_web_app"]

INVALID_REQUEST = "Yêu cầu không hợp lệ. / Invalid request."

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(self)",
}


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response that does not set them itself.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` runs every request in a task
    group and a stream of its own, a measurable share of the CPU a webhook update costs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_web_app(
    app: App, *, telegram: TelegramChannel | None = None, zalo: ZaloChannel | None = None
) -> FastAPI:
    """The FastAPI application serving ``app`` in ``app.role``; the caller owns ``app``'s
    lifetime.

    With a ``telegram`` channel in webhook mode, ``POST /telegram/webhook`` is served too,
    and with a ``zalo`` one, ``POST /zalo/webhook`` (the caller starts and stops them); the
    console role serves no channel."""
    chats = app.role != "console"
    police = app.role != "bot"

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    web = FastAPI(
        title="Tipline",
        version="0.1.0",
        description={
            "bot": "Anonymous drug-crime tip line: web chat API.",
            "console": "Anonymous drug-crime tip line: API for police case systems.",
            "all": "Anonymous drug-crime tip line: web chat API and API for police case systems.",
        }[app.role],
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    web.state.tipline = app
    # Webhooks first: routes are matched in order, and they take the most requests.
    if chats and telegram is not None and telegram.mode == "webhook":
        from bot.channels.telegram import webhook

        web.state.telegram = telegram
        web.include_router(webhook.router)
    if chats and zalo is not None and zalo.mode == "webhook":
        from bot.channels.zalo import webhook as zalo_webhook

        web.state.zalo = zalo
        web.include_router(zalo_webhook.router)
    if chats:
        web.include_router(webchat.router)
    if police:
        from bot import api_v1, console

        web.include_router(api_v1.router)
        console.mount(web, app)
    if not chats:

        @web.get("/", include_in_schema=False)
        async def home() -> RedirectResponse:
            return RedirectResponse(console.PREFIX + "/", 303)

    web.add_middleware(SecurityHeaders)

    @web.exception_handler(RequestValidationError)
    async def invalid(_: Request, __: RequestValidationError) -> JSONResponse:
        # Never echo the input back: it may be tip text.
        return JSONResponse({"detail": INVALID_REQUEST}, 400)

    @web.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail
        if error.status_code == 400 and not isinstance(error, HTTPException):
            # Starlette's own parse errors (a malformed multipart body): English only, and
            # its wording may describe the input. Answer like any other invalid request.
            detail = INVALID_REQUEST
        return JSONResponse({"detail": detail}, error.status_code, headers=error.headers)

    @web.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @web.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (bot/metrics.py), for the bearer of TIPLINE_METRICS_TOKEN."""
        token = app.settings.metrics_token
        if token is None:
            raise HTTPException(404)
        expected = f"Bearer {token.get_secret_value()}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(app.metrics.exposition(), media_type=METRICS_CONTENT_TYPE)

    return web
