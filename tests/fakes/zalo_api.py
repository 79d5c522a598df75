"""A fake Zalo Bot API: a small real HTTP server (aiohttp.web) that keeps chats in memory.

It implements the methods of ``https://bot-api.zaloplatforms.com/bot<token>/<method>`` that
Tipline calls - ``getMe``, ``getUpdates`` (long polling: one update per answer, ``408`` when
nothing came within ``timeout``), ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``,
``sendMessage``, ``sendPhoto``, ``sendChatAction`` - answering ``{"ok": true, "result": …}``
or ``{"ok": false, "error_code": …, "description": …}`` like the real API, and checks what the
real API checks where a bug would hide: texts of 1-2000 characters, a known chat, the token,
a webhook secret of 8-256 characters, no ``getUpdates`` while a webhook is set. It also
serves the pictures of image events at ``/files/<name>`` (with or without a
``Content-Length``), as Zalo gives a picture's URL in the event.

Tests play the users: :meth:`FakeZalo.send_text`, :meth:`send_photo`, :meth:`send_sticker`,
:meth:`send_event` make an event and either queue it for ``getUpdates`` or, when a webhook is
set, POST it there with the ``X-Bot-Api-Secret-Token`` header and return the HTTP status once
the bot answered. Every call is recorded (:attr:`calls`); :meth:`fail` makes the next calls of
a method answer 429 (with ``Retry-After``), 403 or 5xx.

For a demo by hand::

    python -m tests.fakes.zalo_api --port 8082

prints how to point Tipline at it; ``POST /_test/send {"chat_id": "u1", "text": "/start"}``
types as a user, ``POST /_test/photo?chat_id=u1`` with an image as the body sends a photo,
``GET /_test/sent?chat_id=u1`` shows what the bot sent, and ``--chat u1`` lets you type in the
terminal instead (``/photo FILE`` there sends a picture).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from tests.fakes.server import FakeServer

__all__ = ["Call", "FakeZalo", "Stored", "ZaloError"]

DEFAULT_TOKEN = "1459232241454765289:TEST-fake-zalo-token_for-tipline"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_TEXT = 2000
FAILURES = {
    429: "Quota exceeded",
    403: "Forbidden: the user cannot receive messages from this bot",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ZaloError(Exception):
    """An error answer of the fake API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


@dataclass
class Call:
    """One request the bot made: the method, its decoded parameters, the HTTP status."""

    method: str
    params: dict[str, Any]
    status: int = 200


@dataclass
class Stored:
    """A message in a chat: who sent it and what (the bot's text, or the user's event)."""

    message_id: str
    by_bot: bool
    text: str | None = None
    event: dict[str, Any] | None = None


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: int | None = 1
    chat_id: str | None = None


@dataclass
class Picture:
    data: bytes
    content_type: str = "image/jpeg"
    declare_length: bool = True
    status: int = 200


@dataclass
class _Webhook:
    url: str
    secret: str
    updated_at: int


def _millis() -> int:
    return int(time.time() * 1000)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FakeZalo(FakeServer):
    """The fake server. ``async with FakeZalo() as fake:`` serves on a free port.

    ``wrap_webhook`` sends webhook bodies as ``{"ok": true, "result": update}`` (as the API
    reference shows); False sends the bare update (as some integrations report)."""

    token: str = DEFAULT_TOKEN
    account_name: str = "bot.TiplineTest"
    wrap_webhook: bool = True
    calls: list[Call] = field(default_factory=list)
    webhook_statuses: list[int] = field(default_factory=list)
    base_url: str = ""

    def __post_init__(self) -> None:
        self.bot_id = self.token.split(":")[0]
        self.chats: dict[str, str] = {}  # chat id -> "PRIVATE" or "GROUP"
        self.names: dict[str, str] = {}
        self.history: dict[str, list[Stored]] = {}
        self.pictures: dict[str, Picture] = {}
        self.webhook: _Webhook | None = None
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._failures: dict[str, list[Failure]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._client: ClientSession | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/files/{name}", self._picture)
        app.router.add_post("/_test/send", self._test_send)
        app.router.add_post("/_test/photo", self._test_photo)
        app.router.add_post("/_test/sticker", self._test_sticker)
        app.router.add_post("/_test/fail", self._test_fail)
        app.router.add_get("/_test/sent", self._test_sent)
        app.router.add_get("/_test/calls", self._test_calls)

    # --- playing the users ----------------------------------------------------------------------

    def user(self, chat_id: str | None = None, name: str = "Lan") -> str:
        """A Zalo user and their private chat with the bot; the chat id (Zalo's look: hex)."""
        chat_id = chat_id or secrets.token_hex(10)
        self.chats[chat_id] = "PRIVATE"
        self.names[chat_id] = name
        self.history.setdefault(chat_id, [])
        return chat_id

    def group(self, chat_id: str | None = None) -> str:
        chat_id = chat_id or f"g{secrets.token_hex(9)}"
        self.chats[chat_id] = "GROUP"
        self.history.setdefault(chat_id, [])
        return chat_id

    def event(self, chat_id: str, event_name: str, **content: Any) -> dict[str, Any]:
        """A message event from the user of ``chat_id``, noted in the chat's history."""
        if chat_id not in self.chats:
            self.user(chat_id)
        sender = chat_id if self.chats[chat_id] == "PRIVATE" else secrets.token_hex(10)
        message = {
            "from": {
                "id": sender,
                "display_name": self.names.get(chat_id, "Lan"),
                "is_bot": False,
            },
            "chat": {"id": chat_id, "chat_type": self.chats[chat_id]},
            "message_id": secrets.token_hex(10),
            "date": _millis(),
            **content,
        }
        update = {"event_name": event_name, "message": message}
        self.history[chat_id].append(Stored(message["message_id"], False, event=update))
        return update

    async def send_text(self, chat_id: str, text: str) -> int | None:
        return await self.push(self.event(chat_id, "message.text.received", text=text))

    def add_picture(self, data: bytes, **options: Any) -> str:
        """Serve ``data`` at a new URL, as Zalo's CDN would; the URL."""
        name = f"{secrets.token_hex(8)}.jpg"
        self.pictures[name] = Picture(data, **options)
        return f"{self.base_url}/files/{name}"

    async def send_photo(
        self, chat_id: str, data: bytes, *, caption: str | None = None, **options: Any
    ) -> int | None:
        """A photo event whose picture is served by the fake (``declare_length=False``: no
        ``Content-Length``, ``status=404``: the link expired)."""
        content: dict[str, Any] = {"photo": self.add_picture(data, **options)}
        if caption is not None:
            content["caption"] = caption
        return await self.push(self.event(chat_id, "message.image.received", **content))

    async def send_sticker(self, chat_id: str) -> int | None:
        update = self.event(
            chat_id,
            "message.sticker.received",
            sticker="0e078a2fb66a5f34067b",
            url="https://stickers.example/0e078a2fb66a5f34067b.png",
        )
        return await self.push(update)

    async def send_event(self, chat_id: str, event_name: str, **content: Any) -> int | None:
        return await self.push(self.event(chat_id, event_name, **content))

    async def push(self, update: dict[str, Any]) -> int | None:
        """Deliver an update: POST it to the webhook (the status) or queue it (None)."""
        if self.webhook is None:
            self._updates.append(update)
            self._new_update.set()
            return None
        return await self.post_to_webhook(update)

    async def post_to_webhook(self, update: dict[str, Any]) -> int:
        """POST ``update`` to the webhook with the secret header (again, for a redelivery)."""
        assert self.webhook is not None and self._client is not None
        body = {"ok": True, "result": update} if self.wrap_webhook else update
        headers = {SECRET_HEADER: self.webhook.secret}
        async with self._client.post(self.webhook.url, json=body, headers=headers) as response:
            await response.read()
            self.webhook_statuses.append(response.status)
            return response.status

    # --- looking at what happened ---------------------------------------------------------------

    def sent(self, chat_id: str) -> list[Stored]:
        """The bot's messages in the chat, in order."""
        return [s for s in self.history.get(chat_id, []) if s.by_bot]

    def texts(self, chat_id: str) -> list[str]:
        return [s.text or "" for s in self.sent(chat_id)]

    def calls_of(self, method: str, status: int | None = 200) -> list[Call]:
        return [c for c in self.calls if c.method == method and status in (None, c.status)]

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = 1,
        chat_id: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (for ``chat_id``, if given) fail."""
        self._failures.setdefault(method, []).append(Failure(status, times, retry_after, chat_id))

    def recover(self, method: str | None = None) -> None:
        """Forget the scripted failures (of ``method``, or all)."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    @property
    def pending(self) -> int:
        """Updates queued for ``getUpdates``."""
        return len(self._updates)

    async def wait_for(self, condition: Callable[[], bool], seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Zalo did not see what was expected")
            await asyncio.sleep(0.02)

    # --- the Bot API ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ZaloError(401, "Unauthorized")
            self._maybe_fail(method, params)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise ZaloError(404, "Not found")
            result = await handler(params)
        except ZaloError as error:
            call.status = error.code
            body = {"ok": False, "error_code": error.code, "description": error.description}
            headers = {}
            if error.retry_after is not None:
                headers["Retry-After"] = str(error.retry_after)
            return web.json_response(body, status=error.code, headers=headers)
        return web.json_response({"ok": True, "result": result})

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        for failure in self._failures.get(method, []):
            if failure.remaining > 0 and failure.chat_id in (None, params.get("chat_id")):
                failure.remaining -= 1
                retry_after = failure.retry_after if failure.status == 429 else None
                raise ZaloError(failure.status, FAILURES.get(failure.status, "Error"), retry_after)

    def _chat(self, params: dict[str, Any]) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or chat_id not in self.chats:
            raise ZaloError(400, "Bad request: chat_id is invalid")
        return chat_id

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "account_name": self.account_name,
                "account_type": "BASIC", "can_join_groups": False}  # fmt: skip

    async def _m_getUpdates(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is not None:
            raise ZaloError(400, "Bad request: getUpdates does not work while a webhook is set")
        if not self._updates and not self._closing:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), float(params.get("timeout") or 30))
        if not self._updates:
            raise ZaloError(408, "Request timeout")
        return self._updates.pop(0)

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= _utf16(text) <= MAX_TEXT:
            raise ZaloError(400, "Bad request: text must have 1 to 2000 characters")
        return self._store(chat_id, text)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat(params)
        if not str(params.get("photo") or "").startswith(("https://", "http://")):
            raise ZaloError(400, "Bad request: photo must be a URL")
        return self._store(chat_id, params.get("caption"))

    def _store(self, chat_id: str, text: str | None) -> dict[str, Any]:
        message_id = f"{next(self._ids):020x}"
        self.history[chat_id].append(Stored(message_id, True, text=text))
        return {"message_id": message_id, "date": _millis()}

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ZaloError(400, "Bad request: unknown action")
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ZaloError(400, "Bad request: url is invalid")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ZaloError(400, "Bad request: secret_token must have 8 to 256 characters")
        self.webhook = _Webhook(url, secret, _millis())
        pending, self._updates = self._updates, []
        for update in pending:  # delivered in order, as Zalo would
            asyncio.get_running_loop().create_task(self.post_to_webhook(update))
        return {"url": url, "updated_at": self.webhook.updated_at}

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        self.webhook = None
        return {"url": "", "updated_at": _millis()}

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is None:
            return {"url": "", "updated_at": _millis()}
        return {"url": self.webhook.url, "updated_at": self.webhook.updated_at}

    async def _picture(self, request: web.Request) -> web.StreamResponse:
        picture = self.pictures.get(request.match_info["name"])
        if picture is None or picture.status == 404:
            raise web.HTTPNotFound
        if picture.status != 200:
            return web.Response(status=picture.status)
        if picture.declare_length:
            return web.Response(body=picture.data, content_type=picture.content_type)
        response = web.StreamResponse(headers={"Content-Type": picture.content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(picture.data), 64 * 1024):
            await response.write(picture.data[start : start + 64 * 1024])
        await response.write_eof()
        return response

    # --- the demo endpoints ----------------------------------------------------------------------

    async def _test_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id = str(body["chat_id"])
        if chat_id not in self.chats:
            self.user(chat_id, str(body.get("name", "Demo")))
        status = await self.send_text(chat_id, str(body["text"]))
        return web.json_response({"ok": True, "webhook_status": status})

    async def _test_photo(self, request: web.Request) -> web.Response:
        chat_id = request.query["chat_id"]
        if chat_id not in self.chats:
            self.user(chat_id, "Demo")
        data = await request.read()
        status = await self.send_photo(chat_id, data, caption=request.query.get("caption"))
        return web.json_response({"ok": True, "webhook_status": status})

    async def _test_sticker(self, request: web.Request) -> web.Response:
        body = await request.json()
        status = await self.send_sticker(str(body["chat_id"]))
        return web.json_response({"ok": True, "webhook_status": status})

    async def _test_fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.fail(body["method"], int(body["status"]), times=int(body.get("times", 1)),
                  retry_after=int(body.get("retry_after", 1)))  # fmt: skip
        return web.json_response({"ok": True})

    async def _test_sent(self, request: web.Request) -> web.Response:
        chat_id = request.query["chat_id"]
        return web.json_response(
            [{"message_id": s.message_id, "text": s.text} for s in self.sent(chat_id)]
        )

    async def _test_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c for c in self.calls if method in (None, c.method)]
        return web.json_response([{"method": c.method, "status": c.status} for c in calls])


async def _params(request: web.Request) -> dict[str, Any]:
    """Parameters as JSON (what the examples send), a form, or the query string."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise web.HTTPBadRequest(text="body is not JSON") from error
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return params


# --- demo from the command line -----------------------------------------------------------------


def _read(name: str) -> bytes:
    return Path(name.strip()).expanduser().read_bytes()


async def _chat_in_terminal(fake: FakeZalo, chat_id: str) -> None:
    """Type as user ``chat_id``; ``/photo FILE`` sends a picture."""
    loop = asyncio.get_running_loop()
    fake.user(chat_id, "Demo")
    shown = 0
    while True:
        await asyncio.sleep(0.8)
        for stored in fake.sent(chat_id)[shown:]:
            print(f"\n[bot] {stored.text}")
        shown = len(fake.sent(chat_id))
        try:
            line = (await loop.run_in_executor(None, input, "\nyou> ")).strip()
        except EOFError:
            return
        if line.startswith("/photo "):
            try:
                data = await loop.run_in_executor(None, _read, line.removeprefix("/photo "))
            except OSError as error:
                print(f"cannot read the file: {error}")
                continue
            await fake.send_photo(chat_id, data)
        elif line:
            await fake.send_text(chat_id, line)


async def _serve(host: str, port: int, token: str, chat: str | None) -> None:
    fake = FakeZalo(token=token)
    base = await fake.start(host, port)
    example = json.dumps({"chat_id": "u1", "text": "/start"})
    print(
        f"Fake Zalo Bot API on {base} (bot {fake.account_name}).\n\n"
        "Run Tipline against it (long polling):\n"
        f"  TIPLINE_ZALO_TOKEN='{token}' TIPLINE_ZALO_API_BASE={base} tipline serve\n\n"
        "Then play a user:\n"
        f"  curl -s {base}/_test/send -H 'content-type: application/json' -d '{example}'\n"
        f"  curl -s '{base}/_test/photo?chat_id=u1' --data-binary @photo.jpg\n"
        f"  curl -s '{base}/_test/sent?chat_id=u1'\n"
        "or start this with --chat u1 to type in this terminal. Ctrl-C stops.",
        flush=True,
    )
    try:
        if chat is not None:
            await _chat_in_terminal(fake, chat)
        else:
            await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="A fake Zalo Bot API for Tipline demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--chat", help="type as this user (chat id) in the terminal")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token, args.chat))


if __name__ == "__main__":
    main()
