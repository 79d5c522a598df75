"""The console's stylesheet (and any small script): served without a session."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from bot.console.core import ConsoleRoute, PageNotFound

__all__ = ["STATIC", "router"]

STATIC = Path(__file__).parent / "static"
NAME = re.compile(r"^[a-z0-9_-]+\.(css|js|svg)$")

router = APIRouter(route_class=ConsoleRoute)


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    path = STATIC / name
    if not NAME.match(name) or not path.is_file():
        raise PageNotFound
    return FileResponse(path)
