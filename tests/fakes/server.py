"""The lifecycle the fake platform servers share: an aiohttp app on a free local port, a
client session for the webhook posts they make, and long polls woken when they stop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

from aiohttp import ClientSession, ClientTimeout, web

__all__ = ["FakeServer", "in_a_thread"]


class FakeServer:
    """``async with Fake() as fake:`` serves on a free port until the block ends.

    Subclasses add their routes in :meth:`routes` and set ``_new_update``, ``_runner``,
    ``_client`` and ``_closing`` in their constructor."""

    base_url: str
    _new_update: asyncio.Event
    _runner: web.AppRunner | None
    _client: ClientSession | None
    _closing: bool

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        self.base_url = f"http://{host}:{bound[1]}"
        self._client = ClientSession(timeout=ClientTimeout(total=60))
        return self.base_url

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # wake long polls
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


@contextmanager
def in_a_thread[F: FakeServer](fake: F) -> Iterator[F]:
    """``fake`` served from its own event loop in a thread, for code under test that runs
    ``asyncio.run`` itself (the command line, ``tipline serve`` as a subprocess's peer)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
