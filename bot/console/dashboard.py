"""The supervisor dashboard: the province's figures at a glance.

Tips per week and category, tips per commune over a chosen period, hotspot tips per
commune month by month (a provincial KPI), and the health of each queue. Everything
comes from :class:`~storage.stats.Stats` (plaintext routing columns, no key needed) and
is scoped to the supervisor's province. Charts are inline SVG drawn here
(:mod:`bot.console.charts`), each with its numbers in a table. Small counts are not
suppressed: the console is internal; published figures go through ``suppress``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from bot.console.charts import PALETTE, Series, bar_list, sparkline, stacked_columns, swatch
from bot.console.core import (
    LOCAL_TIME,
    ConsoleRoute,
    PageNotFound,
    Refused,
    Working,
    console_of,
    locale_of,
)
from bot.console.nav import DASHBOARD_ROLES, home_province
from bot.console.sessions import ConsoleSession
from handlers.i18n import translator
from storage.stats import SMALL

__all__ = ["PERIODS", "month_starts", "router"]

router = APIRouter(route_class=ConsoleRoute)

PERIODS = (30, 90, 365)
WEEKS = 12
MONTHS = 6
TOP_COMMUNES = 15
HOTSPOT = "hotspot"


@dataclass(frozen=True, slots=True)
class CommuneRow:
    name: str
    count: int
    known: bool = True


@dataclass(frozen=True, slots=True)
class HotspotRow:
    name: str
    months: list[int]
    total: int
    spark: Markup


def month_starts(now: datetime, count: int = MONTHS) -> list[datetime]:
    """The first moments (Vietnam time, given in UTC) of the last ``count`` calendar
    months, the current one included, oldest first."""
    local = now.astimezone(LOCAL_TIME)
    year, month = local.year, local.month
    starts = []
    for _ in range(count):
        starts.append(datetime(year, month, 1, tzinfo=LOCAL_TIME).astimezone(UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def dashboard_province(request: Request, session: ConsoleSession) -> int:
    """The province whose figures this account reads; 404 for roles without a dashboard."""
    officer = session.officer
    if officer.role not in DASHBOARD_ROLES:
        raise PageNotFound
    province_code = home_province(officer)
    if province_code is None:
        _ = translator(locale_of(request)).gettext
        raise Refused(
            403,
            _(
                "Your account is not attached to a province, so there are no figures to "
                "show. Ask an administrator."
            ),
        )
    return province_code


@router.get("/dashboard")
async def dashboard(request: Request, session: Working, period: str = "30") -> Response:
    console = console_of(request)
    app = console.app
    locale = locale_of(request)
    _ = translator(locale).gettext
    province_code = dashboard_province(request, session)
    days = int(period) if period.isdigit() and int(period) in PERIODS else PERIODS[0]
    now = datetime.now(UTC)
    province = app.directory.province(province_code)
    province_name = province.name if province else str(province_code)

    def commune_name(code: int | None) -> str:
        commune = app.directory.commune(code) if code is not None else None
        return commune.name if commune else (_("Commune not known") if code is None else str(code))

    # (a) tips per week and category
    weekly = await app.stats.weekly(province_code, WEEKS, now=now)
    seen: Counter[str] = Counter()
    for counts in weekly.values():
        seen.update(counts)
    known_ids = {c.id for c in app.content.categories}
    # A category keeps its colour whatever else shows: colours follow the content's order.
    series = [
        Series(c.id, c.label.get(locale, c.id), PALETTE[i % len(PALETTE)])
        for i, c in enumerate(app.content.categories)
        if seen.get(c.id)
    ] + [
        Series(key, key, PALETTE[-1]) for key in sorted(seen) if key not in known_ids and seen[key]
    ]
    columns = [
        (start.astimezone(LOCAL_TIME).strftime("%d/%m"), dict(counts))
        for start, counts in weekly.items()
    ]
    week_rows = [
        (label, [counts.get(s.key, 0) for s in series], sum(counts.values()))
        for label, counts in columns
    ]
    weekly_total = sum(seen.values())
    weekly_chart = stacked_columns(
        "chart-weekly",
        _("Tips per week, by category"),
        _("The last {weeks} weeks; each column is a week starting on Monday.").format(weeks=WEEKS),
        columns,
        series,
    )

    # (b) tips per commune over the chosen period
    by_commune = await app.stats.by_commune(province_code, now - timedelta(days=days))
    known = sorted(
        ((code, n) for code, n in by_commune.items() if code is not None and n),
        key=lambda pair: (-pair[1], commune_name(pair[0])),
    )
    commune_rows = [CommuneRow(commune_name(code), n) for code, n in known[:TOP_COMMUNES]]
    others = sum(n for _code, n in known[TOP_COMMUNES:])
    unknown = by_commune.get(None, 0)
    if unknown:
        commune_rows.append(CommuneRow(_("Commune not known"), unknown, known=False))
    commune_chart = bar_list(
        "chart-communes",
        _("Tips per commune, last {days} days").format(days=days),
        _("The {top} communes with the most tips, then tips whose commune is not known.").format(
            top=TOP_COMMUNES
        ),
        [(row.name, row.count) for row in commune_rows],
        muted=[not row.known for row in commune_rows],
    )

    # (c) hotspot tips per commune, month by month
    starts = month_starts(now)
    since = [await app.stats.by_commune(province_code, start, HOTSPOT) for start in starts]
    monthly: dict[int | None, list[int]] = {}
    for index, cumulative in enumerate(since):
        later = since[index + 1] if index + 1 < len(since) else Counter()
        for code, n in cumulative.items():
            monthly.setdefault(code, [0] * len(starts))[index] = n - later.get(code, 0)
    month_labels = [start.astimezone(LOCAL_TIME).strftime("%m/%Y") for start in starts]
    province_months = [sum(values[i] for values in monthly.values()) for i in range(len(starts))]
    peak = max((max(values) for values in monthly.values()), default=0)
    hotspot_rows = [
        HotspotRow(
            name=commune_name(code),
            months=values,
            total=sum(values),
            spark=sparkline(commune_name(code), values, top_value=peak),
        )
        for code, values in sorted(
            monthly.items(), key=lambda item: (-sum(item[1]), commune_name(item[0]))
        )
        if sum(values)
    ]

    # (d) queue health
    health = await app.stats.queue_health(
        province_code, timedelta(hours=app.settings.ack_timeout_hours), now=now
    )

    return console.page(
        request,
        "dashboard.html",
        session=session,
        province_name=province_name,
        periods=PERIODS,
        days=days,
        series=[(s, swatch(s.colour)) for s in series],
        weekly_chart=weekly_chart,
        week_rows=week_rows,
        weekly_total=weekly_total,
        commune_chart=commune_chart,
        commune_rows=commune_rows,
        commune_others=others,
        commune_total=sum(by_commune.values()),
        month_labels=month_labels,
        hotspot_rows=hotspot_rows,
        province_months=province_months,
        province_spark=sparkline(province_name, province_months),
        health=health,
        ack_timeout_hours=app.settings.ack_timeout_hours,
        updated_at=now,
        small=SMALL,
    )
