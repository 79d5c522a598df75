"""Delivery rows: materialised per subscriber, claimed by workers, resolved once.

* :func:`materialise` adds one ``pending`` row per matching active subscriber with a single
  ``INSERT … SELECT … ON CONFLICT DO NOTHING``: nothing is loaded into memory, and running
  it again for the same occurrence adds only subscribers who were not there before.
* :meth:`DeliveryStore.claim` moves a batch to ``sending`` in one statement (PostgreSQL:
  ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other; SQLite: the statement is
  atomic under its single writer).
* :meth:`DeliveryStore.record` writes the outcomes of a batch in one transaction.
* :meth:`DeliveryStore.resolve_stale` resolves rows left in ``sending`` by a dead worker.
  They may or may not have reached the user. By default they go back to ``pending`` marked
  ``redelivered`` (nobody misses the message; a few may get it twice, and are counted as
  ``resent``); with ``resend=False`` they become ``uncertain`` and are never sent again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, utc
from storage.models import Campaign, CampaignMessage, Delivery, Subscriber
from storage.subscriptions import deactivate

__all__ = [
    "COUNTED",
    "FINAL",
    "STATUSES",
    "Claimed",
    "CountRow",
    "DeliveryStore",
    "Outcome",
    "materialise",
]

STATUSES = ("sent", "pending", "sending", "failed", "blocked", "skipped", "uncertain")
"""What a delivery row's ``status`` can be."""
COUNTED = ("sent", "resent", "pending", "sending", "failed", "blocked", "skipped", "uncertain")
"""The statuses :meth:`DeliveryStore.counts` reports: ``resent`` is a ``sent`` row that was
in flight when a worker stopped and was sent again."""
FINAL = ("sent", "resent", "failed", "blocked", "skipped", "uncertain")
"""Statuses a delivery never leaves."""


def audience_filter(audience: dict[str, Any]) -> list[ColumnElement[bool]]:
    """SQL conditions on :class:`Subscriber` for a message's audience."""
    conditions: list[ColumnElement[bool]] = []
    groups = list(audience.get("groups") or ["all"])
    if "all" not in groups:
        conditions.append(Subscriber.group.in_(groups))
    areas = audience.get("areas")
    if areas is not None:
        places: list[ColumnElement[bool]] = []
        for area in areas:
            place = Subscriber.province_code == int(area["province"])
            communes = area.get("communes")
            if communes:
                place = place & Subscriber.commune_code.in_([int(c) for c in communes])
            places.append(place)
        conditions.append(or_(*places))
    return conditions


async def materialise(
    session: AsyncSession,
    *,
    message_id: int,
    occurrence: int,
    audience: dict[str, Any],
    languages: Sequence[str],
    now: datetime,
    dialect: str,
) -> int:
    """Add a pending delivery per active subscriber in the audience who reads one of
    ``languages``; returns how many were added (0 when all were there already)."""
    source = select(
        literal(message_id, Integer),
        literal(occurrence, Integer),
        Subscriber.id,
        Subscriber.channel,
        Subscriber.province_code,
        Subscriber.group,
        literal("pending", String),
        literal(0, Integer),
        literal(now, DateTime(timezone=True)),
    ).where(
        Subscriber.active.is_(True),
        Subscriber.locale.in_(list(languages)),
        *audience_filter(audience),
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Delivery)
        .from_select(
            [
                Delivery.campaign_message_id,
                Delivery.occurrence,
                Delivery.subscriber_id,
                Delivery.channel,
                Delivery.province_code,
                Delivery.audience_group,
                Delivery.status,
                Delivery.attempts,
                Delivery.next_attempt_at,
            ],
            source,
        )
        .on_conflict_do_nothing(
            index_elements=[
                Delivery.campaign_message_id,
                Delivery.occurrence,
                Delivery.subscriber_id,
            ]
        )
    )
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker now sends, with what it needs to send it."""

    id: int
    message_id: int
    occurrence: int
    subscriber_id: int | None
    attempts: int
    address: bytes | None = None
    lookup: bytes | None = None
    locale: str | None = None
    active: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a claimed delivery.

    ``status`` is final (sent, failed, blocked, skipped) or ``retry`` (pending again at
    ``retry_at``); ``attempted`` says whether it counts as an attempt (a 429 does not)."""

    delivery_id: int
    status: str
    subscriber_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    attempted: bool = True


@dataclass(frozen=True, slots=True, order=True)
class CountRow:
    message_id: int
    occurrence: int
    channel: str
    status: str
    count: int


class DeliveryStore:
    """Claims, records and counts deliveries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold_quiet(
        self, run: tuple[int, int], channel: str, now: datetime, until: datetime
    ) -> int:
        """Push due deliveries of subscribers keeping quiet hours to ``until``; how many."""
        message_id, occurrence = run
        quiet = exists().where(
            Subscriber.id == Delivery.subscriber_id, Subscriber.quiet_hours.is_(True)
        )
        async with self._db.sessions.begin() as session:
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.campaign_message_id == message_id,
                    Delivery.occurrence == occurrence,
                    Delivery.channel == channel,
                    Delivery.status == "pending",
                    Delivery.next_attempt_at <= now,
                    quiet,
                )
                .values(next_attempt_at=until)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def claim(
        self,
        run: tuple[int, int],
        channel: str,
        limit: int,
        now: datetime,
        worker: str,
        *,
        quiet_now: bool = False,
    ) -> list[Claimed]:
        """Mark up to ``limit`` due deliveries of a run as being sent by ``worker``."""
        message_id, occurrence = run
        due = (
            select(Delivery.id)
            .where(
                Delivery.campaign_message_id == message_id,
                Delivery.occurrence == occurrence,
                Delivery.channel == channel,
                Delivery.status == "pending",
                Delivery.next_attempt_at <= now,
                # Paused or cancelled since the worker looked: nothing more goes out.
                exists().where(
                    CampaignMessage.id == message_id, CampaignMessage.state == "sending"
                ),
            )
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if quiet_now:
            due = due.where(
                ~exists().where(
                    Subscriber.id == Delivery.subscriber_id, Subscriber.quiet_hours.is_(True)
                )
            )
        async with self._db.sessions.begin() as session:
            claimed = (
                await session.execute(
                    update(Delivery)
                    .where(Delivery.id.in_(due.scalar_subquery()))
                    .values(status="sending", claimed_by=worker, claimed_at=now)
                    .returning(Delivery.id, Delivery.subscriber_id, Delivery.attempts)
                )
            ).all()
            if not claimed:
                return []
            subscriber_ids = [s for _, s, _ in claimed if s is not None]
            subscribers = {
                row.id: row
                for row in (
                    await session.execute(
                        select(
                            Subscriber.id,
                            Subscriber.address,
                            Subscriber.lookup,
                            Subscriber.locale,
                            Subscriber.active,
                        ).where(Subscriber.id.in_(subscriber_ids))
                    )
                )
            }
        result: list[Claimed] = []
        for delivery_id, subscriber_id, attempts in sorted(claimed):
            found = subscribers.get(subscriber_id) if subscriber_id is not None else None
            result.append(
                Claimed(
                    id=delivery_id,
                    message_id=message_id,
                    occurrence=occurrence,
                    subscriber_id=subscriber_id,
                    attempts=attempts,
                    address=found.address if found else None,
                    lookup=found.lookup if found else None,
                    locale=found.locale if found else None,
                    active=bool(found.active) if found else False,
                )
            )
        return result

    async def record(self, outcomes: Sequence[Outcome], now: datetime, worker: str) -> None:
        """Write what became of claimed deliveries, in one transaction.

        Only rows still ``sending`` for ``worker`` change: a row a sweep already called
        uncertain keeps that status. A blocked delivery deactivates its subscriber."""
        if not outcomes:
            return
        mine = (Delivery.status == "sending", Delivery.claimed_by == worker)
        final: dict[tuple[str, str | None, bool], list[int]] = defaultdict(list)
        retries: list[dict[str, Any]] = []
        blocked: set[int] = set()
        for outcome in outcomes:
            if outcome.status == "retry":
                assert outcome.retry_at is not None
                retries.append(
                    {
                        "b_id": outcome.delivery_id,
                        "b_next": outcome.retry_at,
                        "b_error": outcome.error,
                        "b_tried": 1 if outcome.attempted else 0,
                        "b_worker": worker,
                    }
                )
                continue
            final[(outcome.status, outcome.error, outcome.attempted)].append(outcome.delivery_id)
            if outcome.status == "blocked" and outcome.subscriber_id is not None:
                blocked.add(outcome.subscriber_id)
        async with self._db.sessions.begin() as session:
            for (status, error, attempted), ids in final.items():
                values: dict[str, Any] = {"status": status, "error": error}
                if attempted:
                    values["attempts"] = Delivery.attempts + 1
                if status == "sent":
                    values["sent_at"] = now
                for start in range(0, len(ids), 500):
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(ids[start : start + 500]), *mine)
                        .values(**values)
                    )
            if retries:
                table = cast(Table, Delivery.__table__)
                await session.execute(
                    update(table)
                    .where(
                        table.c.id == bindparam("b_id"),
                        table.c.status == "sending",
                        table.c.claimed_by == bindparam("b_worker"),
                    )
                    .values(
                        status="pending",
                        next_attempt_at=bindparam("b_next"),
                        error=bindparam("b_error"),
                        attempts=table.c.attempts + bindparam("b_tried"),
                        claimed_by=None,
                        claimed_at=None,
                    ),
                    retries,
                )
            for subscriber_id in sorted(blocked):
                await deactivate(session, subscriber_id, "blocked")

    async def resolve_stale(self, claimed_before: datetime, *, resend: bool = True) -> int:
        """Rows left ``sending`` since before ``claimed_before``: back to ``pending`` and
        marked ``redelivered`` (``resend``), or ``uncertain``; how many."""
        values: dict[str, Any] = (
            {
                "status": "pending",
                "redelivered": True,
                "next_attempt_at": claimed_before,
                "claimed_by": None,
                "claimed_at": None,
            }
            if resend
            else {"status": "uncertain"}
        )
        async with self._db.sessions.begin() as session:
            result = await session.execute(
                update(Delivery)
                .where(Delivery.status == "sending", Delivery.claimed_at < claimed_before)
                .values(error="in flight when a worker stopped", **values)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def next_attempt(self, runs: Sequence[tuple[int, int]], channel: str) -> datetime | None:
        """The earliest time a pending delivery of these runs may be tried."""
        if not runs:
            return None
        async with self._db.sessions() as session:
            earliest: datetime | None = None
            for message_id, occurrence in runs:
                found = await session.scalar(
                    select(func.min(Delivery.next_attempt_at)).where(
                        Delivery.campaign_message_id == message_id,
                        Delivery.occurrence == occurrence,
                        Delivery.channel == channel,
                        Delivery.status == "pending",
                    )
                )
                if found is not None and (earliest is None or utc(found) < earliest):
                    earliest = utc(found)
            return earliest

    async def channels(self, runs: Sequence[tuple[int, int]]) -> set[str]:
        """The channels that have pending deliveries in these runs."""
        async with self._db.sessions() as session:
            found: set[str] = set()
            for message_id, occurrence in runs:
                found.update(
                    await session.scalars(
                        select(Delivery.channel)
                        .where(
                            Delivery.campaign_message_id == message_id,
                            Delivery.occurrence == occurrence,
                            Delivery.status == "pending",
                        )
                        .distinct()
                    )
                )
            return found

    async def waiting(self, message_id: int, occurrence: int, now: datetime) -> int:
        """Pending deliveries of an occurrence held for later (quiet hours, a retry)."""
        async with self._db.sessions() as session:
            found = await session.scalar(
                select(func.count()).where(
                    Delivery.campaign_message_id == message_id,
                    Delivery.occurrence == occurrence,
                    Delivery.status == "pending",
                    Delivery.next_attempt_at > now,
                )
            )
            return int(found or 0)

    async def counts(
        self, message_id: int | None = None, occurrence: int | None = None
    ) -> list[CountRow]:
        """Deliveries per message, occurrence, channel and status. A ``sent`` delivery that
        was sent again after a worker stopped counts as ``resent``: it may have arrived twice."""
        status = case(
            (and_(Delivery.redelivered, Delivery.status == "sent"), "resent"),
            else_=Delivery.status,
        )
        query = select(
            Delivery.campaign_message_id,
            Delivery.occurrence,
            Delivery.channel,
            status,
            func.count(),
        ).group_by(Delivery.campaign_message_id, Delivery.occurrence, Delivery.channel, status)
        if message_id is not None:
            query = query.where(Delivery.campaign_message_id == message_id)
        if occurrence is not None:
            query = query.where(Delivery.occurrence == occurrence)
        async with self._db.sessions() as session:
            rows = await session.execute(query)
            return sorted(
                CountRow(int(m), int(o), str(c), str(s), int(n)) for m, o, c, s, n in rows
            )

    async def delivered_by_audience(self, campaign: str, year: int) -> list[tuple[str, int, int]]:
        """Messages of a campaign sent in ``year``, per (audience group, province): for the
        month-end report. Rows stay counted after a subscriber is forgotten."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(Delivery.audience_group, Delivery.province_code, func.count())
                .join(CampaignMessage, CampaignMessage.id == Delivery.campaign_message_id)
                .join(Campaign, Campaign.id == CampaignMessage.campaign_id)
                .where(
                    Campaign.slug == campaign,
                    Delivery.occurrence == year,
                    Delivery.status == "sent",
                )
                .group_by(Delivery.audience_group, Delivery.province_code)
                .order_by(Delivery.audience_group, Delivery.province_code)
            )
            return [(str(g), int(p), int(n)) for g, p, n in rows]
