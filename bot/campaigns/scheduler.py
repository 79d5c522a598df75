"""Waking campaign messages when they are due, with APScheduler.

The database is the source of truth; APScheduler (``AsyncIOScheduler``, on the campaign
clock) only wakes the process up. At start the scheduler first runs the due-time check
(messages that fell due while the service was down are sent if they are at most the grace
period late, recorded as missed otherwise), then adds one date job per waiting message at
its ``due_at``. Each job runs the same check, which starts whatever is due, computes the
next occurrence (next year's, for a yearly message) and resyncs the jobs. A periodic resync
(every minute) runs the check too and picks up changes made by another process
(``tipline campaigns load`` or the console).
Jobs live in memory only: rebuilding them from the database is the persistence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.campaigns.service import CampaignService, DueResult

__all__ = ["CampaignScheduler"]

log = logging.getLogger(__name__)

JOB_PREFIX = "campaign-message:"


class CampaignScheduler:
    """Keeps one APScheduler job per waiting campaign message."""

    def __init__(
        self,
        service: CampaignService,
        *,
        timezone: str = "Asia/Ho_Chi_Minh",
        resync: timedelta = timedelta(minutes=1),
        on_started: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.timezone = ZoneInfo(timezone)
        self.resync = resync
        self.on_started = on_started
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> list[DueResult]:
        """Catch up on what fell due while stopped, then schedule what waits; the catch-up."""
        caught_up = await self.wake()
        self._scheduler = AsyncIOScheduler(timezone=self.timezone)
        # The periodic check also covers a job APScheduler dropped as misfired.
        self._scheduler.add_job(
            self._due,
            IntervalTrigger(seconds=self.resync.total_seconds(), timezone=self.timezone),
            id="campaigns:resync",
            coalesce=True,
            max_instances=1,
        )
        self._scheduler.start()
        await self.sync()
        log.info("campaign scheduler started with %d waiting message(s)", len(self.jobs()))
        return caught_up

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def wake(self) -> list[DueResult]:
        """Start (or mark missed) whatever is due now."""
        try:
            results = await self.service.run_due()
        except Exception as error:
            log.error("campaign due-time check failed: %s", type(error).__name__)
            return []
        if any(r.action == "started" for r in results) and self.on_started is not None:
            self.on_started()
        return results

    async def _due(self) -> None:
        await self.wake()
        await self.sync()

    async def sync(self) -> None:
        """Make the jobs match the due times in the database."""
        scheduler = self._scheduler
        if scheduler is None:
            return
        wanted = {f"{JOB_PREFIX}{mid}": due for mid, due in await self.service.next_due()}
        grace = int(self.service.grace.total_seconds()) or 1
        for job in scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, due in wanted.items():
            job = scheduler.get_job(job_id)
            if job is not None and job.next_run_time == due:
                continue
            scheduler.add_job(
                self._due,
                DateTrigger(run_date=due, timezone=self.timezone),
                id=job_id,
                replace_existing=True,
                misfire_grace_time=grace,
                coalesce=True,
            )

    def jobs(self) -> dict[int, datetime]:
        """Message id → the time its job wakes (for status pages and tests)."""
        if self._scheduler is None:
            return {}
        return {
            int(job.id.removeprefix(JOB_PREFIX)): job.next_run_time
            for job in self._scheduler.get_jobs()
            if job.id.startswith(JOB_PREFIX)
        }
