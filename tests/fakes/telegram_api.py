"""A fake Telegram Bot API: a small real HTTP server (aiohttp.web) that keeps chats in memory.

It implements the methods Tipline calls - ``getMe``, ``getUpdates`` (long polling with
``offset`` and ``timeout``), ``sendMessage``, ``answerCallbackQuery``, ``deleteMessage``,
``deleteMessages``, ``setMyCommands``/``getMyCommands``, ``setWebhook``, ``deleteWebhook``,
``getWebhookInfo``, ``sendChatAction``, ``getFile`` and the file download at
``/file/bot<token>/<path>`` - and checks what the real API checks where a bug would hide:
HTML that does not parse, texts over 4096 characters, ``callback_data`` over 64 bytes,
deleting messages older than 48 hours. Parameters are accepted as JSON, form or multipart
data, like the real API (aiogram sends multipart).

Tests play the users: :meth:`FakeTelegram.send_text`, :meth:`press`, :meth:`send_photo`,
:meth:`send_document`, :meth:`send_location` make an update and either queue it for
``getUpdates`` or, when a webhook is set, POST it there (with the secret token) and return the
HTTP status once the bot answered. Every call is recorded (:attr:`calls`); :meth:`fail`
makes the next calls of a method answer 429 (with ``retry_after``), 403 or 500.
:meth:`limit_rates` (off by default) makes ``sendMessage`` answer 429 like Telegram when a bot
sends more than ``per_bot`` messages a second (a token bucket holding a second's worth) or a
chat gets more than ``per_chat`` a second; :attr:`rate_limited` counts those answers.
``any_chat=True`` accepts every positive chat id as a private chat (benchmarks with many
subscribers); ``latency`` makes ``sendMessage`` take that many seconds (requests in flight).

For a demo by hand::

    python -m tests.fakes.telegram_api --port 8081

prints how to point Tipline at it; ``POST /_test/send {"chat_id": 1, "text": "/start"}``
types as a user, ``POST /_test/press {"chat_id": 1, "button": "2"}`` presses a button,
``GET /_test/sent?chat_id=1`` shows what the bot sent, and ``--chat 1`` lets you type in
the terminal instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import ClientSession, web

from tests.fakes.server import FakeServer

__all__ = ["Call", "FakeTelegram", "TelegramError"]

DEFAULT_TOKEN = "123456789:TEST-fake-token_for-tipline-tests"
DELETE_WINDOW = 48 * 3600
CHAT_SLACK = 0.05
MAX_DOWNLOAD = 20 * 1024 * 1024
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip
FAILURES = {
    429: "Too Many Requests: retry after {retry_after}",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class TelegramError(Exception):
    """An error answer of the fake API (status, description, parameters)."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class Call:
    """One request the bot made: the method, its decoded parameters, the HTTP status, and
    when it arrived (``time.monotonic()``)."""

    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    remaining: int
    retry_after: int = 1
    chat_id: int | None = None


@dataclass
class _Limits:
    per_bot: float | None
    per_chat: float | None
    tokens: float = 0.0
    last: float = field(default_factory=time.monotonic)
    chats: dict[Any, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = self.per_bot or 0.0


@dataclass
class Stored:
    """A message in a chat: the Bot API object, who sent it, whether it was deleted."""

    message: dict[str, Any]
    by_bot: bool
    html: str | None = None
    deleted: bool = False


@dataclass
class _Webhook:
    url: str
    secret: str | None
    allowed_updates: list[str] | None


@dataclass
class _File:
    path: str
    data: bytes
    unique_id: str


class _TextOf(HTMLParser):
    """Telegram's HTML parse mode: the visible text, refusing unsupported tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise TelegramError(
                400, f"Bad Request: can't parse entities: Unsupported start tag {tag!r}"
            )

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    if (parse_mode or "").upper() != "HTML":
        return text
    parser = _TextOf()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode(value: Any) -> Any:
    """Form fields are strings; the API reads JSON objects, numbers and booleans from them."""
    if not isinstance(value, str):
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "[") or stripped in ("true", "false"):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    if stripped.lstrip("-").isdigit() and len(stripped) < 20:
        return int(stripped)
    return value


@dataclass
class FakeTelegram(FakeServer):
    """The fake server. ``async with FakeTelegram() as fake:`` serves on a free port."""

    token: str = DEFAULT_TOKEN
    username: str = "tipline_test_bot"
    calls: list[Call] = field(default_factory=list)
    webhook_statuses: list[int] = field(default_factory=list)
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    base_url: str = ""
    any_chat: bool = False
    latency: float = 0.0

    def __post_init__(self) -> None:
        self.bot_id = int(self.token.split(":")[0])
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.history: dict[int, dict[int, Stored]] = {}
        self.files: dict[str, _File] = {}
        self.webhook: _Webhook | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._failures: dict[str, list[Failure]] = {}
        self._limits: _Limits | None = None
        self.rate_limited = 0
        self._queries: dict[str, bool] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._client: ClientSession | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        app.router.add_post("/_test/send", self._test_send)
        app.router.add_post("/_test/press", self._test_press)
        app.router.add_post("/_test/fail", self._test_fail)
        app.router.add_post("/_test/limits", self._test_limits)
        app.router.add_get("/_test/sent", self._test_sent)
        app.router.add_get("/_test/calls", self._test_calls)

    # --- playing the users ----------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Lan",
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> dict[str, Any]:
        """A user and their private chat with the bot (chat id = user id)."""
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = {"id": user_id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        self.chats[user_id] = chat
        return user

    def group(self, chat_id: int, title: str = "Hội phụ huynh") -> dict[str, Any]:
        self.chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": title}
        return self.chats[chat_id]

    def _author(self, chat_id: int, user_id: int | None) -> dict[str, Any]:
        if user_id is None:
            user_id = chat_id
        return self.users.get(user_id) or self.user(user_id)

    def _user_message(self, chat_id: int, user_id: int | None, **content: Any) -> dict[str, Any]:
        if chat_id not in self.chats:
            self.user(chat_id)
        message = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chats[chat_id],
            "from": self._author(chat_id, user_id),
            **content,
        }
        self.history[chat_id][message["message_id"]] = Stored(message, by_bot=False)
        return message

    def _next_message_id(self, chat_id: int) -> int:
        messages = self.history.setdefault(chat_id, {})
        return max(messages, default=0) + 1

    async def send_text(self, chat_id: int, text: str, *, user_id: int | None = None) -> int | None:
        content: dict[str, Any] = {"text": text}
        entities = []
        if text.startswith("/"):
            entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
        mention = f"@{self.username}"
        if mention in text:
            entities.append(
                {"type": "mention", "offset": text.index(mention), "length": len(mention)}
            )
        if entities:
            content["entities"] = entities
        return await self.push({"message": self._user_message(chat_id, user_id, **content)})

    async def press(self, chat_id: int, data: str, *, message_id: int | None = None) -> int | None:
        """Press the button with ``data`` on the bot's message (the latest one offering it)."""
        offering = [
            s for s in self.history.get(chat_id, {}).values()
            if s.by_bot and not s.deleted and data in _callback_data(s.message)
        ]  # fmt: skip
        if message_id is not None:
            offering = [s for s in offering if s.message["message_id"] == message_id]
        assert offering, f"no message in chat offers a button {data!r}"
        query_id = str(next(self._ids) + 10**12)
        self._queries[query_id] = False
        query = {
            "id": query_id,
            "from": self._author(chat_id, None),
            "message": offering[-1].message,
            "chat_instance": f"ci{chat_id}",
            "data": data,
        }
        return await self.push({"callback_query": query})

    def add_file(self, data: bytes, folder: str = "photos", suffix: str = "jpg") -> str:
        number = next(self._ids)
        file_id = f"AgAC{number:08d}file"
        self.files[file_id] = _File(f"{folder}/file_{number}.{suffix}", data, f"uniq{number}")
        return file_id

    async def send_photo(
        self,
        chat_id: int,
        data: bytes,
        *,
        size: tuple[int, int] = (1280, 960),
        thumbnail: bytes | None = None,
        declared_size: int | None = None,
        caption: str | None = None,
    ) -> int | None:
        """A photo as Telegram offers it: a small thumbnail first, the full size last."""
        sizes = []
        if thumbnail is not None:
            thumb_id = self.add_file(thumbnail)
            sizes.append(self._photo_size(thumb_id, 90, 67, len(thumbnail)))
        full_id = self.add_file(data)
        sizes.append(self._photo_size(full_id, *size, declared_size or len(data)))
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return await self.push({"message": self._user_message(chat_id, None, **content)})

    def _photo_size(self, file_id: str, width: int, height: int, size: int) -> dict[str, Any]:
        unique = self.files[file_id].unique_id
        return {"file_id": file_id, "file_unique_id": unique, "width": width, "height": height,
                "file_size": size}  # fmt: skip

    async def send_document(
        self,
        chat_id: int,
        data: bytes,
        *,
        mime: str,
        file_name: str = "file",
        declared_size: int | None = None,
    ) -> int | None:
        file_id = self.add_file(data, "documents", file_name.rpartition(".")[2] or "bin")
        document = {
            "file_id": file_id,
            "file_unique_id": self.files[file_id].unique_id,
            "file_name": file_name,
            "mime_type": mime,
            "file_size": declared_size if declared_size is not None else len(data),
        }
        return await self.push({"message": self._user_message(chat_id, None, document=document)})

    async def send_location(self, chat_id: int, latitude: float, longitude: float) -> int | None:
        location = {"latitude": latitude, "longitude": longitude}
        return await self.push({"message": self._user_message(chat_id, None, location=location)})

    async def push(self, body: dict[str, Any]) -> int | None:
        """Deliver an update: POST it to the webhook (the status) or queue it (None)."""
        update = {"update_id": next(self._update_ids), **body}
        if self.webhook is None:
            self._updates.append(update)
            self._new_update.set()
            return None
        return await self.post_to_webhook(update)

    async def post_to_webhook(self, update: dict[str, Any]) -> int:
        assert self.webhook is not None and self._client is not None
        headers = {}
        if self.webhook.secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret
        async with self._client.post(self.webhook.url, json=update, headers=headers) as response:
            await response.read()
            self.webhook_statuses.append(response.status)
            return response.status

    def age(self, chat_id: int, seconds: float) -> None:
        """Make every message of the chat ``seconds`` older."""
        for stored in self.history.get(chat_id, {}).values():
            stored.message["date"] -= int(seconds)

    # --- looking at what happened ---------------------------------------------------------------

    def sent(self, chat_id: int) -> list[Stored]:
        """The bot's messages in the chat, in order, deleted ones included."""
        return [s for s in self.history.get(chat_id, {}).values() if s.by_bot]

    def visible(self, chat_id: int) -> list[Stored]:
        """What the user still sees in the chat, both sides."""
        return [s for s in self.history.get(chat_id, {}).values() if not s.deleted]

    def calls_of(self, method: str, status: int | None = 200) -> list[Call]:
        return [c for c in self.calls if c.method == method and status in (None, c.status)]

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (for ``chat_id``, if given) fail."""
        self._failures.setdefault(method, []).append(Failure(status, times, retry_after, chat_id))

    def limit_rates(self, per_bot: float | None = 30, per_chat: float | None = 1) -> None:
        """Answer ``sendMessage`` with 429 beyond these rates (None: that limit is off)."""
        self._limits = _Limits(per_bot, per_chat) if per_bot or per_chat else None

    def recover(self, method: str | None = None) -> None:
        """Forget the scripted failures (of ``method``, or all)."""
        if method is None:
            self._failures.clear()
        else:
            self._failures.pop(method, None)

    async def wait_for(self, condition: Callable[[], bool], seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Telegram did not see what was expected")
            await asyncio.sleep(0.02)

    # --- the Bot API ------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise TelegramError(401, "Unauthorized")
            self._maybe_fail(method, params)
            if method == "sendMessage" and self._limits is not None:
                self._enforce(self._limits, params.get("chat_id"))
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                raise TelegramError(404, "Not Found")
            result = await handler(params)
        except TelegramError as error:
            call.status = error.status
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            return web.json_response(body, status=error.status)
        return web.json_response({"ok": True, "result": result})

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        for failure in self._failures.get(method, []):
            if failure.remaining > 0 and failure.chat_id in (None, params.get("chat_id")):
                failure.remaining -= 1
                text = FAILURES.get(failure.status, "Error").format(retry_after=failure.retry_after)
                extra = {"retry_after": failure.retry_after} if failure.status == 429 else {}
                raise TelegramError(failure.status, text, **extra)

    def _enforce(self, limits: _Limits, chat_id: Any) -> None:
        now = time.monotonic()
        if limits.per_bot:
            limits.tokens = min(
                limits.per_bot, limits.tokens + (now - limits.last) * limits.per_bot
            )
            limits.last = now
        interval = 1 / limits.per_chat if limits.per_chat else 0.0
        last = limits.chats.get(chat_id)
        # A little slack for requests that left the bot a second apart and met on the way.
        too_soon = last is not None and now - last < interval - CHAT_SLACK
        if (limits.per_bot and limits.tokens < 1) or too_soon:
            self.rate_limited += 1
            wait = 1 if too_soon else max(1, math.ceil((1 - limits.tokens) / limits.per_bot))
            raise TelegramError(429, FAILURES[429].format(retry_after=wait), retry_after=wait)
        if limits.per_bot:
            limits.tokens -= 1
        if interval:
            limits.chats[chat_id] = now

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized
        path = request.match_info["path"]
        found = [f for f in self.files.values() if f.path == path]
        if not found:
            raise web.HTTPNotFound
        return web.Response(body=found[0].data, content_type="application/octet-stream")

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        chat_id = params.get("chat_id")
        if chat is None and self.any_chat and isinstance(chat_id, int) and chat_id > 0:
            self.user(chat_id)
            chat = self.chats[chat_id]
        if chat is None:
            raise TelegramError(400, "Bad Request: chat not found")
        return chat

    async def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Tipline",
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}  # fmt: skip

    async def _m_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise TelegramError(
                409, "Conflict: can't use getUpdates method while webhook is active"
            )
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and not self._closing:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), float(params.get("timeout") or 0))
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.latency:
            await asyncio.sleep(self.latency)
        chat = self._chat(params)
        raw = str(params.get("text") or "")
        text = visible_text(raw, params.get("parse_mode"))
        if not text.strip():
            raise TelegramError(400, "Bad Request: message text is empty")
        if _utf16(text) > 4096:
            raise TelegramError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        for data in _callback_data({"reply_markup": markup} if markup else {}):
            if not 1 <= len(data.encode()) <= 64:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": await self._m_getMe({}),
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        self.history[chat["id"]][message["message_id"]] = Stored(message, True, raw)
        return message

    async def _m_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if self._queries.get(query_id) is not False:
            raise TelegramError(400, "Bad Request: query is too old and response timeout expired")
        self._queries[query_id] = True
        return True

    def _delete(self, chat_id: int, message_id: int) -> None:
        stored = self.history.get(chat_id, {}).get(message_id)
        if stored is None or stored.deleted:
            raise TelegramError(400, "Bad Request: message to delete not found")
        if time.time() - stored.message["date"] > DELETE_WINDOW:
            raise TelegramError(400, "Bad Request: message can't be deleted for everyone")
        stored.deleted = True

    async def _m_deleteMessage(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        self._delete(chat["id"], int(params["message_id"]))
        return True

    async def _m_deleteMessages(self, params: dict[str, Any]) -> bool:
        chat = self._chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise TelegramError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        for message_id in ids:
            # Like the real API: what cannot be deleted is skipped.
            with contextlib.suppress(TelegramError):
                self._delete(chat["id"], int(message_id))
        return True

    async def _m_setMyCommands(self, params: dict[str, Any]) -> bool:
        scope = (params.get("scope") or {"type": "default"})["type"]
        self.commands[(scope, params.get("language_code") or "")] = params["commands"]
        return True

    async def _m_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        scope = (params.get("scope") or {"type": "default"})["type"]
        return self.commands.get((scope, params.get("language_code") or ""), [])

    async def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        secret = params.get("secret_token")
        if secret is not None and not _is_secret(str(secret)):
            raise TelegramError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = _Webhook(str(params["url"]), secret, params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            self._updates.clear()
        pending, self._updates = self._updates, []
        for update in pending:  # delivered like Telegram would, in order
            asyncio.get_running_loop().create_task(self.post_to_webhook(update))
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook.allowed_updates:
            info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _m_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        found = self.files.get(str(params.get("file_id")))
        if found is None:
            raise TelegramError(400, "Bad Request: invalid file_id")
        if len(found.data) > MAX_DOWNLOAD:
            raise TelegramError(400, "Bad Request: file is too big")
        return {"file_id": params["file_id"], "file_unique_id": found.unique_id,
                "file_size": len(found.data), "file_path": found.path}  # fmt: skip

    # --- the demo endpoints ----------------------------------------------------------------------

    async def _test_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id = int(body["chat_id"])
        if chat_id not in self.users:
            self.user(
                chat_id, body.get("first_name", "Demo"), None, body.get("language_code", "vi")
            )
        status = await self.send_text(chat_id, str(body["text"]))
        return web.json_response({"ok": True, "webhook_status": status})

    async def _test_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id = int(body["chat_id"])
        data = body.get("data") or self.button_data(chat_id, str(body["button"]))
        status = await self.press(chat_id, data)
        return web.json_response({"ok": True, "webhook_status": status})

    async def _test_fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.fail(body["method"], int(body["status"]), times=int(body.get("times", 1)),
                  retry_after=int(body.get("retry_after", 1)))  # fmt: skip
        return web.json_response({"ok": True})

    async def _test_limits(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.limit_rates(body.get("per_bot"), body.get("per_chat"))
        return web.json_response({"ok": True})

    async def _test_sent(self, request: web.Request) -> web.Response:
        chat_id = int(request.query["chat_id"])
        return web.json_response([_summary(s) for s in self.sent(chat_id)])

    async def _test_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c for c in self.calls if method in (None, c.method)]
        return web.json_response(
            [{"method": c.method, "status": c.status, "at": c.at} for c in calls]
        )

    def button_data(self, chat_id: int, button: str) -> str:
        """The data of a button of the bot's latest keyboard, by number or label text."""
        for stored in reversed(self.sent(chat_id)):
            buttons = _buttons(stored.message)
            if stored.deleted or not buttons:
                continue
            for label, data in buttons:
                number = label.split(".", 1)[0]
                if button == number or button.casefold() in label.casefold():
                    return data
        raise LookupError(f"no button {button!r}")


def _buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [
        (b.get("text", ""), b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


def _callback_data(message: dict[str, Any]) -> list[str]:
    return [data for _, data in _buttons(message)]


def _summary(stored: Stored) -> dict[str, Any]:
    return {
        "message_id": stored.message["message_id"],
        "text": stored.message.get("text"),
        "buttons": [label for label, _ in _buttons(stored.message)],
        "deleted": stored.deleted,
    }


def _is_secret(value: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 1 <= len(value) <= 256 and set(value) <= allowed


async def _params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw.update(await request.json())
        elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                raw[key] = value.file.read() if isinstance(value, web.FileField) else value
    return {key: _decode(value) for key, value in raw.items()}


# --- demo from the command line -----------------------------------------------------------------


async def _chat_in_terminal(fake: FakeTelegram, chat_id: int) -> None:
    """Type as user ``chat_id``; a number presses that button of the latest keyboard."""
    loop = asyncio.get_running_loop()
    fake.user(chat_id, "Demo", None, "vi")
    shown = 0
    while True:
        await asyncio.sleep(0.5)
        for stored in fake.sent(chat_id)[shown:]:
            print(f"\n[bot] {stored.message.get('text')}")
            for label, _ in _buttons(stored.message):
                print(f"   [{label}]")
        shown = len(fake.sent(chat_id))
        try:
            line = (await loop.run_in_executor(None, input, "\nyou> ")).strip()
        except EOFError:
            return
        if not line:
            continue
        try:
            data = fake.button_data(chat_id, line) if line.isdigit() else None
        except LookupError:
            data = None
        if data is not None:
            await fake.press(chat_id, data)
        else:
            await fake.send_text(chat_id, line)


async def _serve(
    host: str,
    port: int,
    token: str,
    chat: int | None,
    per_bot: float | None = None,
    per_chat: float | None = None,
    any_chat: bool = False,
) -> None:
    fake = FakeTelegram(token=token, any_chat=any_chat)
    fake.limit_rates(per_bot, per_chat)
    base = await fake.start(host, port)
    print(
        f"Fake Telegram Bot API on {base} (bot @{fake.username}).\n\n"
        "Run Tipline against it (long polling):\n"
        f"  TIPLINE_TELEGRAM_TOKEN='{token}' TIPLINE_TELEGRAM_API_BASE={base} tipline serve\n\n"
        "Then play a user:\n"
        f"  curl -s {base}/_test/send -H 'content-type: application/json' "
        '-d \'{"chat_id": 1, "text": "/start"}\'\n'
        f"  curl -s {base}/_test/press -H 'content-type: application/json' "
        '-d \'{"chat_id": 1, "button": "2"}\'\n'
        f"  curl -s '{base}/_test/sent?chat_id=1'\n"
        "or start this with --chat 1 to type in this terminal. Ctrl-C stops.",
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

    parser = argparse.ArgumentParser(description="A fake Telegram Bot API for Tipline demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--chat", type=int, help="type as this user id in the terminal")
    parser.add_argument("--per-bot", type=float, help="answer 429 beyond this many sends/s")
    parser.add_argument("--per-chat", type=float, help="answer 429 beyond this per chat/s")
    parser.add_argument("--any-chat", action="store_true", help="accept every chat id")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _serve(
                args.host,
                args.port,
                args.token,
                args.chat,
                args.per_bot,
                args.per_chat,
                args.any_chat,
            )
        )


if __name__ == "__main__":
    main()
