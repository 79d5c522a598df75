"""The communicator pages: the campaign calendar, a message with its previews, audience
and delivery progress, the controls (send now, pause, resume, cancel), the message form
and loading a campaign file.

Communicators and admins only; anyone else gets the 404 of a page that does not exist.
The database is the source of truth: the form and the upload go through
:meth:`bot.campaigns.service.CampaignService.load`, after the same checks as campaign
files (:func:`bot.campaigns.schema.check_campaign`). Every change is audited.
"""

from __future__ import annotations

import calendar
import html
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request, Response, UploadFile
from markupsafe import Markup
from pydantic import ValidationError

import content as content_package
from bot.campaigns.schema import (
    ALL,
    PLATFORM_LIMITS,
    CampaignFile,
    CampaignFileError,
    _describe,
    check_campaign,
    load_campaign_file,
    sent_text,
)
from bot.campaigns.service import MessageStatus, local_time, rule_of
from bot.channels.zalo.render import split as zalo_split
from bot.console.core import (
    LOCAL_TIME,
    ConsoleRoute,
    PageNotFound,
    Posting,
    Working,
    console_of,
    locale_of,
    redirect,
)
from bot.console.nav import CAMPAIGN_ROLES
from bot.console.reporting import delivery_status_labels
from bot.console.sessions import ConsoleSession
from handlers.i18n import translator
from storage.audience import audience_size, campaign_settings
from storage.campaigns import CampaignSpec, MessageRow
from storage.deliveries import COUNTED, FINAL

__all__ = ["STATES", "router"]

router = APIRouter(route_class=ConsoleRoute)

STATES = ("scheduled", "sending", "paused", "cancelled", "done", "missed")
CAMPAIGN_DIR = Path(content_package.__file__).parent / "campaigns"
MAX_UPLOAD = 512 * 1024
KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_SUFFIX = re.compile(r"\((\d+)\)\s*$")
MONTH_DAY = re.compile(r"^\d{2}-\d{2}$")
CLOCK = re.compile(r"^\d{2}:\d{2}$")
UPLOAD_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.ya?ml$")
ACTION_DAY = (6, 26)


def _communicator(session: ConsoleSession) -> None:
    if session.officer.role not in CAMPAIGN_ROLES:
        raise PageNotFound


def _state_labels(_: Any) -> dict[str, str]:
    return {
        "scheduled": _("Scheduled"),
        "sending": _("Sending"),
        "paused": _("Paused"),
        "cancelled": _("Cancelled"),
        "done": _("Done"),
        "missed": _("Missed"),
    }


# --- the calendar ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """A message on a day of the calendar."""

    message: MessageRow
    time: str
    groups: str
    state: str


@dataclass
class Day:
    day: date
    in_month: bool
    highlight: bool
    entries: list[Entry] = field(default_factory=list)


def _moment_in(message: MessageRow, year: int) -> datetime | None:
    """The local date-time of a message's sending in ``year``, if it is sent that year."""
    zone = ZoneInfo(message.timezone)
    if message.send_at is not None:
        local = message.send_at.astimezone(zone)
        return local if local.year == year else None
    occurrence = rule_of(message).in_year(year)
    return occurrence.due_at.astimezone(zone) if occurrence is not None else None


def _state_in(
    message: MessageRow, year: int, moment: datetime, counts: dict[str, int] | None, now: datetime
) -> str | None:
    """Where a message's occurrence of ``year`` stands; None for a past occurrence that
    never happened (e.g. before the campaign was loaded)."""
    if message.occurrence == year and message.state in ("sending", "paused", "missed"):
        return message.state
    if counts:
        return "sending" if counts.get("pending") or counts.get("sending") else "done"
    if moment > now:
        if message.state in ("cancelled", "paused"):
            return message.state
        return "scheduled"
    if message.due_at is not None and message.due_at == moment:
        return "scheduled"  # due, about to start
    return None


def _groups_text(message: MessageRow, labels: dict[str, str], everyone: str) -> str:
    groups = message.audience.get("groups") or [ALL]
    return ", ".join(everyone if g == ALL else labels.get(g, g) for g in groups)


@router.get("/campaigns")
async def calendar_page(
    request: Request, session: Working, year: str = "", month: str = "6"
) -> Response:
    _communicator(session)
    console = console_of(request)
    app = console.app
    locale = locale_of(request)
    _ = translator(locale).gettext
    now = datetime.now(UTC)
    this_year = now.astimezone(LOCAL_TIME).year
    shown_year = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else this_year
    shown_month = int(month) if month.isdigit() and 1 <= int(month) <= 12 else 6
    group_labels = {g.id: g.label.get(locale, g.id) for g in app.content.audience_groups}
    messages = await app.campaigns.messages()
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for row in await app.campaigns.deliveries.counts():
        by_status = counts.setdefault((row.message_id, row.occurrence), {})
        by_status[row.status] = by_status.get(row.status, 0) + row.count
    by_day: dict[date, list[Entry]] = {}
    for message in messages:
        moment = _moment_in(message, shown_year)
        if moment is None or moment.month != shown_month:
            continue
        state = _state_in(message, shown_year, moment, counts.get((message.id, shown_year)), now)
        if state is None:
            continue
        by_day.setdefault(moment.date(), []).append(
            Entry(
                message,
                moment.strftime("%H:%M"),
                _groups_text(message, group_labels, _("everyone")),
                state,
            )
        )
    weeks = [
        [
            Day(
                day,
                day.month == shown_month,
                (day.month, day.day) == ACTION_DAY and day.month == shown_month,
                sorted(by_day.get(day, []), key=lambda e: (e.time, e.message.key)),
            )
            for day in week
        ]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(shown_year, shown_month)
    ]
    weekdays = [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]
    totals = {state: 0 for state in STATES}
    for entries in by_day.values():
        for entry in entries:
            totals[entry.state] += 1
    return console.page(
        request,
        "campaigns.html",
        session=session,
        year=shown_year,
        month=shown_month,
        years=list(range(min(this_year, shown_year) - 1, max(this_year, shown_year) + 3)),
        weeks=weeks,
        weekdays=weekdays,
        states=_state_labels(_),
        totals=totals,
        campaigns=await campaign_settings(app.db),
        today=now.astimezone(LOCAL_TIME).date(),
    )


# --- one message ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    content: Markup | str
    length: int
    limit: int


@dataclass(frozen=True, slots=True)
class Preview:
    language: str
    telegram: list[Part]
    zalo: list[Part]
    web: str


def _visible(telegram_html: str) -> int:
    return len(html.unescape(re.sub(r"<[^>]+>", "", telegram_html)))


def previews(message: MessageRow) -> list[Preview]:
    """The body in each language as Telegram (HTML, ≤ 4096 per part), Zalo (plain text,
    ≤ 2000 per part) and the web chat (plain text) show it."""
    # Imported here: the Telegram package loads aiogram (about 150 MB and 2.5 s), which a
    # service without Telegram, and every other console page, can do without.
    from bot.channels.telegram.campaign import markdown_parts

    result = []
    for language, body in message.bodies.items():
        telegram = [
            Part(Markup(part), _visible(part), PLATFORM_LIMITS["Telegram"])  # noqa: S704 - escaped by markdown_html
            for part in markdown_parts(str(body))
        ]
        zalo = [
            Part(part, len(part), PLATFORM_LIMITS["Zalo"])
            for part in zalo_split(sent_text(str(body)))
        ]
        result.append(Preview(language, telegram, zalo, sent_text(str(body))))
    return result


@dataclass(frozen=True, slots=True)
class Area:
    province: str
    communes: list[str]


def _areas(request: Request, message: MessageRow) -> list[Area] | None:
    directory = console_of(request).app.directory
    areas = message.audience.get("areas")
    if areas is None:
        return None
    result = []
    for area in areas:
        province = directory.province(int(area["province"]))
        communes = []
        for code in area.get("communes") or ():
            commune = directory.commune(int(code))
            communes.append(f"{commune.name} ({code})" if commune else str(code))
        result.append(
            Area(
                f"{province.name} ({area['province']})" if province else str(area["province"]),
                communes,
            )
        )
    return result


async def _message_or_404(request: Request, message_id: str) -> MessageRow:
    if not message_id.isdigit() or len(message_id) > 12:
        raise PageNotFound
    message = await console_of(request).app.campaigns.message(int(message_id))
    if message is None:
        raise PageNotFound
    return message


@dataclass(frozen=True, slots=True)
class Progress:
    occurrence: int | None
    rows: list[tuple[str, list[int], int]]
    totals: list[int]
    total: int
    finished: int


def _progress(status: MessageStatus) -> Progress:
    rows = []
    for channel, counts in sorted(status.counts.items()):
        values = [counts.get(s, 0) for s in COUNTED]
        rows.append((channel, values, sum(values)))
    totals = [sum(row[1][i] for row in rows) for i in range(len(COUNTED))]
    total = sum(totals)
    finished = sum(t for s, t in zip(COUNTED, totals, strict=True) if s in FINAL)
    return Progress(status.occurrence, rows, totals, total, finished)


@router.get("/campaigns/messages/{message_id}")
async def message_page(request: Request, session: Working, message_id: str) -> Response:
    _communicator(session)
    console = console_of(request)
    app = console.app
    locale = locale_of(request)
    _ = translator(locale).gettext
    message = await _message_or_404(request, message_id)
    group_labels = {g.id: g.label.get(locale, g.id) for g in app.content.audience_groups}
    sizes = await audience_size(app.db, message.audience, list(message.bodies))
    statuses = await app.campaigns.status(message.id)
    progress = [_progress(s) for s in statuses if s.counts]
    waiting = (
        await app.campaigns.waiting(message.id, progress[0].occurrence)
        if progress and progress[0].occurrence is not None
        else 0
    )
    status_labels = delivery_status_labels(_)
    return console.page(
        request,
        "campaign_message.html",
        session=session,
        message=message,
        rule=str(rule_of(message)),
        next_due=local_time(message.due_at, message.timezone),
        state_label=_state_labels(_).get(message.state, message.state),
        groups=_groups_text(message, group_labels, _("everyone")),
        areas=_areas(request, message),
        sizes=sizes,
        size_total=sum(sizes.values()),
        previews=previews(message),
        progress=progress,
        waiting=waiting,
        statuses=COUNTED,
        status_labels=status_labels,
        refresh=message.state == "sending",
    )


async def _control(
    request: Request, session: ConsoleSession, message_id: str, action: str
) -> Response:
    _communicator(session)
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    message = await _message_or_404(request, message_id)
    detail: dict[str, Any] = {"message": message.id, "ref": message.ref}
    done = True
    try:
        if action == "send_now":
            result = await app.campaigns.send_now(message.id)
            detail["occurrence"] = result.occurrence
            detail["added"] = result.added
            session.flash(
                "ok",
                _("Sending started: %(count)s new deliveries.") % {"count": result.added},
            )
        elif action == "pause":
            done = await app.campaigns.pause(message.id)
            session.flash(
                "ok" if done else "error",
                _("The message is paused.") if done else _("This message cannot be paused now."),
            )
        elif action == "resume":
            state = await app.campaigns.resume(message.id)
            done = state is not None
            detail["state"] = state
            session.flash(
                "ok" if done else "error",
                _("The message is resumed.") if done else _("This message is not paused."),
            )
        else:
            skipped = await app.campaigns.cancel(message.id)
            done = skipped is not None
            detail["skipped"] = skipped
            session.flash(
                "ok" if done else "error",
                _("The message is cancelled; %(count)s waiting deliveries were dropped.")
                % {"count": skipped}
                if done
                else _("This message is already cancelled."),
            )
    except ValueError:
        done = False
        session.flash(
            "error", _("This message cannot be sent now: it is cancelled. Resume it first.")
        )
    if done:
        await app.audit.record(session.officer.username, f"campaign_{action}", **detail)
    return redirect(f"/console/campaigns/messages/{message.id}")


@router.post("/campaigns/messages/{message_id}/send-now")
async def send_now(request: Request, session: Posting, message_id: str) -> Response:
    return await _control(request, session, message_id, "send_now")


@router.post("/campaigns/messages/{message_id}/pause")
async def pause(request: Request, session: Posting, message_id: str) -> Response:
    return await _control(request, session, message_id, "pause")


@router.post("/campaigns/messages/{message_id}/resume")
async def resume(request: Request, session: Posting, message_id: str) -> Response:
    return await _control(request, session, message_id, "resume")


@router.post("/campaigns/messages/{message_id}/cancel")
async def cancel(request: Request, session: Posting, message_id: str) -> Response:
    return await _control(request, session, message_id, "cancel")


# --- the message form -----------------------------------------------------------------------


@dataclass
class MessageForm:
    """What the form shows and what came back from it."""

    campaign: str = ""
    key: str = ""
    send_kind: str = "yearly"
    yearly_day: str = "06-26"
    yearly_time: str = "07:00"
    at: str = ""
    groups: list[str] = field(default_factory=lambda: [ALL])
    areas: str = ""
    bodies: dict[str, str] = field(default_factory=dict)
    image: str | None = None


def _form_of(message: MessageRow, request: Request) -> MessageForm:
    directory = console_of(request).app.directory
    lines = []
    for area in message.audience.get("areas") or ():
        province = directory.province(int(area["province"]))
        line = f"{province.name if province else ''} ({area['province']})".strip()
        names = []
        for code in area.get("communes") or ():
            commune = directory.commune(int(code))
            names.append(f"{commune.name if commune else ''} ({code})".strip())
        lines.append(line + (": " + "; ".join(names) if names else ""))
    yearly_day, _, yearly_time = (message.yearly or "").partition(" ")
    at = ""
    if message.send_at is not None:
        at = message.send_at.astimezone(ZoneInfo(message.timezone)).strftime("%Y-%m-%dT%H:%M")
    return MessageForm(
        campaign=message.campaign,
        key=message.key,
        send_kind="yearly" if message.yearly else "at",
        yearly_day=yearly_day or "06-26",
        yearly_time=yearly_time or "07:00",
        at=at,
        groups=list(message.audience.get("groups") or [ALL]),
        areas="\n".join(lines),
        bodies={k: str(v) for k, v in message.bodies.items()},
        image=message.image,
    )


def _parse_areas(request: Request, text: str, _: Any) -> tuple[Any, list[str]]:
    """The typed areas as the campaign format's ``areas`` (``all`` or a list), and errors.

    One line per province: its code or name, optionally ``: `` and communes separated by
    ``;`` (names, old names or codes; ``Name (code)`` is taken by its code)."""
    directory = console_of(request).app.directory
    lines = [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]
    if not lines or (len(lines) == 1 and lines[0].lower() in (ALL, "tất cả")):
        return ALL, []
    areas: list[dict[str, Any]] = []
    errors: list[str] = []
    for line in lines:
        province_text, _sep, communes_text = line.partition(":")
        province_text = province_text.strip()
        code_match = CODE_SUFFIX.search(province_text)
        if province_text.isdigit() or code_match:
            code = int(code_match[1]) if code_match else int(province_text)
            province = directory.province(code)
        else:
            found = directory.match_province(province_text, limit=1)
            province = found[0] if found else None
        if province is None:
            errors.append(_("No province matches “%(text)s”.") % {"text": province_text})
            continue
        area: dict[str, Any] = {"province": province.code}
        communes: list[int] = []
        for item in (c.strip() for c in communes_text.split(";")):
            if not item:
                continue
            code_match = CODE_SUFFIX.search(item)
            if item.isdigit() or code_match:
                commune = directory.commune(int(code_match[1]) if code_match else int(item))
                if commune is None or commune.province_code != province.code:
                    commune = None
            else:
                matches = directory.match_commune(province.code, item, limit=1)
                commune = matches[0].commune if matches else None
            if commune is None:
                errors.append(
                    _("No commune of %(province)s matches “%(text)s”.")
                    % {"province": province.name, "text": item}
                )
            elif commune.code not in communes:
                communes.append(commune.code)
        if communes:
            area["communes"] = communes
        areas.append(area)
    return areas, errors


def _campaign_data(settings: CampaignSpec, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": settings.slug,
        "title": settings.title,
        "theme": settings.theme,
        "period": {"start": settings.period_start, "end": settings.period_end},
        "timezone": settings.timezone,
        "languages": settings.languages,
        "audience_groups": settings.audience_groups,
        "messages": [message],
    }


async def _form_page(
    request: Request,
    session: ConsoleSession,
    form: MessageForm,
    *,
    editing: MessageRow | None,
    problems: list[str],
    status: int = 200,
) -> Response:
    console = console_of(request)
    app = console.app
    locale = locale_of(request)
    campaigns = await campaign_settings(app.db)
    chosen = campaigns.get(form.campaign) or next(iter(campaigns.values()), None)
    group_labels = {g.id: g.label.get(locale, g.id) for g in app.content.audience_groups}
    return console.page(
        request,
        "campaign_form.html",
        status=status,
        session=session,
        form=form,
        editing=editing,
        problems=problems,
        campaigns=campaigns,
        body_languages=chosen.languages if chosen else ["vi", "en"],
        groups=[(g, group_labels.get(g, g)) for g in (chosen.audience_groups if chosen else [])],
    )


@router.get("/campaigns/new")
async def new_message(request: Request, session: Working, campaign: str = "") -> Response:
    _communicator(session)
    return await _form_page(
        request, session, MessageForm(campaign=campaign), editing=None, problems=[]
    )


@router.get("/campaigns/messages/{message_id}/edit")
async def edit_message(request: Request, session: Working, message_id: str) -> Response:
    _communicator(session)
    message = await _message_or_404(request, message_id)
    return await _form_page(
        request, session, _form_of(message, request), editing=message, problems=[]
    )


async def _save(
    request: Request,
    session: ConsoleSession,
    editing: MessageRow | None,
    fields: dict[str, Any],
) -> Response:
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    form = MessageForm(
        campaign=editing.campaign if editing else str(fields["campaign"]).strip(),
        key=editing.key if editing else str(fields["key"]).strip(),
        send_kind="at" if fields["send_kind"] == "at" else "yearly",
        yearly_day=str(fields["yearly_day"]).strip(),
        yearly_time=str(fields["yearly_time"]).strip(),
        at=str(fields["at"]).strip(),
        groups=[g for g in fields["groups"] or [] if isinstance(g, str)] or [],
        areas=str(fields["areas"]),
        bodies={
            language: unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
            for language, text in fields["bodies"].items()
        },
        image=editing.image if editing else None,
    )
    campaigns = await campaign_settings(app.db)
    settings = campaigns.get(form.campaign)
    problems: list[str] = []
    if settings is None:
        problems.append(_("Choose a campaign from the list."))
    if not KEY.match(form.key) or len(form.key) > 64:
        problems.append(
            _(
                "The message id is lowercase letters without accents and digits, joined "
                "by dashes, e.g. week1-launch."
            )
        )
    elif (
        editing is None
        and settings is not None
        and await app.campaigns.find(f"{settings.slug}/{form.key}")
    ):
        problems.append(_("This campaign already has a message with this id."))
    if not form.groups:
        problems.append(_("Choose at least one audience group (or everyone)."))
    if form.send_kind == "yearly":
        if not (MONTH_DAY.match(form.yearly_day) and CLOCK.match(form.yearly_time)):
            problems.append(_("Give the day as MM-DD (e.g. 06-26) and the time as HH:MM."))
        send: dict[str, str] = {"yearly": f"{form.yearly_day} {form.yearly_time}"}
    else:
        send = {"at": form.at[:16]}
    areas, area_problems = _parse_areas(request, form.areas, _)
    problems += area_problems
    if settings is not None:
        form.bodies = {language: form.bodies.get(language, "") for language in settings.languages}
    if problems or settings is None:
        return await _form_page(
            request, session, form, editing=editing, problems=problems, status=400
        )
    message: dict[str, Any] = {
        "id": form.key,
        "send": send,
        "audience": {"groups": form.groups, "areas": areas},
        "image": form.image,
        "body": form.bodies,
    }
    data = _campaign_data(settings, message)
    try:
        campaign = CampaignFile.model_validate(data)
    except ValidationError as error:
        problems = [_describe(detail, data) for detail in error.errors()]
    else:
        problems = [
            p
            for p in check_campaign(campaign, weekly_rule=False, directory=app.directory)
            if not p.startswith("campaign: audience group ")  # other messages use them
        ]
    if problems:
        return await _form_page(
            request, session, form, editing=editing, problems=problems, status=400
        )
    report = await app.campaigns.load(campaign)
    [saved] = await app.campaigns.find(f"{settings.slug}/{form.key}")
    await app.audit.record(
        session.officer.username,
        "campaign_message_saved",
        message=saved.id,
        ref=saved.ref,
        created=bool(report.created),
    )
    session.flash("ok", _("The message is saved."))
    return redirect(f"/console/campaigns/messages/{saved.id}")


FormText = Annotated[str, Form(max_length=20000)]


@router.post("/campaigns/new")
async def create_message(
    request: Request,
    session: Posting,
    campaign: Annotated[str, Form(max_length=64)] = "",
    key: Annotated[str, Form(max_length=80)] = "",
    send_kind: Annotated[str, Form(max_length=10)] = "yearly",
    yearly_day: Annotated[str, Form(max_length=10)] = "",
    yearly_time: Annotated[str, Form(max_length=10)] = "",
    at: Annotated[str, Form(max_length=30)] = "",
    groups: Annotated[list[str] | None, Form()] = None,
    areas: FormText = "",
    body_vi: FormText = "",
    body_en: FormText = "",
) -> Response:
    _communicator(session)
    return await _save(
        request,
        session,
        None,
        {
            "campaign": campaign,
            "key": key,
            "send_kind": send_kind,
            "yearly_day": yearly_day,
            "yearly_time": yearly_time,
            "at": at,
            "groups": groups,
            "areas": areas,
            "bodies": {"vi": body_vi, "en": body_en},
        },
    )


@router.post("/campaigns/messages/{message_id}/edit")
async def update_message(
    request: Request,
    session: Posting,
    message_id: str,
    send_kind: Annotated[str, Form(max_length=10)] = "yearly",
    yearly_day: Annotated[str, Form(max_length=10)] = "",
    yearly_time: Annotated[str, Form(max_length=10)] = "",
    at: Annotated[str, Form(max_length=30)] = "",
    groups: Annotated[list[str] | None, Form()] = None,
    areas: FormText = "",
    body_vi: FormText = "",
    body_en: FormText = "",
) -> Response:
    _communicator(session)
    message = await _message_or_404(request, message_id)
    return await _save(
        request,
        session,
        message,
        {
            "send_kind": send_kind,
            "yearly_day": yearly_day,
            "yearly_time": yearly_time,
            "at": at,
            "groups": groups,
            "areas": areas,
            "bodies": {"vi": body_vi, "en": body_en},
        },
    )


# --- loading a campaign file ----------------------------------------------------------------


@router.post("/campaigns/load")
async def load_file(request: Request, session: Posting, file: UploadFile | None = None) -> Response:
    """Check an uploaded campaign file like ``tipline campaigns load`` does, then load it."""
    _communicator(session)
    app = console_of(request).app
    _ = translator(locale_of(request)).gettext
    name = Path(file.filename or "").name if file is not None else ""
    data = await file.read(MAX_UPLOAD + 1) if file is not None else b""
    problems: list[str] = []
    campaign: CampaignFile | None = None
    if not data:
        problems.append(_("Choose a campaign file (.yaml) to load."))
    elif len(data) > MAX_UPLOAD:
        problems.append(_("The file is too big for a campaign file."))
    elif not UPLOAD_NAME.match(name):
        problems.append(_("Name the file after the campaign's id, e.g. june-action-month.yaml."))
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            try:
                campaign = load_campaign_file(path)
            except CampaignFileError as error:
                problems += error.problems
        if campaign is not None:
            # Images are looked for beside the campaign files of the installation.
            campaign._source = CAMPAIGN_DIR / name
            problems += check_campaign(campaign, directory=app.directory)
    if problems or campaign is None:
        for problem in problems[:30]:
            session.flash("error", problem)
        if len(problems) > 30:
            session.flash(
                "error", _("… and %(count)s more problems.") % {"count": len(problems) - 30}
            )
        session.flash("error", _("Nothing was loaded."))
        return redirect("/console/campaigns")
    report = await app.campaigns.load(campaign)
    await app.audit.record(
        session.officer.username,
        "campaign_loaded",
        campaign=report.campaign,
        created=len(report.created),
        updated=len(report.updated),
        rescheduled=len(report.rescheduled),
    )
    session.flash(
        "ok",
        _(
            "Campaign %(campaign)s loaded: %(new)s new, %(rescheduled)s rescheduled, "
            "%(updated)s updated, %(unchanged)s unchanged messages."
        )
        % {
            "campaign": report.campaign,
            "new": len(report.created),
            "rescheduled": len(report.rescheduled),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
        },
    )
    if report.absent:
        session.flash(
            "error",
            _("Stored messages not in the file stay as they are: %(keys)s.")
            % {"keys": ", ".join(report.absent)},
        )
    return redirect("/console/campaigns")
