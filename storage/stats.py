"""Figures for supervisors and reports, from the plaintext routing columns only.

Nothing here needs a key: the figures are what the province may see about its queues
(counts per commune, category, week; acknowledgement times). Published figures suppress
small counts (:func:`suppress`).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select

from storage.db import Database, utc
from storage.models import Queue, Tip

__all__ = ["QueueHealth", "Stats", "suppress"]

SMALL = 5


def suppress(count: int, threshold: int = SMALL) -> str:
    """A count as published: below the threshold (but not zero) it shows as "<5"."""
    return f"<{threshold}" if 0 < count < threshold else str(count)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the moment's week."""
    day = utc(moment).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, slots=True)
class QueueHealth:
    queue_id: int
    name: str
    commune_code: int | None
    open_new: int
    overdue: int
    median_ack_hours: float | None
    received_30d: int


class _TipFacts(NamedTuple):
    queue_id: int
    category: str
    status: str
    commune_code: int | None
    received_at: datetime
    acknowledged_at: datetime | None


_FACTS = (
    Tip.queue_id,
    Tip.category,
    Tip.status,
    Tip.commune_code,
    Tip.received_at,
    Tip.acknowledged_at,
)


class Stats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _tips(self, province_code: int, since: datetime) -> list[_TipFacts]:
        """The routing columns of the province's tips since a moment (never the content)."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(*_FACTS).where(Tip.province_code == province_code, Tip.received_at >= since)
            )
            return [_TipFacts(*row) for row in rows]

    async def weekly(
        self, province_code: int, weeks: int = 12, *, now: datetime | None = None
    ) -> dict[datetime, Counter[str]]:
        """Tips per week and category in the province, oldest week first."""
        now = now or datetime.now(UTC)
        first = week_start(now) - timedelta(weeks=weeks - 1)
        result: dict[datetime, Counter[str]] = {
            first + timedelta(weeks=i): Counter() for i in range(weeks)
        }
        for tip in await self._tips(province_code, first):
            result.setdefault(week_start(tip.received_at), Counter())[tip.category] += 1
        return result

    async def by_commune(
        self, province_code: int, since: datetime, category: str | None = None
    ) -> Counter[int | None]:
        """Tips per commune (None: commune not known) since a moment."""
        counts: Counter[int | None] = Counter()
        for tip in await self._tips(province_code, since):
            if category is None or tip.category == category:
                counts[tip.commune_code] += 1
        return counts

    async def queue_health(
        self, province_code: int, ack_timeout: timedelta, *, now: datetime | None = None
    ) -> list[QueueHealth]:
        """Per queue: open new tips, overdue ones, median time to acknowledge (30 days)."""
        now = now or datetime.now(UTC)
        since = now - timedelta(days=30)
        async with self._db.sessions() as session:
            queues = list(
                await session.scalars(
                    select(Queue)
                    .where(Queue.province_code == province_code)
                    .order_by(Queue.commune_code.nulls_first())
                )
            )
            tips = list(
                _TipFacts(*row)
                for row in await session.execute(
                    select(*_FACTS).where(Tip.province_code == province_code)
                )
            )
        per_queue: dict[int, list[_TipFacts]] = defaultdict(list)
        for tip in tips:
            per_queue[tip.queue_id].append(tip)
        health = []
        for queue in queues:
            mine = per_queue.get(queue.id, [])
            new = [t for t in mine if t.status == "new"]
            ack_hours = [
                (utc(t.acknowledged_at) - utc(t.received_at)).total_seconds() / 3600
                for t in mine
                if t.acknowledged_at is not None and utc(t.received_at) >= since
            ]
            health.append(
                QueueHealth(
                    queue_id=queue.id,
                    name=queue.name,
                    commune_code=queue.commune_code,
                    open_new=len(new),
                    overdue=sum(1 for t in new if utc(t.received_at) < now - ack_timeout),
                    median_ack_hours=round(statistics.median(ack_hours), 1) if ack_hours else None,
                    received_30d=sum(1 for t in mine if utc(t.received_at) >= since),
                )
            )
        return health
