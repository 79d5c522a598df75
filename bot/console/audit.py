"""The audit log page: the latest events, newest first, and whether the chain is intact.

Supervisors and admins read everyone's events; anyone else reads only their own actions.
Events never carry tip content, only who did what to which tip or queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from bot.console.core import ConsoleRoute, Working, console_of, locale_of
from bot.console.labels import audit_actions
from bot.console.nav import sees_everyone
from handlers.i18n import translator

__all__ = ["router"]

router = APIRouter(route_class=ConsoleRoute)

PAGE = 50
BATCH = 200
# How far back one page looks for an officer's own events before offering "older".
MAX_SCAN = 5000


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


def _detail(detail: dict[str, Any] | None) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted((detail or {}).items()))


@router.get("/audit")
async def audit(
    request: Request,
    session: Working,
    before: int | None = None,
) -> Response:
    console = console_of(request)
    log = console.app.audit
    officer = session.officer
    everyone = sees_everyone(officer)
    _ = translator(locale_of(request)).gettext
    actions = audit_actions(_)
    queues: dict[int | None, str] = {q.id: q.name for q in await console.app.police.queues()}
    rows: list[EventRow] = []
    cursor = before
    scanned = 0
    exhausted = False
    while len(rows) < PAGE and scanned < MAX_SCAN:
        batch = await log.events(limit=PAGE if everyone else BATCH, before=cursor)
        if not batch:
            exhausted = True
            break
        for event in batch:
            scanned += 1
            cursor = event.id
            if everyone or event.actor == officer.username:
                rows.append(
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
                )
                if len(rows) == PAGE:
                    break
    count, problems = await log.verify()
    older = None if exhausted or cursor is None or cursor <= 1 else cursor
    return console.page(
        request,
        "audit.html",
        session=session,
        rows=rows,
        everyone=everyone,
        checked=count,
        problems=problems,
        older=older,
        first_page=before is None,
    )
