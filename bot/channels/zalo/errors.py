"""What can go wrong when talking to the Zalo Bot API, as one small exception tree.

::

    ZaloError                  anything the client raises
    ├── ZaloNetworkError       no answer: connection refused, reset, timed out
    └── ZaloAPIError           Zalo answered ``"ok": false`` (or an HTTP error status)
        ├── ZaloBadRequest     400: a parameter Zalo does not accept (text too long...)
        ├── ZaloUnauthorized   401: wrong or revoked bot token
        ├── ZaloForbidden      403: the user blocked the bot or cannot be messaged
        ├── ZaloNoUpdates      408: ``getUpdates`` waited and nothing came (not a failure)
        ├── ZaloRateLimited    429: quota exceeded; ``retry_after`` when Zalo says how long
        └── ZaloServerError    5xx: a transient failure on Zalo's side

Messages carry Zalo's ``description`` and the method name, never the token, a chat id or a
text. Callers log the type (see :func:`bot.channels.zalo.privacy.where`), not the message.
"""

from __future__ import annotations

__all__ = [
    "ZaloAPIError",
    "ZaloBadRequest",
    "ZaloError",
    "ZaloForbidden",
    "ZaloNetworkError",
    "ZaloNoUpdates",
    "ZaloRateLimited",
    "ZaloServerError",
    "ZaloUnauthorized",
    "api_error",
]


class ZaloError(Exception):
    """Base of every error of the Zalo client."""


class ZaloNetworkError(ZaloError):
    """Zalo could not be reached, or did not answer in time."""


class ZaloAPIError(ZaloError):
    """Zalo refused a call. ``code`` is its ``error_code`` (or the HTTP status)."""

    def __init__(self, method: str, code: int, description: str) -> None:
        super().__init__(f"{method}: {code} {description}".strip())
        self.method = method
        self.code = code
        self.description = description

    @property
    def transient(self) -> bool:
        """Worth trying again later (rate limits and server errors)."""
        return False


class ZaloBadRequest(ZaloAPIError):
    pass


class ZaloUnauthorized(ZaloAPIError):
    pass


class ZaloForbidden(ZaloAPIError):
    pass


class ZaloNoUpdates(ZaloAPIError):
    pass


class ZaloRateLimited(ZaloAPIError):
    def __init__(
        self, method: str, code: int, description: str, retry_after: float | None = None
    ) -> None:
        super().__init__(method, code, description)
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return True


class ZaloServerError(ZaloAPIError):
    @property
    def transient(self) -> bool:
        return True


def api_error(
    method: str, code: int, description: str, retry_after: float | None = None
) -> ZaloAPIError:
    """The exception for an error answer with ``code``."""
    if code == 429:
        return ZaloRateLimited(method, code, description, retry_after)
    if code >= 500:
        return ZaloServerError(method, code, description)
    kinds: dict[int, type[ZaloAPIError]] = {
        400: ZaloBadRequest,
        401: ZaloUnauthorized,
        403: ZaloForbidden,
        408: ZaloNoUpdates,
    }
    return kinds.get(code, ZaloAPIError)(method, code, description)
