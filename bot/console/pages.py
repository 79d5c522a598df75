"""The officer's work: the queue of tips and one tip with everything done to it.

Every action goes through :class:`~storage.casework.Casework`, which checks the officer's
queues and writes the audit log. A tip outside the officer's queues and a tip that does
not exist get the same 404 page. Tip content only ever travels in POST bodies and pages,
never in a URL, a redirect or a log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from bot.console.core import (
    ConsoleRoute,
    PageNotFound,
    Posting,
    TipNotFound,
    Working,
    console_of,
    locale_of,
    redirect,
)
from bot.console.labels import dispositions, statuses, when_label
from handlers.i18n import translator
from storage.casework import DISPOSITIONS, STATUSES, NotAllowed, TipSummary
from storage.police import UnlockedOfficer

__all__ = ["fallback", "router"]

router = APIRouter(route_class=ConsoleRoute)
fallback = APIRouter(route_class=ConsoleRoute)

TIP_ID = re.compile(r"^[0-9A-Fa-f]{12}$")
MAX_TEXT = 4000


@dataclass(frozen=True, slots=True)
class TipRow:
    """One line of the queue, ready to show."""

    tip_id: str
    status: str
    status_label: str
    category: str
    place: str
    received_at: datetime
    unread: int
    overdue: bool
    escalated: bool


def _tip_id(tip_id: str) -> str:
    if not TIP_ID.match(tip_id):
        raise TipNotFound
    return tip_id.upper()


def _tip_url(tip_id: str) -> str:
    return f"/console/tips/{tip_id}"


def _place(request: Request, province_code: int, commune_code: int | None) -> str:
    directory = console_of(request).app.directory
    commune = directory.commune(commune_code) if commune_code is not None else None
    if commune is not None:
        return commune.name
    province = directory.province(province_code)
    return province.name if province is not None else str(province_code)


def _category(request: Request, category_id: str) -> str:
    category = console_of(request).app.content.category(category_id)
    return category.label.get(locale_of(request), category_id) if category else category_id


# --- the queue -----------------------------------------------------------------------------


@router.get("/")
async def queue(
    request: Request,
    session: Working,
    status: str = "",
    category: str = "",
    commune: str = "",
    sort: str = "newest",
) -> Response:
    console = console_of(request)
    app = console.app
    _ = translator(locale_of(request)).gettext
    officer = session.officer
    chosen_status = status if status in STATUSES else None
    chosen_category = category if app.content.category(category) else None
    chosen_commune = int(commune) if commune.isdigit() else None
    newest_first = sort != "oldest"
    tips = await app.casework.list_tips(
        officer,
        chosen_status,
        category=chosen_category,
        commune_code=chosen_commune,
        newest_first=newest_first,
    )
    everything = await app.casework.list_tips(officer)
    counts = await app.casework.counts(officer)
    status_labels = statuses(_)
    overdue_before = datetime.now(UTC) - timedelta(hours=app.settings.ack_timeout_hours)
    rows = [_row(request, tip, status_labels, overdue_before) for tip in tips]
    communes = sorted(
        {(t.commune_code, _place(request, t.province_code, t.commune_code)) for t in everything},
        key=lambda pair: pair[1],
    )
    return console.page(
        request,
        "queue.html",
        session=session,
        rows=rows,
        counts=[(code, label, counts.get(code, 0)) for code, label in status_labels.items()],
        total=sum(counts.values()),
        status_options=list(status_labels.items()),
        category_options=[
            (c.id, c.label.get(locale_of(request), c.id)) for c in app.content.categories
        ],
        commune_options=[(code, name) for code, name in communes if code is not None],
        chosen={
            "status": chosen_status or "",
            "category": chosen_category or "",
            "commune": chosen_commune,
            "sort": "newest" if newest_first else "oldest",
        },
        filtered=bool(chosen_status or chosen_category or chosen_commune is not None),
    )


def _row(
    request: Request, tip: TipSummary, labels: dict[str, str], overdue_before: datetime
) -> TipRow:
    return TipRow(
        tip_id=tip.tip_id,
        status=tip.status,
        status_label=labels.get(tip.status, tip.status),
        category=_category(request, tip.category),
        place=_place(request, tip.province_code, tip.commune_code),
        received_at=tip.received_at,
        unread=tip.unread_for_police,
        overdue=tip.status == "new" and tip.received_at < overdue_before,
        escalated=tip.escalated_at is not None,
    )


# --- one tip -------------------------------------------------------------------------------


@router.get("/tips/{tip_id}")
async def tip(request: Request, session: Working, tip_id: str) -> Response:
    console = console_of(request)
    app = console.app
    _ = translator(locale_of(request)).gettext
    officer = session.officer
    tip_id = _tip_id(tip_id)
    try:
        opened = await app.casework.open_tip(officer, tip_id)
        notes = await app.casework.notes(officer, tip_id)
    except NotAllowed:
        raise TipNotFound from None
    queues = await app.police.queues(opened.province_code)
    queue_names = {q.id: q.name for q in queues}
    content: dict[str, Any] = opened.content
    location = content.get("location")
    description = [str(part) for part in content.get("description") or []]
    return console.page(
        request,
        "tip.html",
        session=session,
        tip=opened,
        category=_category(request, opened.category),
        place=_place(request, opened.province_code, opened.commune_code),
        province=_place(request, opened.province_code, None),
        queue_name=queue_names.get(opened.queue_id, str(opened.queue_id)),
        when=when_label(_, content.get("when")),
        where=str(content.get("where") or ""),
        location=(f"{float(location[0]):.6f}", f"{float(location[1]):.6f}") if location else None,
        description=description,
        photos=list(range(1, len(opened.photos) + 1)),
        messages=opened.messages,
        notes=notes,
        status_labels=statuses(_),
        disposition_labels=dispositions(_),
        forward_options=[(q.id, q.name) for q in queues if q.id != opened.queue_id],
        outcome=opened.outcome or {},
        max_text=MAX_TEXT,
    )


@router.get("/tips/{tip_id}/photos/{n}")
async def photo(request: Request, session: Working, tip_id: str, n: int) -> Response:
    """Photo ``n`` (from 1) of a tip: already stripped of metadata when it was received."""
    tip_id = _tip_id(tip_id)
    if n < 1:
        raise TipNotFound
    try:
        data = await console_of(request).app.casework.photo(session.officer, tip_id, n - 1)
    except (NotAllowed, LookupError):
        raise TipNotFound from None
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


@router.post("/tips/{tip_id}/ask")
async def ask(
    request: Request,
    session: Posting,
    tip_id: str,
    text: Annotated[str, Form(max_length=MAX_TEXT * 2)] = "",
) -> Response:
    """Send the reporter a question; they read it with their receipt."""
    _ = translator(locale_of(request)).gettext
    tip_id = _tip_id(tip_id)
    question = _clean_text(text)
    if not question or len(question) > MAX_TEXT:
        await _must_see(request, session.officer, tip_id)
        session.flash(
            "error", _("Write a question of up to {limit} characters.").format(limit=MAX_TEXT)
        )
        return redirect(_tip_url(tip_id))
    try:
        await console_of(request).app.casework.ask_reporter(session.officer, tip_id, question)
    except NotAllowed:
        raise TipNotFound from None
    session.flash("ok", _("Your question was sent. The reporter reads it with their receipt."))
    return redirect(_tip_url(tip_id))


@router.post("/tips/{tip_id}/status")
async def set_status(
    request: Request,
    session: Posting,
    tip_id: str,
    status: Annotated[str, Form(max_length=40)] = "",
    disposition: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    _ = translator(locale_of(request)).gettext
    tip_id = _tip_id(tip_id)
    error = None
    if status not in STATUSES or (disposition and disposition not in DISPOSITIONS):
        error = _("Choose a status from the list.")
    elif status in ("actioned", "closed") and not disposition:
        error = _("Choose a disposition to mark a tip actioned or closed.")
    if error is not None:
        await _must_see(request, session.officer, tip_id)
        session.flash("error", error)
        return redirect(_tip_url(tip_id))
    try:
        await console_of(request).app.casework.set_status(
            session.officer, tip_id, status, disposition or None
        )
    except NotAllowed:
        raise TipNotFound from None
    session.flash("ok", _("Status saved."))
    return redirect(_tip_url(tip_id))


def _figure(text: str, kind: type[int] | type[float]) -> int | float | None:
    cleaned = text.strip().replace(",", ".") or "0"
    try:
        value = kind(cleaned)
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


@router.post("/tips/{tip_id}/outcome")
async def set_outcome(
    request: Request,
    session: Posting,
    tip_id: str,
    arrests: Annotated[str, Form(max_length=20)] = "",
    seizures_grams: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    _ = translator(locale_of(request)).gettext
    tip_id = _tip_id(tip_id)
    people = _figure(arrests, int)
    grams = _figure(seizures_grams, float)
    if people is None or grams is None:
        await _must_see(request, session.officer, tip_id)
        session.flash("error", _("Arrests and seizures must be numbers of zero or more."))
        return redirect(_tip_url(tip_id))
    try:
        await console_of(request).app.casework.set_outcome(
            session.officer, tip_id, arrests=int(people), seizures_grams=float(grams)
        )
    except NotAllowed:
        raise TipNotFound from None
    session.flash("ok", _("Outcome saved."))
    return redirect(_tip_url(tip_id))


@router.post("/tips/{tip_id}/notes")
async def add_note(
    request: Request,
    session: Posting,
    tip_id: str,
    text: Annotated[str, Form(max_length=MAX_TEXT * 2)] = "",
) -> Response:
    """An internal note: officers who can open the tip read it, the reporter never does."""
    _ = translator(locale_of(request)).gettext
    tip_id = _tip_id(tip_id)
    note = _clean_text(text)
    if not note or len(note) > MAX_TEXT:
        await _must_see(request, session.officer, tip_id)
        session.flash(
            "error", _("Write a note of up to {limit} characters.").format(limit=MAX_TEXT)
        )
        return redirect(_tip_url(tip_id))
    try:
        await console_of(request).app.casework.add_note(session.officer, tip_id, note)
    except NotAllowed:
        raise TipNotFound from None
    session.flash("ok", _("Note added."))
    return redirect(_tip_url(tip_id))


@router.post("/tips/{tip_id}/forward")
async def forward(
    request: Request,
    session: Posting,
    tip_id: str,
    queue_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Move the tip to another queue of its province (its keys are re-wrapped)."""
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    tip_id = _tip_id(tip_id)
    officer = session.officer
    targets = {q.id: q for q in await app.police.queues()}
    target = targets.get(int(queue_id)) if queue_id.isdigit() else None
    if target is None:
        await _must_see(request, officer, tip_id)
        session.flash("error", _("Choose a queue from the list."))
        return redirect(_tip_url(tip_id))
    try:
        await app.casework.forward(officer, tip_id, target.id)
    except NotAllowed:
        raise TipNotFound from None
    except ValueError:
        session.flash("error", _("A tip can only go to a queue of its own province."))
        return redirect(_tip_url(tip_id))
    session.flash("ok", _("The tip was forwarded to {queue}.").format(queue=target.name))
    still_mine = target.id in officer.queue_keys or target.province_code in officer.province_queues
    return redirect(_tip_url(tip_id) if still_mine else "/console/")


async def _must_see(request: Request, officer: UnlockedOfficer, tip_id: str) -> None:
    """Refuse a form about a tip outside the officer's queues before judging its fields,
    so a foreign tip always gets the same 404, whatever was typed."""
    if not await console_of(request).app.casework.can_see(officer, tip_id):
        raise TipNotFound


# --- anything else under /console (keep this router last) --------------------------------


@fallback.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
async def not_found(session: Working, rest: str) -> Response:
    raise PageNotFound
