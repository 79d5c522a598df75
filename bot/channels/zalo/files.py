"""Fetching the picture of an image event from the URL Zalo gives, capped in size.

The cap is checked twice: the ``Content-Length`` the server declares (nothing is read when
it is over), then the bytes actually received, streamed, stopping as soon as they pass it.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["DownloadFailed", "Picture", "TooLarge", "download"]

TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 64 * 1024


class TooLarge(Exception):
    """The picture is larger than allowed; nothing more is downloaded."""


class DownloadFailed(Exception):
    """The picture could not be fetched (network, expired link, error status)."""


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes
    mime: str | None


async def download(http: httpx.AsyncClient, url: str, limit: int) -> Picture:
    """The picture at ``url``, at most ``limit`` bytes of it (:class:`TooLarge` beyond)."""
    if not url.startswith(("https://", "http://")):
        raise DownloadFailed("not an http(s) URL")
    try:
        async with http.stream(
            "GET", url, timeout=TIMEOUT_SECONDS, follow_redirects=True
        ) as response:
            if response.status_code != 200:
                raise DownloadFailed(f"status {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise TooLarge
            received = bytearray()
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                received += chunk
                if len(received) > limit:
                    raise TooLarge
            mime = response.headers.get("Content-Type", "").split(";")[0].strip() or None
            return Picture(bytes(received), mime)
    except httpx.HTTPError as error:
        # Keep the type only: the error's text holds the URL.
        raise DownloadFailed(type(error).__name__) from None
