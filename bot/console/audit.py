"""The audit log page: the latest events, newest first, and checking the chain on demand.

Supervisors and admins read the events of their province (its tips, its queues, its
accounts' actions); anyone else reads only their own actions. The database does the
filtering (:meth:`storage.audit.AuditLog.events`). Walking the whole hash chain takes a
while on a big log, so it runs only when a supervisor or admin presses "Verify the
chain"; each run is itself recorded, and the page shows when the last one ran and what
it found. Events never carry tip content, only who did what to which tip or queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from bot.console.core import (
    ConsoleRoute,
    PageNotFound,
    Posting,
    Working,
    console_of,
    locale_of,
)
from bot.console.labels import audit_actions
from bot.console.nav import home_province, sees_everyone
from bot.console.sessions import ConsoleSession
from handlers.i18n import translator
from storage.audit import ChainProblem

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute)

PAGE = 50
# How many problems of a broken chain the page lists.
SHOWN_PROBLEMS = 100
VERIFIED = "audit_verified"


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    tip_id: str | None
    queue: str
    detail: str


@dataclass(frozen=True, slots=True)
class Verification:
    """The last run of the chain check: when, how many events, how many problems."""

    at: datetime
    checked: int
    problems: int


def _detail(detail: dict[str, Any] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted((detail or {}).items()))


def _scope(session: ConsoleSession) -> tuple[bool, int | None]:
    """Whether the page shows a province's events (and which), else the officer's own."""
    officer = session.officer
    province = home_province(officer) if sees_everyone(officer) else None
    return province is not None, province


async def _page(
    request: Request,
    session: ConsoleSession,
    before: int | None,
    *,
    checked: int | None = None,
    problems: list[ChainProblem] | None = None,
) -> Response:
    console = console_of(request)
    log = console.app.audit
    officer = session.officer
    everyone, province = _scope(session)
    _ = translator(locale_of(request)).gettext
    actions = audit_actions(_)
    queues: dict[int | None, str] = {q.id: q.name for q in await console.app.police.queues()}
    events = await log.events(
        limit=PAGE + 1,
        before=before,
        province_code=province if everyone else None,
        actor=None if everyone else officer.username,
    )
    rows = [
        EventRow(
            event_id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            action_label=actions.get(event.action, event.action),
            tip_id=event.tip_id,
            queue=queues.get(event.queue_id, str(event.queue_id or "")),
            detail=_detail(event.detail),
        )
        for event in events[:PAGE]
    ]
    older = rows[-1].event_id if len(events) > PAGE else None
    may_verify = sees_everyone(officer)
    last = None
    if may_verify:
        found = await log.events(action=VERIFIED, limit=1)
        if found:
            detail = found[0].detail or {}
            last = Verification(
                at=found[0].at,
                checked=int(detail.get("checked", 0)),
                problems=int(detail.get("problems", 0)),
            )
    return console.page(
        request,
        "audit.html",
        session=session,
        rows=rows,
        everyone=everyone,
        may_verify=may_verify,
        last=last,
        checked=checked,
        problems=(problems or [])[:SHOWN_PROBLEMS],
        problem_count=len(problems or []),
        older=older,
        first_page=before is None,
    )


@router.get("/audit")
async def audit(request: Request, session: Working, before: int | None = None) -> Response:
    return await _page(request, session, before)


@router.post("/audit/verify")
async def verify(request: Request, session: Posting) -> Response:
    """Walk the whole chain now; the result shows on the page and goes to the log."""
    if not sees_everyone(session.officer):
        raise PageNotFound
    log = console_of(request).app.audit
    count, problems = await log.verify()
    await log.record(session.officer.username, VERIFIED, checked=count, problems=len(problems))
    return await _page(request, session, None, checked=count, problems=problems)
