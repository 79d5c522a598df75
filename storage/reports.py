"""The month-end results report: what a province sends the provincial police in early July.

Everything comes from plaintext columns kept for routing and figures: deliveries (channel,
province, audience group, status, time sent), subscribers (area, group, dates to the day)
and tips (queue, commune, category, status, disposition, outcome figures, hour-rounded
times). No key is used and no sealed content is opened.

Months are calendar months on the campaign clock (Asia/Ho_Chi_Minh). A ``published``
report shows counts below :data:`storage.stats.SMALL` as "<5" (:func:`storage.stats.suppress`)
wherever it is displayed; the figures themselves stay exact in the object.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select

from storage.db import Database, utc
from storage.models import Campaign, CampaignMessage, Delivery, Queue, Subscriber, Tip
from storage.stats import SMALL, suppress

__all__ = [
    "REPORT_TIMEZONE",
    "MonthReport",
    "QueueFigures",
    "ReportSources",
    "month_bounds",
    "month_report",
    "parse_month",
]

REPORT_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class ReportSources(Protocol):
    """What the report reads (an :class:`bot.bootstrap.App` fits)."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Any: ...


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-06"`` as (2026, 6); ValueError for anything else."""
    year_text, dash, month_text = text.strip().partition("-")
    if not dash or not (year_text.isdigit() and month_text.isdigit()) or len(year_text) != 4:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-06")
    year, month = int(year_text), int(month_text)
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError(f"{text!r} is not a month; write it as YYYY-MM, e.g. 2026-06")
    return year, month


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first moment of the month and of the next one, Vietnam time, as aware UTC."""
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=REPORT_TIMEZONE).astimezone(UTC)
    end = datetime(*following, 1, tzinfo=REPORT_TIMEZONE).astimezone(UTC)
    return start, end


def _percentile(values: list[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` fall (linear interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """How fast one queue handled the tips it received in the month."""

    queue_id: int
    name: str
    commune_code: int | None
    received: int
    acknowledged: int
    median_ack_hours: float | None
    p90_ack_hours: float | None
    overdue: int


@dataclass
class MonthReport:
    """The figures of one month (of one province, or of every province)."""

    year: int
    month: int
    province_code: int | None
    published: bool
    generated_at: datetime
    ack_timeout_hours: float
    # campaign messages
    delivered_by_group: Counter[str] = field(default_factory=Counter)
    delivered_by_province: Counter[int] = field(default_factory=Counter)
    delivered_by_commune: Counter[tuple[int, int | None]] = field(default_factory=Counter)
    delivered_by_channel: Counter[str] = field(default_factory=Counter)
    delivered_by_campaign: Counter[str] = field(default_factory=Counter)
    deliveries_by_status: dict[str, Counter[str]] = field(default_factory=dict)
    messages_sent: int = 0
    # subscribers
    subscribers_gained: Counter[str] = field(default_factory=Counter)
    subscribers_lost: Counter[str] = field(default_factory=Counter)
    subscribers_active: Counter[str] = field(default_factory=Counter)
    # tips
    tips_by_commune: dict[int | None, Counter[str]] = field(default_factory=dict)
    tips_by_category: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    dispositions: Counter[str] = field(default_factory=Counter)
    queues: list[QueueFigures] = field(default_factory=list)
    acknowledged: int = 0
    median_ack_hours: float | None = None
    p90_ack_hours: float | None = None
    overdue: int = 0
    escalated: int = 0
    arrests: int = 0
    seizures_grams: float = 0.0
    tips_with_outcome: int = 0

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def delivered(self) -> int:
        return sum(self.delivered_by_channel.values())

    @property
    def tips(self) -> int:
        return sum(self.tips_by_category.values())

    def count(self, value: int) -> str:
        """A count as this report shows it: "<5" for small ones when published."""
        return suppress(value) if self.published else str(value)

    def hours(self, value: float | None, sample: int) -> str:
        """Hours to one decimal; hidden in a published report when fewer than 5 tips
        contribute (a median of two tips says when those two were read)."""
        if value is None:
            return "—"
        if self.published and sample < SMALL:
            return f"({suppress(sample)})"
        return f"{value:.1f}"

    def grams(self) -> str:
        if self.published and 0 < self.tips_with_outcome < SMALL:
            return f"({suppress(self.tips_with_outcome)})"
        return f"{self.seizures_grams:g}"


async def month_report(
    app: ReportSources,
    year: int,
    month: int,
    province_code: int | None = None,
    *,
    published: bool = False,
    now: datetime | None = None,
) -> MonthReport:
    """The results of one calendar month (Vietnam time), for a province or all of them."""
    now = now or datetime.now(UTC)
    start, end = month_bounds(year, month)
    timeout_hours = float(getattr(app.settings, "ack_timeout_hours", 24))
    report = MonthReport(
        year=year,
        month=month,
        province_code=province_code,
        published=published,
        generated_at=now,
        ack_timeout_hours=timeout_hours,
    )
    async with app.db.sessions() as session:
        await _deliveries(session, report, start, end, province_code)
        await _subscribers(session, report, year, month, province_code)
        await _tips(session, report, start, end, province_code, now, timeout_hours)
    return report


async def _deliveries(
    session: Any, report: MonthReport, start: datetime, end: datetime, province: int | None
) -> None:
    sent_in_month = [
        Delivery.status == "sent",
        Delivery.sent_at >= start,
        Delivery.sent_at < end,
    ]
    if province is not None:
        sent_in_month.append(Delivery.province_code == province)
    rows = await session.execute(
        select(
            Delivery.audience_group,
            Delivery.province_code,
            Delivery.channel,
            Campaign.slug,
            func.count(),
        )
        .join(CampaignMessage, CampaignMessage.id == Delivery.campaign_message_id)
        .join(Campaign, Campaign.id == CampaignMessage.campaign_id)
        .where(*sent_in_month)
        .group_by(Delivery.audience_group, Delivery.province_code, Delivery.channel, Campaign.slug)
    )
    for group, province_code, channel, slug, count in rows:
        report.delivered_by_group[str(group)] += int(count)
        report.delivered_by_province[int(province_code)] += int(count)
        report.delivered_by_channel[str(channel)] += int(count)
        report.delivered_by_campaign[str(slug)] += int(count)
    report.messages_sent = int(
        await session.scalar(
            select(func.count(func.distinct(Delivery.campaign_message_id))).where(*sent_in_month)
        )
        or 0
    )
    # Per commune, for messages aimed at some communes only: the commune of the subscriber
    # (None when they have been forgotten since; the delivery row keeps no commune).
    targeted = await session.execute(
        select(CampaignMessage.id, CampaignMessage.audience).where(
            CampaignMessage.id.in_(
                select(Delivery.campaign_message_id).where(*sent_in_month).distinct()
            )
        )
    )
    commune_messages = [
        message_id
        for message_id, audience in targeted
        if any((area or {}).get("communes") for area in (audience or {}).get("areas") or ())
    ]
    if commune_messages:
        rows = await session.execute(
            select(Delivery.province_code, Subscriber.commune_code, func.count())
            .select_from(Delivery)
            .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(*sent_in_month, Delivery.campaign_message_id.in_(commune_messages))
            .group_by(Delivery.province_code, Subscriber.commune_code)
        )
        for province_code, commune_code, count in rows:
            key = (int(province_code), int(commune_code) if commune_code is not None else None)
            report.delivered_by_commune[key] += int(count)
    # Every delivery of the month by channel and status: sent in the month, or (not sent)
    # last tried or due in the month.
    in_month = [
        or_(
            and_(Delivery.sent_at >= start, Delivery.sent_at < end),
            and_(
                Delivery.sent_at.is_(None),
                Delivery.next_attempt_at >= start,
                Delivery.next_attempt_at < end,
            ),
        )
    ]
    if province is not None:
        in_month.append(Delivery.province_code == province)
    rows = await session.execute(
        select(Delivery.channel, Delivery.status, func.count())
        .where(*in_month)
        .group_by(Delivery.channel, Delivery.status)
    )
    for channel, status, count in rows:
        report.deliveries_by_status.setdefault(str(channel), Counter())[str(status)] += int(count)


async def _subscribers(
    session: Any, report: MonthReport, year: int, month: int, province: int | None
) -> None:
    first = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    area: list[ColumnElement[bool]] = []
    if province is not None:
        area.append(Subscriber.province_code == province)
    for target, column in (
        (report.subscribers_gained, Subscriber.created_at),
        (report.subscribers_lost, Subscriber.deactivated_at),
    ):
        rows = await session.execute(
            select(Subscriber.channel, func.count())
            .where(column >= first, column < following, *area)
            .group_by(Subscriber.channel)
        )
        for channel, count in rows:
            target[str(channel)] += int(count)
    # Subscribed at the end of the month: joined by then and not stopped by then.
    rows = await session.execute(
        select(Subscriber.channel, func.count())
        .where(
            Subscriber.created_at < following,
            or_(Subscriber.deactivated_at.is_(None), Subscriber.deactivated_at >= following),
            *area,
        )
        .group_by(Subscriber.channel)
    )
    for channel, count in rows:
        report.subscribers_active[str(channel)] += int(count)


async def _tips(
    session: Any,
    report: MonthReport,
    start: datetime,
    end: datetime,
    province: int | None,
    now: datetime,
    timeout_hours: float,
) -> None:
    where = [Tip.received_at >= start, Tip.received_at < end]
    if province is not None:
        where.append(Tip.province_code == province)
    rows = (
        await session.execute(
            select(
                Tip.queue_id,
                Tip.commune_code,
                Tip.category,
                Tip.status,
                Tip.disposition,
                Tip.received_at,
                Tip.acknowledged_at,
                Tip.escalated_at,
                Tip.outcome,
            ).where(*where)
        )
    ).all()
    queue_query = select(Queue.id, Queue.name, Queue.commune_code, Queue.province_code)
    if province is not None:
        queue_query = queue_query.where(Queue.province_code == province)
    queues = {
        int(q.id): q
        for q in (await session.execute(queue_query.order_by(Queue.commune_code.nulls_first())))
    }
    timeout = timedelta(hours=timeout_hours)
    per_queue: dict[int, list[tuple[float | None, bool]]] = {}
    all_hours: list[float] = []
    for row in rows:
        report.tips_by_commune.setdefault(row.commune_code, Counter())[row.category] += 1
        report.tips_by_category[row.category] += 1
        report.statuses[row.status] += 1
        if row.disposition:
            report.dispositions[row.disposition] += 1
        received = utc(row.received_at)
        hours: float | None = None
        if row.acknowledged_at is not None:
            hours = (utc(row.acknowledged_at) - received).total_seconds() / 3600
            all_hours.append(hours)
            late = hours > timeout_hours
        else:
            late = now - received > timeout
        if row.escalated_at is not None:
            report.escalated += 1
        per_queue.setdefault(int(row.queue_id), []).append((hours, late))
        outcome = row.outcome or {}
        if outcome:
            report.tips_with_outcome += 1
            report.arrests += int(outcome.get("arrests") or 0)
            report.seizures_grams += float(outcome.get("seizures_grams") or 0)
    report.seizures_grams = round(report.seizures_grams, 1)
    report.acknowledged = len(all_hours)
    report.median_ack_hours = _round(statistics.median(all_hours) if all_hours else None)
    report.p90_ack_hours = _round(_percentile(all_hours, 0.9))
    report.overdue = sum(late for facts in per_queue.values() for _hours, late in facts)
    for queue_id in list(queues) + sorted(set(per_queue) - set(queues)):
        facts = per_queue.get(queue_id, [])
        queue = queues.get(queue_id)
        hours_list = [h for h, _late in facts if h is not None]
        report.queues.append(
            QueueFigures(
                queue_id=queue_id,
                name=queue.name if queue is not None else f"#{queue_id}",
                commune_code=queue.commune_code if queue is not None else None,
                received=len(facts),
                acknowledged=len(hours_list),
                median_ack_hours=_round(statistics.median(hours_list) if hours_list else None),
                p90_ack_hours=_round(_percentile(hours_list, 0.9)),
                overdue=sum(late for _h, late in facts),
            )
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
