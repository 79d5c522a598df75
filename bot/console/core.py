"""The console's plumbing: its state, page rendering, session guards and error pages.

Every console route is a :class:`ConsoleRoute`: whatever happens inside, the answer is an
HTML page (never a traceback, never the submitted text echoed back) with
``Cache-Control: no-store``. Expected refusals are exceptions (:class:`NeedLogin`,
:class:`TipNotFound`...) that become the right page and status.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.bootstrap import App
from bot.console.nav import navigation
from bot.console.sessions import (
    COOKIE_PATH,
    LANG_COOKIE,
    SESSION_COOKIE,
    ConsoleSession,
    LoginGuard,
    SessionStore,
    same_secret,
)
from handlers.i18n import LOCALES, translator
from storage.sealing import SealingError

__all__ = [
    "Console",
    "ConsoleRoute",
    "CsrfRejected",
    "NeedEnrolment",
    "NeedLogin",
    "PageNotFound",
    "Posting",
    "Refused",
    "TipNotFound",
    "Working",
    "console_of",
    "form_session",
    "locale_of",
    "officer_session",
    "safe_next",
    "signed_in",
]

log = logging.getLogger("bot.console")

TEMPLATES = Path(__file__).parent / "templates"
LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_LOCALE = "vi"


class ConsoleProblem(Exception):
    """A refusal the console answers with a page of its own."""


class NeedLogin(ConsoleProblem):
    """No live session: GET goes to the login page, anything else gets 401."""


class NeedEnrolment(ConsoleProblem):
    """Signed in, but the two-step login must be set up first."""


class CsrfRejected(ConsoleProblem):
    """A form without the session's token: nothing was changed."""


class TipNotFound(ConsoleProblem):
    """No such tip, or not in the officer's queues: the same answer for both."""


class PageNotFound(ConsoleProblem):
    """No such console page."""


class Refused(ConsoleProblem):
    """A page this account cannot use, with the reason in the officer's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.status = status
        self.message = message


def local_time(moment: datetime | None) -> str:
    """A time as officers read it: Vietnam time, day first."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TIME).strftime("%d/%m/%Y %H:%M")


def locale_of(request: Request) -> str:
    """The officer's language: the ``tipline_lang`` cookie, else Vietnamese."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def safe_next(target: str | None) -> str | None:
    """A console path to go back to, or None: never another site (no open redirect)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    if parts.path != COOKIE_PATH and not parts.path.startswith(COOKIE_PATH + "/"):
        return None
    if ".." in parts.path.split("/"):
        return None
    return target


class Console:
    """Everything the console keeps for the life of the process."""

    def __init__(self, app: App) -> None:
        settings = app.settings
        self.app = app
        self.sessions = SessionStore(
            idle=timedelta(minutes=settings.console_idle_minutes),
            max_age=timedelta(hours=settings.console_max_hours),
        )
        self.login_guard = LoginGuard()
        self.secure_cookies = settings.console_secure_cookies
        self._environments: dict[str, Environment] = {}

    # --- pages ------------------------------------------------------------------------

    def environment(self, locale: str) -> Environment:
        """One Jinja environment per language, with that language's gettext installed."""
        if locale not in self._environments:
            env = Environment(
                loader=FileSystemLoader(TEMPLATES),
                autoescape=select_autoescape(["html"], default=True),
                extensions=["jinja2.ext.i18n"],
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(  # type: ignore[attr-defined]
                translator(locale), newstyle=True
            )
            env.filters["local_time"] = local_time
            self._environments[locale] = env
        return self._environments[locale]

    def page(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        session: ConsoleSession | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render a page in the officer's language, with the nav of their role."""
        locale = locale_of(request)
        _ = translator(locale).gettext
        officer = session.officer if session is not None and not session.needs_totp else None
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET" or template == "error.html":
            here = COOKIE_PATH + "/"  # an error page is the same whatever address led there
        html = (
            self.environment(locale)
            .get_template(template)
            .render(
                lang=locale,
                languages=[("vi", "Tiếng Việt"), ("en", "English")],
                here=here,
                session=session,
                csrf=session.csrf if session is not None else "",
                officer=officer,
                nav=navigation(_, officer, request.url.path) if officer else [],
                flashes=session.take_flashes() if session is not None else [],
                **context,
            )
        )
        return HTMLResponse(html, status_code=status)

    def error_page(self, request: Request, status: int, message: str) -> HTMLResponse:
        session: ConsoleSession | None = getattr(request.state, "console_session", None)
        return self.page(request, "error.html", status=status, session=session, message=message)

    # --- sessions and cookies ----------------------------------------------------------

    async def sweep(self) -> None:
        """Forget expired sessions (and with them their keys); each is audited."""
        for session in self.sessions.sweep():
            await self.app.accounts.logout(session.officer, "expired")

    def set_cookie(
        self, response: Response, name: str, value: str, *, max_age: int | None = None
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            secure=self.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def delete_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=COOKIE_PATH, secure=self.secure_cookies, httponly=True, samesite="strict"
        )


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def redirect(path: str) -> RedirectResponse:
    """After a form or a refusal: 303 so the browser follows with GET."""
    return RedirectResponse(path, status_code=303)


# --- guards (FastAPI dependencies) ---------------------------------------------------------


async def current_session(request: Request) -> ConsoleSession | None:
    console = console_of(request)
    await console.sweep()
    session = console.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        console.sessions.touch(session)
        request.state.console_session = session
    return session


async def signed_in(request: Request) -> ConsoleSession:
    """Any live session, including one that still has to set up TOTP."""
    session = await current_session(request)
    if session is None:
        raise NeedLogin
    return session


async def officer_session(request: Request) -> ConsoleSession:
    """A session that may work: signed in with both factors."""
    session = await signed_in(request)
    if session.needs_totp:
        raise NeedEnrolment
    return session


async def _checked_form(request: Request, session: ConsoleSession) -> ConsoleSession:
    form = await request.form()
    token = form.get("csrf")
    if not same_secret(token if isinstance(token, str) else None, session.csrf):
        raise CsrfRejected
    return session


async def form_session(request: Request) -> ConsoleSession:
    """A working session whose form carries the session's CSRF token."""
    return await _checked_form(request, await officer_session(request))


async def enrolment_form_session(request: Request) -> ConsoleSession:
    """Like :func:`form_session`, for the forms allowed before TOTP is set up."""
    return await _checked_form(request, await signed_in(request))


# What a route asks for: ``session: Working`` for a page, ``session: Posting`` for a form.
Working = Annotated[ConsoleSession, Depends(officer_session)]
Posting = Annotated[ConsoleSession, Depends(form_session)]


# --- every console route -------------------------------------------------------------------


class ConsoleRoute(APIRoute):
    """A console route: refusals and errors become pages; nothing is cached."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        path = self.path

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as error:  # every failure becomes a page, none is lost
                response = _refusal(request, error, path)
            response.headers["Cache-Control"] = "no-store"
            return response

        return guarded


def _refusal(request: Request, error: Exception, path: str) -> Response:
    console = console_of(request)
    _ = translator(locale_of(request)).gettext
    reading = request.method in ("GET", "HEAD")
    if isinstance(error, NeedLogin):
        if reading:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response: Response = redirect(f"{COOKIE_PATH}/login?next={quote(here)}")
        else:
            response = console.error_page(
                request, 401, _("Your session has ended. Please sign in again.")
            )
        if SESSION_COOKIE in request.cookies:
            console.delete_cookie(response, SESSION_COOKIE)
        return response
    if isinstance(error, NeedEnrolment):
        if reading:
            return redirect(COOKIE_PATH + "/totp")
        return console.error_page(
            request, 403, _("Set up the two-step login first, then try again.")
        )
    if isinstance(error, CsrfRejected):
        return console.error_page(
            request,
            403,
            _(
                "This form has expired or did not come from this console, so nothing was "
                "changed. Go back, reload the page and try again."
            ),
        )
    if isinstance(error, TipNotFound):
        return console.error_page(
            request, 404, _("This tip does not exist or is not in your queues.")
        )
    if isinstance(error, PageNotFound):
        return console.error_page(request, 404, _("There is no such page."))
    if isinstance(error, Refused):
        return console.error_page(request, error.status, error.message)
    if isinstance(error, SealingError):
        # Keys unlocked at sign-in no longer fit, e.g. after a queue's keys were rotated.
        log.warning("console: %s on %s %s", type(error).__name__, request.method, path)
        return console.error_page(
            request,
            409,
            _(
                "Your keys no longer open this tip (the queue's keys may have been changed). "
                "Sign out and sign in again."
            ),
        )
    if isinstance(error, RequestValidationError):
        return console.error_page(
            request, 400, _("The form was not filled in correctly. Go back and try again.")
        )
    if isinstance(error, HTTPException) and error.status_code < 500:
        return console.error_page(request, error.status_code, _("The request was refused."))
    # The type and the code path only: an exception's message may quote what a user typed.
    log.error(
        "console error %s on %s %s\n%s",
        type(error).__name__,
        request.method,
        path,
        "".join(traceback.format_tb(error.__traceback__)),
    )
    try:
        return console.page(request, "500.html", status=500)
    except Exception:
        return HTMLResponse(GENERIC_500, status_code=500)


GENERIC_500 = (
    "<!doctype html><meta charset=utf-8><title>Lỗi / Error</title>"
    "<p>Đã xảy ra lỗi. Vui lòng thử lại sau.</p>"
    "<p>Something went wrong. Please try again later.</p>"
)
