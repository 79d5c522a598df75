"""Signing in to the console: two factors, lockout, enrolment, sessions, CSRF, cookies."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from bot.bootstrap import App
from bot.web import create_web_app
from tests.conftest import OFFICER, OFFICER_PASSWORD, Police
from tests.console.conftest import Browsers, ConsoleClient, parse_secret, totp_code
from tests.console.routes import PUBLIC, concrete, console_routes

SAME_ANSWER = "Sai tên đăng nhập, mật khẩu hoặc mã."


async def test_every_console_page_sends_a_stranger_to_the_login_page(
    browsers: Browsers, browser: ConsoleClient
) -> None:
    routes = console_routes(browsers.web)
    assert ("GET", "/console/tips/{tip_id}") in routes
    assert ("POST", "/console/tips/{tip_id}/forward") in routes
    guarded = [route for route in routes if route not in PUBLIC]
    assert len(guarded) >= 12
    for method, template in guarded:
        path = concrete(template, "0123456789AB")
        if method == "GET":
            response = await browser.http.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/console/login"), path
        else:
            response = await browser.http.post(path, data={"csrf": "x"})
            assert response.status_code == 401, path
        assert response.headers["cache-control"] == "no-store", path


async def test_a_wrong_password_and_a_wrong_code_get_the_same_answer(
    app: App, police: Police, browser: ConsoleClient, browsers: Browsers
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.logout()
    wrong_password = await browser.login(OFFICER, "not-the-password", "123456")
    wrong_code = await browser.login(OFFICER, OFFICER_PASSWORD, "000000")
    no_code = await browser.login(OFFICER, OFFICER_PASSWORD)
    nobody = await browser.login("nobody.here", OFFICER_PASSWORD, "123456")
    for response in (wrong_password, wrong_code, no_code, nobody):
        assert response.status_code == 401
        assert SAME_ANSWER in response.text
        assert "tipline_console" not in response.headers.get("set-cookie", "")
    assert len(browsers.console.sessions) == 0


async def test_an_account_locks_after_repeated_failures_and_says_how_long(
    police: Police, browser: ConsoleClient
) -> None:
    for _ in range(5):
        response = await browser.login(OFFICER, "wrong password")
        assert response.status_code == 401
    response = await browser.login(OFFICER, OFFICER_PASSWORD)  # right, but too late
    assert response.status_code == 429
    assert "bị khóa" in response.text
    assert "Chờ 1 phút" in response.text


async def test_a_first_login_must_set_up_totp_before_anything_else(
    browsers: Browsers, police: Police, browser: ConsoleClient
) -> None:
    response = await browser.login(OFFICER, OFFICER_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/totp"
    for path in ("/console/", "/console/audit", "/console/tips/0123456789AB"):
        blocked = await browser.get(path)
        assert (blocked.status_code, blocked.headers["location"]) == (303, "/console/totp")
    refused = await browser.post("/console/tips/0123456789AB/notes", {"text": "x"})
    assert refused.status_code == 403

    page = await browser.get("/console/totp")
    assert '<img class="qr" src="data:image/svg+xml;base64,' in page.text
    assert "Đăng xuất" in page.text  # the way out is there too
    secret = parse_secret(page.text)
    assert len(secret) == 20
    wrong = await browser.post("/console/totp", {"code": "000000"})
    assert wrong.status_code == 400
    assert "Mã không đúng" in wrong.text

    done = await browser.post("/console/totp", {"code": totp_code(secret, time.time())})
    assert done.headers["location"] == "/console/totp/codes"
    codes = await browser.get("/console/totp/codes")
    assert codes.text.count("<li><code>") == 10
    again = await browser.get("/console/totp/codes")  # shown once
    assert (again.status_code, again.headers["location"]) == (303, "/console/")
    assert (await browser.get("/console/")).status_code == 200


async def test_after_enrolment_the_officer_signs_in_with_a_code_from_the_app(
    police: Police, browser: ConsoleClient, browsers: Browsers
) -> None:
    secret, _ = await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.logout()
    response = await browser.login(
        OFFICER, OFFICER_PASSWORD, totp_code(secret), next_path="/console/audit"
    )
    assert (response.status_code, response.headers["location"]) == (303, "/console/audit")
    assert (await browser.get("/console/audit")).status_code == 200


async def test_a_recovery_code_signs_in_once(police: Police, browser: ConsoleClient) -> None:
    _, codes = await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.logout()
    first = await browser.login(OFFICER, OFFICER_PASSWORD, codes[3])
    assert (first.status_code, first.headers["location"]) == (303, "/console/")
    await browser.logout()
    reused = await browser.login(OFFICER, OFFICER_PASSWORD, codes[3])
    assert reused.status_code == 401
    assert SAME_ANSWER in reused.text


async def test_the_login_form_needs_its_own_token(
    police: Police, browser: ConsoleClient, browsers: Browsers
) -> None:
    await browser.get("/console/login")
    fields = {"username": OFFICER, "password": OFFICER_PASSWORD}
    for token in ("", "forged"):
        response = await browser.post("/console/login", fields, csrf=token)
        assert response.status_code == 403
    assert len(browsers.console.sessions) == 0
    stranger = browsers.client()  # a page elsewhere cannot read this browser's cookie
    response = await stranger.post("/console/login", fields, csrf=browser.csrf)
    assert response.status_code == 403
    assert len(browsers.console.sessions) == 0


async def test_a_login_never_redirects_to_another_site(
    police: Police, browser: ConsoleClient
) -> None:
    for target in (
        "https://evil.example/",
        "//evil.example/console/",
        "/api/chat",
        "/\\evil",
        "/console/../api",
    ):
        response = await browser.login(OFFICER, OFFICER_PASSWORD, next_path=target)
        assert response.headers["location"] == "/console/totp"
        await browser.logout()
    language = await browser.http.get("/console/lang/en", params={"next": "https://evil.example"})
    assert language.headers["location"] == "/console/"


async def test_console_cookies_are_http_only_strict_secure_and_scoped(
    police: Police, browser: ConsoleClient
) -> None:
    page = await browser.get("/console/login")
    login_cookie = page.headers["set-cookie"].lower()
    response = await browser.post(
        "/console/login", {"username": OFFICER, "password": OFFICER_PASSWORD}
    )
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tipline_console=")
    ).lower()
    for cookie in (login_cookie, session_cookie):
        for attribute in ("httponly", "samesite=strict", "secure", "path=/console"):
            assert attribute in cookie
    token = session_cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 43  # 32 random bytes


async def test_an_idle_session_expires_and_its_keys_are_forgotten(
    app: App, police: Police, browsers: Browsers, browser: ConsoleClient
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    [session] = browsers.console.sessions.live()
    session.last_seen -= timedelta(minutes=app.settings.console_idle_minutes).total_seconds()
    response = await browser.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")
    assert browsers.console.sessions.officers() == []
    assert [e.action for e in await app.audit.events(limit=1)] == ["expired"]


async def test_a_session_ends_after_its_maximum_length_even_when_busy(
    app: App, police: Police, browsers: Browsers, browser: ConsoleClient
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    [session] = browsers.console.sessions.live()
    session.created_at -= timedelta(hours=app.settings.console_max_hours).total_seconds()
    assert (await browser.get("/console/")).status_code == 303
    assert len(browsers.console.sessions) == 0


async def test_with_no_idle_time_allowed_a_session_ends_at_its_next_request(
    app: App, police: Police
) -> None:
    app.settings.console_idle_minutes = 0
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="https://tipline") as http:
        browser = ConsoleClient(http)
        login = await browser.login(OFFICER, OFFICER_PASSWORD)
        assert login.headers["location"] == "/console/totp"
        response = await browser.get("/console/totp")
        assert response.headers["location"].startswith("/console/login")


async def test_signing_out_forgets_the_keys_and_the_cookie_stops_working(
    app: App, police: Police, browsers: Browsers, browser: ConsoleClient
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    cookie = browser.http.cookies.get("tipline_console")
    assert [o.username for o in browsers.console.sessions.officers()] == [OFFICER]
    response = await browser.logout()
    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
    assert browsers.console.sessions.officers() == []
    assert [e.action for e in await app.audit.events(limit=1)] == ["logout"]
    replay = browsers.client()
    replay.http.cookies.set("tipline_console", cookie or "", domain="tipline", path="/console")
    again = await replay.get("/console/")
    assert again.headers["location"].startswith("/console/login")


async def test_signing_out_needs_the_form_token(
    police: Police, browsers: Browsers, browser: ConsoleClient
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    refused = await browser.post("/console/logout", csrf="")
    assert refused.status_code == 403
    assert len(browsers.console.sessions) == 1


async def test_the_console_speaks_vietnamese_first_and_english_on_request(
    police: Police, browser: ConsoleClient
) -> None:
    page = await browser.get("/console/login")
    assert '<html lang="vi">' in page.text
    assert "Đăng nhập" in page.text
    switched = await browser.get("/console/lang/en", params={"next": "/console/login"})
    assert switched.headers["location"] == "/console/login"
    page = await browser.get("/console/login")
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text
    failed = await browser.post("/console/login", {"username": "x", "password": "y"})
    assert "Wrong username, password or code." in failed.text
