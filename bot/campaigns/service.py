"""Campaign operations as plain service functions: load, list, status, send now, pause,
resume, cancel, and the due-time check the scheduler wakes.

The CLI calls these today; the console's communicator pages and the month-end report can
call the same ones. Times come from an injectable clock (``clock()`` returns aware UTC).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.campaigns.schema import CampaignFile
from bot.campaigns.timing import SendRule, utc
from storage.campaigns import CampaignSpec, CampaignStore, LoadReport, MessageRow, MessageSpec
from storage.deliveries import CountRow, DeliveryStore

__all__ = ["CampaignService", "Clock", "DueResult", "MessageStatus", "system_clock"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

UNFINISHED = ("pending", "sending")


def system_clock() -> datetime:
    return datetime.now(UTC)


def rule_of(message: MessageRow) -> SendRule:
    return SendRule(timezone=message.timezone, yearly=message.yearly, at=message.send_at)


@dataclass(frozen=True, slots=True)
class DueResult:
    """What the due-time check did with one message: ``started`` (with how many deliveries
    it added) or ``missed``."""

    message: MessageRow
    occurrence: int
    action: str
    added: int = 0


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """A message and its delivery counts for one occurrence, per channel and status."""

    message: MessageRow
    occurrence: int | None
    counts: dict[str, dict[str, int]]

    def total(self, status: str) -> int:
        return sum(by_status.get(status, 0) for by_status in self.counts.values())


class CampaignService:
    """Everything a communicator (or the scheduler) does with campaigns."""

    def __init__(
        self,
        campaigns: CampaignStore,
        deliveries: DeliveryStore,
        *,
        grace: timedelta = timedelta(hours=6),
        clock: Clock = system_clock,
    ) -> None:
        self.campaigns = campaigns
        self.deliveries = deliveries
        self.grace = grace
        self.clock = clock

    # --- loading and reading --------------------------------------------------------------

    async def load(self, campaign: CampaignFile) -> LoadReport:
        """Upsert a checked campaign file; new messages are due at their next occurrence
        after now (loading never sends anything retroactively)."""
        now = self.clock()
        specs = []
        for message in campaign.messages:
            rule = SendRule.local(campaign.timezone, yearly=message.send.yearly, at=message.send.at)
            first = rule.next_after(now)
            specs.append(
                MessageSpec(
                    key=message.id,
                    yearly=rule.yearly,
                    send_at=rule.at,
                    timezone=campaign.timezone,
                    audience=message.audience.model_dump(),
                    bodies=dict(message.body),
                    image=message.image,
                    first_due=first.due_at if first is not None else None,
                )
            )
        report = await self.campaigns.upsert(
            CampaignSpec(
                slug=campaign.id,
                title=dict(campaign.title),
                theme=dict(campaign.theme),
                period_start=campaign.period.start,
                period_end=campaign.period.end,
                timezone=campaign.timezone,
                languages=list(campaign.languages),
                audience_groups=list(campaign.audience_groups),
            ),
            specs,
            now,
        )
        log.info(
            "campaign %s loaded: %d new, %d rescheduled, %d updated",
            campaign.id,
            len(report.created),
            len(report.rescheduled),
            len(report.updated),
        )
        return report

    async def messages(self, campaign: str | None = None) -> list[MessageRow]:
        return await self.campaigns.messages(campaign)

    async def message(self, message_id: int) -> MessageRow | None:
        return await self.campaigns.message(message_id)

    async def find(self, ref: str) -> list[MessageRow]:
        """Messages named by an id, ``campaign/key`` or a key."""
        return await self.campaigns.find(ref)

    async def status(self, message_id: int | None = None) -> list[MessageStatus]:
        """Delivery counts per message and occurrence (the current or last one first)."""
        messages = {m.id: m for m in await self.campaigns.messages()}
        rows = await self.deliveries.counts(message_id)
        grouped: dict[tuple[int, int], dict[str, dict[str, int]]] = {}
        for row in rows:
            by_channel = grouped.setdefault((row.message_id, row.occurrence), {})
            by_channel.setdefault(row.channel, {})[row.status] = row.count
        result: list[MessageStatus] = []
        for message in messages.values():
            if message_id is not None and message.id != message_id:
                continue
            occurrences = sorted((o for m, o in grouped if m == message.id), reverse=True)
            if not occurrences:
                if message_id is not None or message.state == "missed":
                    result.append(MessageStatus(message, message.occurrence, {}))
                continue
            for occurrence in occurrences:
                result.append(MessageStatus(message, occurrence, grouped[message.id, occurrence]))
        return result

    async def progress(self, message_id: int, occurrence: int) -> dict[str, int]:
        """Deliveries of one occurrence per status, all channels together."""
        totals: dict[str, int] = {}
        row: CountRow
        for row in await self.deliveries.counts(message_id, occurrence):
            totals[row.status] = totals.get(row.status, 0) + row.count
        return totals

    async def waiting(self, message_id: int, occurrence: int) -> int:
        """Deliveries of an occurrence that wait for later: quiet hours or a retry."""
        return await self.deliveries.waiting(message_id, occurrence, self.clock())

    async def delivered_by_audience(self, campaign: str, year: int) -> list[tuple[str, int, int]]:
        """Sent messages per (audience group, province) in a year: for the month-end report."""
        return await self.deliveries.delivered_by_audience(campaign, year)

    # --- due times ------------------------------------------------------------------------

    async def run_due(self) -> list[DueResult]:
        """Start every message whose due time has come, if it is at most ``grace`` late;
        record it as missed otherwise. Safe to call any time, from any process."""
        now = self.clock()
        results: list[DueResult] = []
        for message in await self.campaigns.due(now):
            assert message.due_at is not None
            rule = rule_of(message)
            year = message.due_at.astimezone(ZoneInfo(message.timezone)).year
            following = rule.next_after(max(now, message.due_at))
            next_due = following.due_at if following is not None else None
            late = now - message.due_at
            if late <= self.grace:
                started = await self.campaigns.start(message, year, next_due=next_due, now=now)
                if started is not None:
                    log.info(
                        "campaign message %d (%s) started: %d deliveries",
                        message.id,
                        message.ref,
                        started.added,
                    )
                    results.append(DueResult(message, year, "started", started.added))
            elif await self.campaigns.mark_missed(message, year, next_due=next_due, now=now):
                log.warning(
                    "campaign message %d (%s) missed: due %s, %s late (grace %s)",
                    message.id,
                    message.ref,
                    message.due_at.isoformat(timespec="minutes"),
                    _duration(late),
                    _duration(self.grace),
                )
                results.append(DueResult(message, year, "missed"))
        if results:
            await self.campaigns.finish(now)
        return results

    async def next_due(self) -> list[tuple[int, datetime]]:
        """(message id, due time) of messages waiting for one: what the scheduler wakes for."""
        return await self.campaigns.next_due()

    # --- control --------------------------------------------------------------------------

    async def send_now(self, message_id: int) -> DueResult:
        """Send a message's current occurrence now (this year's, for a yearly message).

        Subscribers who already got this occurrence do not get it again; the regular due
        time still comes and adds only those who subscribed since."""
        message = await self._message(message_id)
        if message.state == "cancelled":
            raise ValueError("the message is cancelled; resume it first")
        now = self.clock()
        occurrence = rule_of(message).current(now).year
        started = await self.campaigns.start(
            message, occurrence, next_due=message.due_at, now=now, manual=True
        )
        if started is None:
            raise ValueError("the message could not be started")
        await self.campaigns.finish(now)
        log.info(
            "campaign message %d (%s) sent by hand: %d deliveries",
            message.id,
            message.ref,
            started.added,
        )
        return DueResult(message, occurrence, "started", started.added)

    async def pause(self, message_id: int) -> bool:
        await self._message(message_id)
        return await self.campaigns.pause(message_id, self.clock())

    async def resume(self, message_id: int) -> str | None:
        message = await self._message(message_id)
        now = self.clock()
        following = rule_of(message).next_after(now)
        return await self.campaigns.resume(
            message_id, now, next_due=following.due_at if following is not None else None
        )

    async def cancel(self, message_id: int) -> int | None:
        await self._message(message_id)
        return await self.campaigns.cancel(message_id, self.clock())

    async def _message(self, message_id: int) -> MessageRow:
        message = await self.campaigns.message(message_id)
        if message is None:
            raise LookupError(f"no campaign message {message_id}")
        return message


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def local_time(moment: datetime | None, timezone: str) -> str:
    """A UTC time as ``dd/mm/YYYY HH:MM`` on the campaign's clock (— when None)."""
    if moment is None:
        return "—"
    return utc(moment).astimezone(ZoneInfo(timezone)).strftime("%d/%m/%Y %H:%M")
