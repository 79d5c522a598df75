"""The audit log: every officer action, append-only and hash-chained.

Each event's hash covers its fields and the previous event's hash, so changing, removing
or reordering any past event breaks the chain from that point on; ``verify`` finds it.
Events never carry tip content: only who, what, which tip or queue, and small details.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import AuditEvent, Officer, Queue, QueueMember, Tip

__all__ = ["GENESIS", "AuditLog", "ChainProblem", "in_province", "record"]

GENESIS = "0" * 64
# The advisory lock key that serialises appends to the chain (any fixed 64-bit number).
_CHAIN_LOCK = 0x7469706C696E65


def _digest(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    tip_id: str | None,
    queue_id: int | None,
    detail: dict[str, Any],
) -> str:
    moment = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    canonical = json.dumps(
        [
            prev_hash,
            moment.isoformat(timespec="microseconds"),
            actor,
            action,
            tip_id,
            queue_id,
            detail,
        ],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record(
    session: AsyncSession,
    actor: str,
    action: str,
    *,
    tip_id: str | None = None,
    queue_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Append an event in the caller's transaction (so the action and its record commit
    together). Serialised per database: on PostgreSQL by a transaction-level advisory lock,
    which needs no UPDATE privilege on the log (the console's role has none, see
    storage/roles.py) and also holds while the log is empty; SQLite has one writer."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(_CHAIN_LOCK)))
    last = await session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    prev_hash = last.hash if last is not None else GENESIS
    at = datetime.now(UTC)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        tip_id=tip_id,
        queue_id=queue_id,
        detail=detail,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, at, actor, action, tip_id, queue_id, detail),
    )
    session.add(event)
    await session.flush()
    return event


def in_province(province_code: int) -> ColumnElement[bool]:
    """The SQL condition for events that concern a province: its tips, its queues, or an
    action of one of its accounts (``Officer.province_code``; an account without one, as
    the command line makes them, counts when it is a member of a queue of the province)."""
    queues = select(Queue.id).where(Queue.province_code == province_code)
    members = select(QueueMember.officer_id).where(QueueMember.queue_id.in_(queues))
    return or_(
        AuditEvent.tip_id.in_(select(Tip.id).where(Tip.province_code == province_code)),
        AuditEvent.queue_id.in_(queues),
        AuditEvent.actor.in_(
            select(Officer.username).where(
                or_(
                    Officer.province_code == province_code,
                    and_(Officer.province_code.is_(None), Officer.id.in_(members)),
                )
            )
        ),
    )


@dataclass(frozen=True, slots=True)
class ChainProblem:
    event_id: int
    reason: str


class AuditLog:
    """Reading and verifying the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, actor: str, action: str, **fields: Any) -> None:
        async with self._db.sessions.begin() as session:
            await record(session, actor, action, **fields)

    async def events(
        self,
        *,
        tip_id: str | None = None,
        limit: int = 200,
        before: int | None = None,
        actor: str | None = None,
        province_code: int | None = None,
        action: str | None = None,
    ) -> list[AuditEvent]:
        """The latest events, newest first, narrowed by any of the filters given.

        ``province_code`` keeps the events about a tip or a queue of the province and the
        events of accounts attached to it (``Officer.province_code``)."""
        async with self._db.sessions() as session:
            query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
            if tip_id is not None:
                query = query.where(AuditEvent.tip_id == tip_id)
            if before is not None:
                query = query.where(AuditEvent.id < before)
            if actor is not None:
                query = query.where(AuditEvent.actor == actor)
            if action is not None:
                query = query.where(AuditEvent.action == action)
            if province_code is not None:
                query = query.where(in_province(province_code))
            return list(await session.scalars(query))

    async def verify(self) -> tuple[int, list[ChainProblem]]:
        """Walk the whole chain; returns (events checked, problems found)."""
        problems: list[ChainProblem] = []
        expected_prev = GENESIS
        count = 0
        async with self._db.sessions() as session:
            result = await session.stream_scalars(select(AuditEvent).order_by(AuditEvent.id))
            async for event in result:
                count += 1
                if event.prev_hash != expected_prev:
                    problems.append(ChainProblem(event.id, "does not follow the previous event"))
                digest = _digest(
                    event.prev_hash,
                    event.at,
                    event.actor,
                    event.action,
                    event.tip_id,
                    event.queue_id,
                    event.detail,
                )
                if digest != event.hash:
                    problems.append(ChainProblem(event.id, "content was changed"))
                expected_prev = event.hash
        return count, problems
