"""A small client for the Zalo Bot API (``<base>/bot<token>/<method>``, JSON in and out).

Every call is a ``POST`` with a JSON body; Zalo answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}`` (see docs/zalo.md). Errors become the
exceptions of :mod:`bot.channels.zalo.errors`.

Retries, for every method but ``getUpdates`` (whose loop has its own backoff): ``429`` waits
the time Zalo asks for (``parameters.retry_after`` or a ``Retry-After`` header) or backs off
exponentially when it does not say; network errors and ``5xx`` back off exponentially. Both
are bounded: after ``attempts`` tries, or when the wait asked is over ``max_wait``, the error
goes to the caller. Nothing else is retried. A call that timed out may have reached Zalo:
retrying it can, rarely, show a message twice, which is preferred to losing an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.channels.zalo.errors import (
    ZaloAPIError,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    api_error,
)

__all__ = ["ZaloClient"]

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10.0
CALL_SECONDS = 30.0
USER_AGENT = "Tipline"


class ZaloClient:
    """The Bot API methods Tipline uses, over one ``httpx.AsyncClient``."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        attempts: int = 4,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._url = f"{base_url.rstrip('/')}/bot{token}/"
        self.attempts = attempts
        self.max_wait = max_wait
        self.backoff = backoff
        self._sleep = sleep
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(CALL_SECONDS, connect=CONNECT_SECONDS),
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )

    async def close(self) -> None:
        await self.http.aclose()

    # --- the methods ---------------------------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        """The bot's identity: ``id``, ``account_name``, ``account_type``…"""
        return _object(await self.call("getMe"))

    async def get_updates(self, wait: int) -> list[dict[str, Any]]:
        """Waits up to ``wait`` seconds for updates (:class:`ZaloNoUpdates` when none came).

        Zalo answers one update as ``result``; a list is accepted too."""
        result = await self.call(
            "getUpdates",
            {"timeout": str(wait)},
            seconds=wait + CONNECT_SECONDS,
            retry=False,
        )
        if result is None:
            return []
        items = result if isinstance(result, list) else [result]
        return [item for item in items if isinstance(item, dict)]

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        return _object(await self.call("setWebhook", {"url": url, "secret_token": secret_token}))

    async def delete_webhook(self) -> dict[str, Any]:
        return _object(await self.call("deleteWebhook"))

    async def get_webhook_info(self) -> dict[str, Any]:
        return _object(await self.call("getWebhookInfo"))

    async def send_message(self, chat_id: str, text: str) -> dict[str, Any]:
        """Send a plain text (1-2000 characters); ``message_id`` and ``date`` of the message."""
        return _object(await self.call("sendMessage", {"chat_id": chat_id, "text": text}))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action}, retry=False)

    # --- calling -------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        seconds: float | None = None,
        retry: bool = True,
    ) -> Any:
        """``result`` of one method, retried as the module documents; ``seconds`` replaces
        the usual time limit of a call."""
        attempts = self.attempts if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._once(method, params or {}, seconds)
            except ZaloRateLimited as error:
                wait = error.retry_after
                if wait is None:
                    wait = self.backoff * 2**attempt
                if attempt == attempts or wait > self.max_wait:
                    raise
                log.warning(
                    "zalo %s: rate limited, retrying in %.1f s (attempt %d of %d)",
                    method,
                    wait,
                    attempt,
                    attempts,
                )
                await self._sleep(wait)
            except (ZaloNetworkError, ZaloServerError) as error:
                if attempt == attempts:
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "zalo %s: %s, retrying in %.1f s (attempt %d of %d)",
                    method,
                    type(error).__name__,
                    delay,
                    attempt,
                    attempts,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, params: dict[str, Any], seconds: float | None) -> Any:
        try:
            response = await self.http.post(
                self._url + method,
                json=params,
                timeout=httpx.USE_CLIENT_DEFAULT
                if seconds is None
                else httpx.Timeout(seconds, connect=CONNECT_SECONDS),
            )
        except httpx.TransportError as error:
            # The error's text can hold the URL, and so the token: keep only its type.
            raise ZaloNetworkError(f"{method}: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            status = response.status_code
            raise api_error(method, status if status >= 400 else 502, "answer is not JSON")
        if body.get("ok") is True:
            return body.get("result")
        code = _int(body.get("error_code")) or (
            response.status_code if response.status_code >= 400 else 0
        )
        description = str(body.get("description") or "")[:200]
        if code == 0:
            raise ZaloAPIError(method, 0, description or "refused")
        raise api_error(method, code, description, _retry_after(body, response))


def _object(result: Any) -> dict[str, Any]:
    return result if isinstance(result, dict) else {}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _retry_after(body: dict[str, Any], response: httpx.Response) -> float | None:
    """How long Zalo asks to wait, when it says (in the body or a ``Retry-After`` header)."""
    parameters = body.get("parameters")
    candidates = [
        parameters.get("retry_after") if isinstance(parameters, dict) else None,
        body.get("retry_after"),
        response.headers.get("Retry-After"),
    ]
    for candidate in candidates:
        try:
            seconds = float(candidate)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None
