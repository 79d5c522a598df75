"""What the Telegram and Zalo webhook routes share: the secret-token check and a body read
that stops at a limit instead of buffering whatever a caller sends."""

from __future__ import annotations

import hmac

from fastapi import Request

__all__ = ["MAX_UPDATE_BYTES", "read_limited", "secret_matches"]

MAX_UPDATE_BYTES = 1024 * 1024


def secret_matches(given: str | None, secret: bytes | None) -> bool:
    """Constant-time check of a webhook's secret-token header; False when either is unset."""
    if secret is None or given is None:
        return False
    return hmac.compare_digest(given.encode("latin-1", "replace"), secret)


async def read_limited(request: Request, limit: int = MAX_UPDATE_BYTES) -> bytes | None:
    """The request body, or None as soon as it grows past ``limit`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
