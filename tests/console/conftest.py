"""A console client over HTTP (httpx against the ASGI app, HTTPS so Secure cookies flow)
and the people who use it: the Ba Đình officer of the shared fixtures, an officer of
another commune, a supervisor of the province."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from fastapi import FastAPI

from bot.bootstrap import App
from bot.console import Console
from bot.web import create_web_app
from tests.conftest import BA_DINH, HOAN_KIEM, Police

CSRF = re.compile(r'name="csrf" value="([^"]*)"')
SECRET = re.compile(r'class="secret">([A-Z2-7 ]+)<')
FOREIGN = "canbo.hoankiem"
LOCAL = "canbo.badinh"
SUPERVISOR = "chihuy.pc04"
PASSWORD = "mat-khau-rieng-tu-2"


def totp_code(secret: bytes, at: float | None = None) -> str:
    """What the officer's authenticator app shows at ``at`` (default: the next 30 s step,
    since a code of the enrolment's own step counts as used)."""
    moment = time.time() + 30 if at is None else at
    totp = TOTP(secret, 6, SHA1(), 30, enforce_key_length=False)
    return totp.generate(int(moment)).decode()


def parse_secret(page: str) -> bytes:
    match = SECRET.search(page)
    assert match, "no TOTP key on the enrolment page"
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


class ConsoleClient:
    """One browser: keeps its cookies, reads CSRF tokens from the pages it gets."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = await self.http.get(path, **kwargs)  # type: ignore[arg-type]
        self._remember(response)
        return response

    async def post(
        self,
        path: str,
        data: dict[str, str] | dict[str, str | list[str]] | None = None,
        *,
        csrf: str | None = None,
    ) -> httpx.Response:
        """Submit a form with the page's CSRF token (or the one given, "" for none)."""
        fields: dict[str, str | list[str]] = dict(data or {})
        token = self.csrf if csrf is None else csrf
        if token:
            fields["csrf"] = token
        response = await self.http.post(path, data=fields)
        self._remember(response)
        return response

    def _remember(self, response: httpx.Response) -> None:
        match = (
            CSRF.search(response.text)
            if response.headers.get("content-type", "").startswith("text/html")
            else None
        )
        if match:
            self.csrf = match.group(1)

    async def login(
        self, username: str, password: str, code: str = "", *, next_path: str = ""
    ) -> httpx.Response:
        await self.get("/console/login")
        return await self.post(
            "/console/login",
            {"username": username, "password": password, "code": code, "next": next_path},
        )

    async def enrol(self) -> tuple[bytes, list[str]]:
        """Set up TOTP right after a first login; returns the secret and recovery codes."""
        page = await self.get("/console/totp")
        assert page.status_code == 200
        secret = parse_secret(page.text)
        done = await self.post("/console/totp", {"code": totp_code(secret, time.time())})
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/console/totp/codes"
        codes_page = await self.get("/console/totp/codes")
        codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", codes_page.text)
        assert len(codes) == 10
        return secret, codes

    async def logout(self) -> httpx.Response:
        await self.get("/console/", follow_redirects=True)  # a page with the session's token
        return await self.post("/console/logout")

    async def signed_in(self, username: str, password: str) -> tuple[bytes, list[str]]:
        """First login and enrolment, as a new officer does."""
        response = await self.login(username, password)
        assert response.headers.get("location") == "/console/totp", response.text
        enrolled = await self.enrol()
        await self.get("/console/")
        return enrolled


@dataclass
class Browsers:
    web: FastAPI
    transport: httpx.ASGITransport

    def client(self) -> ConsoleClient:
        http = httpx.AsyncClient(transport=self.transport, base_url="https://tipline")
        return ConsoleClient(http)

    @property
    def console(self) -> Console:
        console: Console = self.web.state.console
        return console


@pytest.fixture
async def browsers(app: App) -> AsyncIterator[Browsers]:
    web = create_web_app(app)
    yield Browsers(web, httpx.ASGITransport(app=web))


@pytest.fixture
async def browser(browsers: Browsers) -> AsyncIterator[ConsoleClient]:
    client = browsers.client()
    yield client
    await client.http.aclose()


async def add_officer(
    app: App, police: Police, username: str, commune: int | None, *, role: str = "officer"
) -> None:
    """A new officer, member of one queue (a commune's, or the province's with None)."""
    officer = await app.police.add_officer(username, username.title(), PASSWORD, role=role)
    queue_id = police.queues[commune]
    private = await app.police.queue_key_from_recovery(queue_id, police.recovery_private)
    await app.police.grant(queue_id, officer.id, private)


@pytest.fixture
async def foreign_officer(app: App, police: Police) -> str:
    """An officer of Hoàn Kiếm only: Ba Đình's tips are not theirs."""
    await add_officer(app, police, FOREIGN, HOAN_KIEM)
    return FOREIGN


@pytest.fixture
async def ba_dinh_officer(app: App, police: Police) -> str:
    """An officer of Ba Đình only (the shared fixtures' officer holds every queue)."""
    await add_officer(app, police, LOCAL, BA_DINH)
    return LOCAL


@pytest.fixture
async def supervisor(app: App, police: Police) -> str:
    """A PC04 supervisor: a member of the Hà Nội province queue."""
    await add_officer(app, police, SUPERVISOR, None, role="supervisor")
    return SUPERVISOR
