"""The police console: a server-rendered web app under ``/console``.

:func:`mount` adds it to the web application; :func:`console_router` is the registry of
its pages. A new part of the console (dashboard, admin, campaigns) is a module with an
``APIRouter(route_class=ConsoleRoute)`` included here, a template extending
``base.html``, and a link in :mod:`bot.console.nav`.

Sessions live in this process's memory only (they hold officers' unlocked keys):
restarting the process signs everyone out. See docs/console.md.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response

from bot.bootstrap import App
from bot.console import admin, assets, audit, auth, campaigns, dashboard, pages, reports
from bot.console.core import Console, ConsoleRoute, redirect

__all__ = ["Console", "console_router", "mount"]

PREFIX = "/console"


def console_router() -> APIRouter:
    """Every console page, under ``/console``."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=ConsoleRoute)
    router.add_api_route("", _home, methods=["GET"])
    router.include_router(assets.router)
    router.include_router(auth.router)
    router.include_router(pages.router)
    router.include_router(audit.router)
    router.include_router(dashboard.router)
    router.include_router(admin.router)
    router.include_router(campaigns.router)
    router.include_router(reports.router)
    # Pages added later go above this line: the fallback answers any other path with 404.
    router.include_router(pages.fallback)
    return router


async def _home() -> Response:
    return redirect(PREFIX + "/")


def mount(web: FastAPI, app: App) -> Console:
    """Serve the console from ``web``; its state lives as long as ``web``."""
    console = Console(app)
    web.state.console = console
    web.include_router(console_router())
    return console
