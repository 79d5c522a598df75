"""Signing in and out, setting up the two-step login, and choosing the language.

A login error never says which of username, password or code was wrong; a locked account
says how long to wait. An officer without TOTP must enrol right after their first login:
QR code, the secret for typing by hand, a code to confirm, then ten recovery codes shown
once.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request, Response

from bot.console.core import (
    ConsoleRoute,
    console_of,
    enrolment_form_session,
    locale_of,
    redirect,
    safe_next,
    signed_in,
)
from bot.console.sessions import LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, ConsoleSession
from handlers.i18n import LOCALES, translator
from storage.accounts import LoginFailed

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute)

HOME = "/console/"
ONE_YEAR = 365 * 24 * 3600


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (the console's CSP allows data: images only)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def spaced_secret(secret: bytes) -> str:
    """The TOTP secret in base32, in groups of four, as authenticator apps accept it."""
    text = base64.b32encode(secret).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _login_page(
    request: Request, *, status: int = 200, error: str | None = None, next_path: str | None = None
) -> Response:
    console = console_of(request)
    cookie = request.cookies.get(LOGIN_COOKIE) or console.login_guard.new_cookie()
    response = console.page(
        request,
        "login.html",
        status=status,
        login_token=console.login_guard.form_token(cookie),
        error=error,
        next_path=next_path or "",
    )
    console.set_cookie(response, LOGIN_COOKIE, cookie)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    console = console_of(request)
    await console.sweep()
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        return redirect("/console/totp" if session.needs_totp else HOME)
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=100)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    if not console.login_guard.check(request.cookies.get(LOGIN_COOKIE), csrf):
        return _login_page(
            request,
            status=403,
            error=_("The sign-in form had expired. Please try again."),
        )
    try:
        officer = await console.app.accounts.login(username.strip(), password, code.strip() or None)
    except LoginFailed as failed:
        if failed.reason == "locked" and failed.retry_after is not None:
            minutes = max(1, math.ceil(failed.retry_after.total_seconds() / 60))
            message = _(
                "Too many failed attempts: this account is locked. "
                "Wait {minutes} minutes, then try again."
            ).format(minutes=minutes)
            return _login_page(request, status=429, error=message, next_path=safe_next(next))
        # A missing second factor gets the same answer as a wrong one: nothing tells
        # which part was right.
        return _login_page(
            request,
            status=401,
            error=_("Wrong username, password or code."),
            next_path=safe_next(next),
        )
    # A fresh token on every login (no session fixation); an older session here ends.
    previous = console.sessions.forget(request.cookies.get(SESSION_COOKIE, ""))
    if previous is not None:
        await console.app.accounts.logout(previous.officer, "logout")
    needs_totp = not await console.app.accounts.has_totp(officer.officer_id)
    token, _session = console.sessions.create(officer, needs_totp=needs_totp)
    response = redirect("/console/totp" if needs_totp else safe_next(next) or HOME)
    console.set_cookie(response, SESSION_COOKIE, token)
    console.delete_cookie(response, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(
    request: Request, session: Annotated[ConsoleSession, Depends(enrolment_form_session)]
) -> Response:
    console = console_of(request)
    console.sessions.forget(request.cookies.get(SESSION_COOKIE, ""))
    await console.app.accounts.logout(session.officer, "logout")
    response = redirect("/console/login")
    console.delete_cookie(response, SESSION_COOKIE)
    return response


def _enrolment_page(
    request: Request, session: ConsoleSession, *, status: int = 200, error: str | None = None
) -> Response:
    console = console_of(request)
    if session.enrolment is None:
        session.enrolment = console.app.accounts.totp_enrolment(session.officer.username)
    return console.page(
        request,
        "totp.html",
        status=status,
        session=session,
        qr=qr_data_uri(session.enrolment.uri),
        secret=spaced_secret(session.enrolment.secret),
        error=error,
    )


@router.get("/totp")
async def totp_form(
    request: Request, session: Annotated[ConsoleSession, Depends(signed_in)]
) -> Response:
    if not session.needs_totp:
        return redirect(HOME)
    return _enrolment_page(request, session)


@router.post("/totp")
async def totp_confirm(
    request: Request,
    session: Annotated[ConsoleSession, Depends(enrolment_form_session)],
    code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    if not session.needs_totp:
        return redirect(HOME)
    if session.enrolment is None:
        return redirect("/console/totp")
    try:
        codes = await console.app.accounts.confirm_totp(
            session.officer, session.enrolment.secret, code.replace(" ", "")
        )
    except LoginFailed:
        return _enrolment_page(
            request,
            session,
            status=400,
            error=_(
                "That code is not right. Check that the time on your phone is correct "
                "and type the code the app shows now."
            ),
        )
    session.needs_totp = False
    session.enrolment = None
    session.recovery_codes = codes
    return redirect("/console/totp/codes")


@router.get("/totp/codes")
async def recovery_codes(
    request: Request, session: Annotated[ConsoleSession, Depends(signed_in)]
) -> Response:
    """The recovery codes, once: a reload shows them no more."""
    codes, session.recovery_codes = session.recovery_codes, None
    if not codes or session.needs_totp:
        return redirect(HOME)
    return console_of(request).page(request, "recovery_codes.html", session=session, codes=codes)


@router.get("/lang/{locale}")
async def language(request: Request, locale: str, next: str | None = None) -> Response:
    """Switch the console's language (a cookie; works before signing in too)."""
    console = console_of(request)
    response = redirect(safe_next(next) or HOME)
    if locale in LOCALES:
        console.set_cookie(response, LANG_COOKIE, locale, max_age=ONE_YEAR)
    return response
