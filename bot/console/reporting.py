"""The month-end report as people read it: tables with labels in their language, charts,
CSV and a printable HTML page. The figures come from :func:`storage.reports.month_report`.

The same tables feed the command line (Rich), the console page, the CSV download and the
printable page, so every output shows the same numbers. A ``published`` report shows small
counts as "<5" everywhere, charts included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.console.charts import bar_list
from bot.console.core import local_time
from bot.console.labels import dispositions, statuses
from handlers.content import Content
from handlers.i18n import translator
from storage.deliveries import STATUSES
from storage.directory import Directory
from storage.reports import MonthReport
from storage.stats import SMALL

__all__ = [
    "ReportTable",
    "ReportView",
    "delivery_status_labels",
    "report_csv",
    "report_html",
    "report_view",
]

Gettext = Callable[[str], str]

CHANNELS = {"telegram": "Telegram", "zalo": "Zalo"}
TEMPLATES = Path(__file__).parent / "templates"
PRINT_CSS = Path(__file__).parent / "static" / "report.css"


@dataclass
class ReportTable:
    """One table of the report: its title, column headings and rows of shown values."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    chart: Markup | None = None
    note: str = ""


@dataclass
class ReportView:
    """A report ready to show: its title, area, tables and notes."""

    report: MonthReport
    title: str
    area: str
    month_name: str
    tables: list[ReportTable] = field(default_factory=list)

    def table(self, key: str) -> ReportTable:
        return next(t for t in self.tables if t.key == key)


def delivery_status_labels(_: Gettext) -> dict[str, str]:
    return {
        "sent": _("Sent"),
        "resent": _("Sent again after a restart (may have arrived twice)"),
        "pending": _("Pending"),
        "sending": _("Being sent"),
        "failed": _("Failed"),
        "blocked": _("Blocked"),
        "skipped": _("Skipped"),
        "uncertain": _("Uncertain"),
    }


def report_view(
    report: MonthReport,
    locale: str,
    directory: Directory,
    content: Content,
    *,
    charts: bool = True,
) -> ReportView:
    """The report's tables in ``locale`` (and charts, for pages)."""
    _ = translator(locale).gettext
    n = report.count

    def province_name(code: int) -> str:
        province = directory.province(code)
        return province.name if province else str(code)

    def commune_name(code: int | None) -> str:
        if code is None:
            return _("Commune not known")
        commune = directory.commune(code)
        return commune.name if commune else str(code)

    def group_name(group: str) -> str:
        found = content.audience_group(group)
        return found.label.get(locale, group) if found else group

    def category_name(category: str) -> str:
        found = content.category(category)
        return found.label.get(locale, category) if found else category

    def chart(key: str, title: str, description: str, rows: list[tuple[str, int]]) -> Markup | None:
        if not charts or not rows:
            return None
        if report.published:
            # Small counts show as "<5" with no bar: a bar's length would tell the count.
            shown = [(label, count if count >= SMALL else 0) for label, count in rows]
            return bar_list(key, title, description, shown, shown_values=[n(c) for _l, c in rows])
        return bar_list(key, title, description, rows)

    area = (
        province_name(report.province_code)
        if report.province_code is not None
        else _("All provinces")
    )
    month_name = _("%(month)02d/%(year)s") % {"month": report.month, "year": report.year}
    view = ReportView(
        report=report,
        title=_("Results report, %(month)s") % {"month": month_name},
        area=area,
        month_name=month_name,
    )
    tables = view.tables

    # --- the summary --------------------------------------------------------------------
    subscribed = sum(report.subscribers_active.values())
    summary = [
        [_("Campaign messages sent"), n(report.messages_sent)],
        [_("Messages delivered"), n(report.delivered)],
        [_("New subscribers"), n(sum(report.subscribers_gained.values()))],
        [_("Subscribers who stopped"), n(sum(report.subscribers_lost.values()))],
        [_("Subscribers at the end of the month"), n(subscribed)],
        [_("Tips received"), n(report.tips)],
        [_("Tips acknowledged"), n(report.acknowledged)],
        [
            _("Median hours to acknowledge"),
            report.hours(report.median_ack_hours, report.acknowledged),
        ],
        [
            _("90th percentile, hours to acknowledge"),
            report.hours(report.p90_ack_hours, report.acknowledged),
        ],
        [
            _("Overdue (not acknowledged within %(hours)s hours)")
            % {"hours": f"{report.ack_timeout_hours:g}"},
            n(report.overdue),
        ],
        [_("Escalated to the province"), n(report.escalated)],
        [_("Arrests"), n(report.arrests)],
        [_("Drugs seized (grams)"), report.grams()],
        [_("Tips with outcome figures"), n(report.tips_with_outcome)],
    ]
    tables.append(ReportTable("summary", _("Summary"), [_("Figure"), _("Value")], summary))

    # --- campaign messages --------------------------------------------------------------
    groups = sorted(report.delivered_by_group.items(), key=lambda kv: (-kv[1], kv[0]))
    tables.append(
        ReportTable(
            "delivered-group",
            _("Messages delivered per audience group"),
            [_("Audience group"), _("Delivered")],
            [[group_name(g), n(c)] for g, c in groups] + [[_("Total"), n(report.delivered)]],
            chart(
                "chart-delivered-group",
                _("Messages delivered per audience group"),
                _("Campaign messages delivered in the month, by the subscriber's group."),
                [(group_name(g), c) for g, c in groups],
            ),
        )
    )
    provinces = sorted(
        report.delivered_by_province.items(), key=lambda kv: (-kv[1], province_name(kv[0]))
    )
    tables.append(
        ReportTable(
            "delivered-province",
            _("Messages delivered per province"),
            [_("Province"), _("Delivered")],
            [[province_name(p), n(c)] for p, c in provinces],
        )
    )
    if report.delivered_by_commune:
        communes = sorted(
            report.delivered_by_commune.items(),
            key=lambda kv: (province_name(kv[0][0]), commune_name(kv[0][1])),
        )
        tables.append(
            ReportTable(
                "delivered-commune",
                _("Messages aimed at some communes: delivered per commune"),
                [_("Province"), _("Commune"), _("Delivered")],
                [[province_name(p), commune_name(c), n(count)] for (p, c), count in communes],
                note=_(
                    "The subscriber's commune today; “commune not known” for subscribers "
                    "who have been forgotten since."
                ),
            )
        )
    status_labels = delivery_status_labels(_)
    channel_rows = []
    for channel in sorted(set(report.deliveries_by_status) | set(report.delivered_by_channel)):
        counts: Mapping[str, int] = report.deliveries_by_status.get(channel, {})
        channel_rows.append(
            [CHANNELS.get(channel, channel)] + [n(counts.get(status, 0)) for status in STATUSES]
        )
    tables.append(
        ReportTable(
            "delivered-channel",
            _("Deliveries per channel"),
            [_("Channel")] + [status_labels[s] for s in STATUSES],
            channel_rows,
        )
    )
    channels = sorted(
        set(report.subscribers_gained)
        | set(report.subscribers_lost)
        | set(report.subscribers_active)
    )
    tables.append(
        ReportTable(
            "subscribers",
            _("Subscribers per channel"),
            [_("Channel"), _("New"), _("Stopped"), _("At the end of the month")],
            [
                [
                    CHANNELS.get(c, c),
                    n(report.subscribers_gained.get(c, 0)),
                    n(report.subscribers_lost.get(c, 0)),
                    n(report.subscribers_active.get(c, 0)),
                ]
                for c in channels
            ],
            note=_("Subscribers who asked to be forgotten are no longer counted anywhere."),
        )
    )

    # --- tips ---------------------------------------------------------------------------
    categories = [c.id for c in content.categories if report.tips_by_category.get(c.id)] + sorted(
        c for c in report.tips_by_category if content.category(c) is None
    )
    commune_totals = sorted(
        report.tips_by_commune.items(),
        key=lambda kv: (kv[0] is None, -sum(kv[1].values()), commune_name(kv[0])),
    )
    tables.append(
        ReportTable(
            "tips-commune",
            _("Tips received per commune and category"),
            [_("Commune")] + [category_name(c) for c in categories] + [_("Total")],
            [
                [commune_name(code)]
                + [n(counts.get(c, 0)) for c in categories]
                + [n(sum(counts.values()))]
                for code, counts in commune_totals
            ]
            + [
                [_("Total")]
                + [n(report.tips_by_category.get(c, 0)) for c in categories]
                + [n(report.tips)]
            ],
            chart(
                "chart-tips-commune",
                _("Tips received per commune"),
                _("Tips received in the month, per commune (all categories)."),
                [(commune_name(code), sum(counts.values())) for code, counts in commune_totals],
            ),
        )
    )
    by_category = [(c, report.tips_by_category[c]) for c in categories]
    tables.append(
        ReportTable(
            "tips-category",
            _("Tips received per category"),
            [_("Category"), _("Tips")],
            [[category_name(c), n(count)] for c, count in by_category],
            chart(
                "chart-tips-category",
                _("Tips received per category"),
                _("Tips received in the month, per category."),
                [(category_name(c), count) for c, count in by_category],
            ),
        )
    )
    tables.append(
        ReportTable(
            "queues",
            _("How fast queues handled tips"),
            [
                _("Queue"),
                _("Tips received"),
                _("Acknowledged"),
                _("Median hours"),
                _("90th percentile hours"),
                _("Overdue"),
            ],
            [
                [
                    q.name,
                    n(q.received),
                    n(q.acknowledged),
                    report.hours(q.median_ack_hours, q.acknowledged),
                    report.hours(q.p90_ack_hours, q.acknowledged),
                    n(q.overdue),
                ]
                for q in report.queues
                if q.received
            ],
            note=_(
                "Tips received in the month. Overdue: acknowledged after %(hours)s hours, or "
                "still not acknowledged after that long."
            )
            % {"hours": f"{report.ack_timeout_hours:g}"},
        )
    )
    status_names = statuses(_)
    disposition_names = dispositions(_)
    outcome_rows = [[status_names.get(s, s), n(report.statuses.get(s, 0))] for s in status_names]
    outcome_rows += [
        [disposition_names.get(d, d), n(report.dispositions.get(d, 0))] for d in disposition_names
    ]
    tables.append(
        ReportTable(
            "dispositions",
            _("Status and disposition of the month's tips"),
            [_("Status or disposition"), _("Tips")],
            outcome_rows,
        )
    )
    return view


def report_csv(view: ReportView) -> str:
    """Every table of the report, one after the other, as CSV (UTF-8 with a BOM, which
    spreadsheet programs need to read Vietnamese letters)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([view.title, view.area])
    for table in view.tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        writer.writerows(table.rows)
    return buffer.getvalue()


def _environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translator(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    return env


def report_html(view: ReportView, locale: str) -> str:
    """A standalone printable page (its stylesheet inline, charts as inline SVG): for a
    file to print or send. Publish only a ``published`` report."""
    css = Markup(PRINT_CSS.read_text(encoding="utf-8"))  # noqa: S704 - our own file
    return (
        _environment(locale)
        .get_template("report_print.html")
        .render(lang=locale, view=view, inline_css=css, small=SMALL, console=False)
    )
