"""Campaign messages on Zalo: the :class:`~bot.campaigns.sending.Sender` of this channel.

Zalo Bot messages are plain text of at most 2000 characters, so a body is sent as the
platforms receive it (:func:`bot.campaigns.schema.sent_text`: NFC, no ``**`` markers) and
split at 2000. Sending uses its own client, one try per call: the broadcaster decides about
429s and errors for the whole channel. Zalo publishes no rate limit, so the sender keeps its
own pace, ``TIPLINE_ZALO_RATE_PER_SECOND``, whatever the broadcaster allows.

=====================================  ===============================================
Zalo answers                           outcome
=====================================  ===============================================
``429`` (``retry_after`` if given)     ``retry_after`` (else :data:`DEFAULT_RETRY_AFTER`)
``403``                                ``blocked``: the subscriber becomes inactive
``5xx``, network, ``401`` (token)      ``transient``: tried again later
anything else (``400``…)               ``rejected``
=====================================  ===============================================
"""

from __future__ import annotations

from bot.campaigns.limits import TokenBucket
from bot.campaigns.schema import sent_text
from bot.campaigns.sending import SendOutcome
from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.errors import (
    ZaloAPIError,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloServerError,
    ZaloUnauthorized,
)
from bot.channels.zalo.render import split
from bot.config import Settings

__all__ = ["DEFAULT_RETRY_AFTER", "ZaloSender", "zalo_sender"]

# Zalo's 429 does not say how long to wait: pause the channel this long.
DEFAULT_RETRY_AFTER = 10.0


class ZaloSender:
    """Sends campaign messages through the Zalo Bot API; answers, never raises."""

    channel = "zalo"

    def __init__(self, client: ZaloClient, *, rate_per_second: float | None = None) -> None:
        self.client = client
        self._bucket = TokenBucket(rate_per_second or None, burst=1)

    def parts(self, markdown: str) -> list[str]:
        return split(sent_text(markdown))

    async def send(self, address: str, part: str) -> SendOutcome:
        prefix, _, chat = address.partition(":")
        if prefix != "zalo" or not chat:
            return SendOutcome("rejected", "not a zalo address")
        await self._bucket.take(1)
        try:
            await self.client.send_message(chat, part)
        except ZaloRateLimited as error:
            wait = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
            return SendOutcome("retry_after", "429", wait)
        except ZaloForbidden:
            return SendOutcome("blocked", "403")
        except ZaloServerError:
            return SendOutcome("transient", "5xx")
        except ZaloNetworkError:
            return SendOutcome("transient", "network")
        except ZaloUnauthorized:
            # The token is wrong for every subscriber alike: fixing it lets them all through.
            return SendOutcome("transient", "401")
        except ZaloAPIError as error:
            return SendOutcome("rejected", str(error.code or "refused"))
        return SendOutcome("sent")

    async def close(self) -> None:
        await self.client.close()


def zalo_sender(settings: Settings) -> ZaloSender:
    """A sender with its own client for the configured token and API base."""
    from bot.channels.zalo.channel import build_client

    return ZaloSender(
        build_client(settings, attempts=1), rate_per_second=settings.zalo_rate_per_second
    )
