"""Campaigns and their messages in the database, which is the source of truth for them.

Campaign files are loaded (upserted) into ``campaigns`` and ``campaign_messages``; the
scheduler and the console read and change them here. Every change of a message's state is
one conditional UPDATE, so two processes (or a CLI and the service) never both start the
same occurrence: the loser's UPDATE matches no row.

States of a message::

    scheduled --due--> sending --all deliveries final--> scheduled (yearly) | done (one-off)
    scheduled --due, service was down too long--> missed (yearly: next year still due)
    scheduled | sending | missed --pause--> paused --resume--> sending | scheduled
    any --cancel--> cancelled (waiting deliveries skipped) --resume--> scheduled
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, select, update

from storage.db import Database, utc
from storage.deliveries import materialise
from storage.models import Campaign, CampaignMessage, Delivery

__all__ = [
    "ACTIVE",
    "CampaignSpec",
    "CampaignStore",
    "LoadReport",
    "MessageRow",
    "MessageSpec",
    "Started",
]

ACTIVE = ("scheduled", "missed", "paused")
"""States in which a message still waits for a due time."""

_UNFINISHED = ("pending", "sending")


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """A campaign as a file describes it."""

    slug: str
    title: dict[str, str]
    theme: dict[str, str]
    period_start: str
    period_end: str
    timezone: str
    languages: list[str]
    audience_groups: list[str]


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """A message as a file describes it, with its first due time computed by the caller."""

    key: str
    yearly: str | None
    send_at: datetime | None
    timezone: str
    audience: dict[str, Any]
    bodies: dict[str, str]
    image: str | None
    first_due: datetime | None


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A stored message and where it stands."""

    id: int
    campaign: str
    key: str
    yearly: str | None
    send_at: datetime | None
    timezone: str
    audience: dict[str, Any]
    bodies: dict[str, str]
    image: str | None
    state: str
    due_at: datetime | None
    occurrence: int | None

    @property
    def ref(self) -> str:
        """``campaign/key``: how people name a message."""
        return f"{self.campaign}/{self.key}"


@dataclass
class LoadReport:
    """What loading a campaign file changed."""

    campaign: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Started:
    """An occurrence that began: how many deliveries it added."""

    message_id: int
    occurrence: int
    added: int
    state: str


def _row(message: CampaignMessage, slug: str) -> MessageRow:
    return MessageRow(
        id=message.id,
        campaign=slug,
        key=message.key,
        yearly=message.yearly,
        send_at=_aware(message.send_at),
        timezone=message.timezone,
        audience=dict(message.audience),
        bodies=dict(message.bodies),
        image=message.image,
        state=message.state,
        due_at=_aware(message.due_at),
        occurrence=message.occurrence,
    )


class CampaignStore:
    """Loads campaigns and moves their messages through their states."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- loading --------------------------------------------------------------------------

    async def upsert(
        self, campaign: CampaignSpec, messages: Sequence[MessageSpec], now: datetime
    ) -> LoadReport:
        """Create or update a campaign and its messages.

        A new message is scheduled at its ``first_due`` (or marked missed when it has none:
        a one-off time already past). An existing message gets the new texts and audience;
        its schedule changes only when its send rule changed and it is not being sent,
        paused or cancelled. Messages stored but absent from the file are left alone and
        listed in :attr:`LoadReport.absent`."""
        report = LoadReport(campaign.slug)
        async with self._db.sessions.begin() as session:
            stored = await session.scalar(select(Campaign).where(Campaign.slug == campaign.slug))
            if stored is None:
                stored = Campaign(slug=campaign.slug)
                session.add(stored)
            stored.title = campaign.title
            stored.theme = campaign.theme
            stored.period_start = campaign.period_start
            stored.period_end = campaign.period_end
            stored.timezone = campaign.timezone
            stored.languages = list(campaign.languages)
            stored.audience_groups = list(campaign.audience_groups)
            stored.loaded_at = now
            await session.flush()
            existing = {
                m.key: m
                for m in await session.scalars(
                    select(CampaignMessage).where(CampaignMessage.campaign_id == stored.id)
                )
            }
            for spec in messages:
                message = existing.pop(spec.key, None)
                if message is None:
                    session.add(
                        CampaignMessage(
                            campaign_id=stored.id,
                            key=spec.key,
                            yearly=spec.yearly,
                            send_at=spec.send_at,
                            timezone=spec.timezone,
                            audience=spec.audience,
                            bodies=spec.bodies,
                            image=spec.image,
                            state="scheduled" if spec.first_due is not None else "missed",
                            due_at=spec.first_due,
                            updated_at=now,
                        )
                    )
                    report.created.append(spec.key)
                    continue
                rule_changed = (
                    message.yearly != spec.yearly
                    or _aware(message.send_at) != _aware(spec.send_at)
                    or message.timezone != spec.timezone
                )
                content_changed = (
                    message.audience != spec.audience
                    or message.bodies != spec.bodies
                    or message.image != spec.image
                )
                message.yearly, message.send_at = spec.yearly, spec.send_at
                message.timezone = spec.timezone
                message.audience, message.bodies = spec.audience, spec.bodies
                message.image = spec.image
                if rule_changed and message.state not in ("sending", "paused", "cancelled"):
                    message.due_at = spec.first_due
                    message.state = "scheduled" if spec.first_due is not None else "missed"
                    report.rescheduled.append(spec.key)
                elif rule_changed or content_changed:
                    report.updated.append(spec.key)
                else:
                    report.unchanged.append(spec.key)
                if rule_changed or content_changed:
                    message.updated_at = now
            report.absent = sorted(existing)
        return report

    # --- reading --------------------------------------------------------------------------

    async def messages(self, campaign: str | None = None) -> list[MessageRow]:
        """Every message (of one campaign), in send order."""
        async with self._db.sessions() as session:
            query = select(CampaignMessage, Campaign.slug).join(Campaign)
            if campaign is not None:
                query = query.where(Campaign.slug == campaign)
            rows = [_row(m, slug) for m, slug in await session.execute(query)]
        return sorted(rows, key=_send_order)

    async def message(self, message_id: int) -> MessageRow | None:
        async with self._db.sessions() as session:
            found = (
                await session.execute(
                    select(CampaignMessage, Campaign.slug)
                    .join(Campaign)
                    .where(CampaignMessage.id == message_id)
                )
            ).first()
            return None if found is None else _row(found[0], found[1])

    async def find(self, ref: str) -> list[MessageRow]:
        """Messages named by ``ref``: a number (the id), ``campaign/key``, or a key alone."""
        ref = ref.strip()
        if ref.isdigit():
            found = await self.message(int(ref))
            return [found] if found is not None else []
        campaign, _, key = ref.rpartition("/")
        return [m for m in await self.messages(campaign or None) if m.key == key]

    async def due(self, now: datetime) -> list[MessageRow]:
        """Messages whose due time has come and that are not being sent yet."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(CampaignMessage, Campaign.slug)
                .join(Campaign)
                .where(CampaignMessage.state.in_(ACTIVE), CampaignMessage.due_at <= now)
                .order_by(CampaignMessage.due_at, CampaignMessage.id)
            )
            return [_row(m, slug) for m, slug in rows]

    async def next_due(self) -> list[tuple[int, datetime]]:
        """(message id, next due time) of every message that has one (being sent included:
        a yearly message's next occurrence waits while this one goes out)."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(CampaignMessage.id, CampaignMessage.due_at).where(
                    CampaignMessage.state.in_((*ACTIVE, "sending")),
                    CampaignMessage.due_at.is_not(None),
                )
            )
            return [(int(i), _aware(d)) for i, d in rows if d is not None]  # type: ignore[misc]

    # --- occurrences ------------------------------------------------------------------------

    async def start(
        self,
        message: MessageRow,
        occurrence: int,
        *,
        next_due: datetime | None,
        now: datetime,
        manual: bool = False,
    ) -> Started | None:
        """Begin sending ``occurrence`` of a message: one delivery per matching subscriber.

        The scheduler passes the ``message`` it read as due; when another process started
        it meanwhile (its state or due time changed), nothing happens and None is returned.
        ``manual`` (send now) starts whatever the schedule says and keeps the due time.
        A paused message gets its deliveries but stays paused."""
        async with self._db.sessions.begin() as session:
            guard = [CampaignMessage.id == message.id]
            if manual:
                guard.append(CampaignMessage.state != "cancelled")
            else:
                guard.append(CampaignMessage.state == message.state)
                guard.append(CampaignMessage.due_at == message.due_at)
            values: dict[str, Any] = {
                "occurrence": occurrence,
                "updated_at": now,
                "state": case((CampaignMessage.state == "paused", "paused"), else_="sending"),
            }
            if not manual:
                values["due_at"] = next_due
            claimed = await session.execute(
                update(CampaignMessage)
                .where(*guard)
                .values(**values)
                .returning(CampaignMessage.state)
            )
            state = claimed.scalar_one_or_none()
            if state is None:
                return None
            # What an older occurrence left waiting is not sent a year late.
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.campaign_message_id == message.id,
                    Delivery.occurrence != occurrence,
                    Delivery.status == "pending",
                )
                .values(status="skipped", error="superseded")
            )
            added = await materialise(
                session,
                message_id=message.id,
                occurrence=occurrence,
                audience=message.audience,
                languages=list(message.bodies),
                now=now,
                dialect=self._db.engine.dialect.name,
            )
            return Started(message.id, occurrence, added, state)

    async def mark_missed(
        self, message: MessageRow, occurrence: int, *, next_due: datetime | None, now: datetime
    ) -> bool:
        """Record that ``occurrence`` was not sent in time; the next one stays scheduled."""
        async with self._db.sessions.begin() as session:
            result = await session.execute(
                update(CampaignMessage)
                .where(
                    CampaignMessage.id == message.id,
                    CampaignMessage.state == message.state,
                    CampaignMessage.due_at == message.due_at,
                )
                .values(state="missed", occurrence=occurrence, due_at=next_due, updated_at=now)
            )
            return bool(getattr(result, "rowcount", 0))

    async def finish(self, now: datetime) -> list[int]:
        """Close messages whose current occurrence has no delivery left to send; their ids."""
        unfinished = exists().where(
            Delivery.campaign_message_id == CampaignMessage.id,
            Delivery.occurrence == CampaignMessage.occurrence,
            Delivery.status.in_(_UNFINISHED),
        )
        async with self._db.sessions.begin() as session:
            result = await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.state == "sending", ~unfinished)
                .values(
                    state=case((CampaignMessage.due_at.is_(None), "done"), else_="scheduled"),
                    updated_at=now,
                )
                .returning(CampaignMessage.id)
            )
            return [int(i) for i in result.scalars()]

    async def sending(self) -> list[tuple[int, int]]:
        """(message id, occurrence) of the messages being sent now."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(CampaignMessage.id, CampaignMessage.occurrence).where(
                    CampaignMessage.state == "sending", CampaignMessage.occurrence.is_not(None)
                )
            )
            return [(int(i), int(o)) for i, o in rows if o is not None]

    # --- control ----------------------------------------------------------------------------

    async def pause(self, message_id: int, now: datetime) -> bool:
        """Hold a message: nothing more of it is sent until it is resumed."""
        return await self._set_state(
            message_id, ("scheduled", "sending", "missed"), now, state="paused"
        )

    async def resume(
        self, message_id: int, now: datetime, *, next_due: datetime | None
    ) -> str | None:
        """Continue a paused message (or revive a cancelled one at ``next_due``); its new
        state, or None when it was neither paused nor cancelled."""
        async with self._db.sessions.begin() as session:
            message = await session.get(CampaignMessage, message_id, with_for_update=True)
            if message is None or message.state not in ("paused", "cancelled"):
                return None
            if message.state == "cancelled":
                message.due_at = next_due
                message.state = "scheduled" if next_due is not None else "done"
            else:
                waiting = await session.scalar(
                    select(
                        exists().where(
                            Delivery.campaign_message_id == message.id,
                            Delivery.occurrence == message.occurrence,
                            Delivery.status.in_(_UNFINISHED),
                        )
                    )
                )
                if waiting:
                    message.state = "sending"
                else:
                    message.state = "scheduled" if message.due_at is not None else "done"
            message.updated_at = now
            return message.state

    async def cancel(self, message_id: int, now: datetime) -> int | None:
        """Stop a message for good: deliveries not yet sent become skipped (their count);
        None when it was already cancelled or does not exist."""
        async with self._db.sessions.begin() as session:
            changed = await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.id == message_id, CampaignMessage.state != "cancelled")
                .values(state="cancelled", due_at=None, updated_at=now)
            )
            if not getattr(changed, "rowcount", 0):
                return None
            skipped = await session.execute(
                update(Delivery)
                .where(Delivery.campaign_message_id == message_id, Delivery.status == "pending")
                .values(status="skipped", error="cancelled")
            )
            return int(getattr(skipped, "rowcount", 0) or 0)

    async def _set_state(
        self, message_id: int, allowed: Sequence[str], now: datetime, *, state: str
    ) -> bool:
        async with self._db.sessions.begin() as session:
            result = await session.execute(
                update(CampaignMessage)
                .where(CampaignMessage.id == message_id, CampaignMessage.state.in_(allowed))
                .values(state=state, updated_at=now)
            )
            return bool(getattr(result, "rowcount", 0))


def _send_order(message: MessageRow) -> tuple[str, str, str]:
    when = message.yearly or (message.send_at.strftime("%m-%d %H:%M") if message.send_at else "")
    return (message.campaign, when, message.key)
