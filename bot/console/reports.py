"""The month-end results report in the console: ``/console/reports?month=2026-06``.

Supervisors, communicators and admins; the figures of the account's province (its own, or
that of its one province queue), every province for an account attached to none. The page
is internal and shows exact counts (it says so); the CSV download and the printable page
are for publishing and show small counts as "<5". Downloads are audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from bot.console.core import LOCAL_TIME, ConsoleRoute, PageNotFound, Refused, Working, console_of
from bot.console.core import locale_of as _locale_of
from bot.console.nav import REPORT_ROLES, home_province
from bot.console.reporting import ReportView, report_csv, report_view
from bot.console.sessions import ConsoleSession
from handlers.i18n import translator
from storage.reports import month_report, parse_month
from storage.stats import SMALL

__all__ = ["default_month", "router"]

router = APIRouter(route_class=ConsoleRoute)


def default_month(now: datetime) -> tuple[int, int]:
    """The month a report is about when none is asked for: in the first week of a month
    the one before (reports are due in the first days of July), else the current one."""
    local = now.astimezone(LOCAL_TIME)
    if local.day <= 7:
        return (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return local.year, local.month


def _scope(session: ConsoleSession) -> int | None:
    officer = session.officer
    if officer.role not in REPORT_ROLES:
        raise PageNotFound
    return home_province(officer)


async def _view(
    request: Request, session: ConsoleSession, month: str | None, *, published: bool
) -> ReportView:
    province_code = _scope(session)
    locale = _locale_of(request)
    _ = translator(locale).gettext
    now = datetime.now(UTC)
    if month:
        try:
            year, number = parse_month(month)
        except ValueError:
            raise Refused(
                400, _("Choose a month as year and month, for example 2026-06.")
            ) from None
    else:
        year, number = default_month(now)
    app = console_of(request).app
    report = await month_report(app, year, number, province_code, published=published, now=now)
    return report_view(report, locale, app.directory, app.content)


@router.get("/reports")
async def reports_page(request: Request, session: Working, month: str | None = None) -> Response:
    view = await _view(request, session, month, published=False)
    return console_of(request).page(
        request, "reports.html", session=session, view=view, small=SMALL
    )


async def _exported(request: Request, session: Working, month: str | None, kind: str) -> ReportView:
    """The published view (small counts suppressed), its export written to the audit log."""
    view = await _view(request, session, month, published=True)
    await console_of(request).app.audit.record(
        session.officer.username,
        "report_export",
        month=view.report.label,
        province=view.report.province_code,
        format=kind,
    )
    return view


@router.get("/reports.csv")
async def reports_csv(request: Request, session: Working, month: str | None = None) -> Response:
    view = await _exported(request, session, month, "csv")
    area = view.report.province_code if view.report.province_code is not None else "all"
    return Response(
        report_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": (
                f'attachment; filename="tipline-report-{view.report.label}-{area}.csv"'
            )
        },
    )


@router.get("/reports/print")
async def reports_print(request: Request, session: Working, month: str | None = None) -> Response:
    view = await _exported(request, session, month, "print")
    return console_of(request).page(
        request,
        "report_print.html",
        session=session,
        view=view,
        small=SMALL,
        console=True,
        inline_css="",
    )
