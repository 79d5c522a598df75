"""An officer's work on tips: list, open, triage, ask the reporter, notes, forward.

Every method takes an :class:`UnlockedOfficer` and enforces the one rule of access: an
officer sees a tip only if it is in one of their queues, or in the province of a province
queue they belong to (supervisors, PC04). Every action is written to the audit log in the
same transaction as the change. Police messages, notes and forwarded tips are sealed only
to queue and recovery keys that verify against the pinned signing key
(:class:`~storage.keyring.UntrustedKey` otherwise, and nothing changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import sealing
from storage.audit import record
from storage.db import Database, utc
from storage.keyring import KeyVerifier
from storage.models import Queue, Tip, TipAttachment, TipMessage, TipNote
from storage.police import UnlockedOfficer
from storage.vault import (
    DialogueMessage,
    OpenedTip,
    _b64,
    _content_context,
    _dialogue_recipients,
    _message_context,
    _open_message,
    _photo_context,
    _seal_message,
    _unb64,
)

__all__ = [
    "DISPOSITIONS",
    "STATUSES",
    "Casework",
    "NotAllowed",
    "Note",
    "TipSummary",
]

STATUSES = ("new", "in_review", "actioned", "closed")
DISPOSITIONS = ("confirmed", "already_known", "unfounded", "prank", "out_of_jurisdiction")
_NOTE_CONTEXT = "note"


class NotAllowed(PermissionError):
    """The tip is not in the officer's queues (or does not exist: the same answer)."""


@dataclass(frozen=True, slots=True)
class TipSummary:
    tip_id: str
    queue_id: int
    category: str
    status: str
    province_code: int
    commune_code: int | None
    received_at: datetime
    unread_for_police: int
    acknowledged_at: datetime | None = None
    escalated_at: datetime | None = None
    disposition: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    text: str
    created_at: datetime


def visible_to(officer: UnlockedOfficer) -> ColumnElement[bool]:
    """The SQL condition for tips an officer may see."""
    conditions: list[ColumnElement[bool]] = []
    if officer.queue_keys:
        conditions.append(Tip.queue_id.in_(list(officer.queue_keys)))
    if officer.province_queues:
        conditions.append(Tip.province_code.in_(list(officer.province_queues)))
    return or_(*conditions) if conditions else false()


def _label_for(officer: UnlockedOfficer, tip: Tip) -> tuple[str, bytes]:
    """Which of the tip's key wraps this officer can open, and with which key."""
    candidates = [tip.queue_id, officer.province_queues.get(tip.province_code)]
    for queue_id in candidates:
        if queue_id is None or queue_id not in officer.queue_keys:
            continue
        label = f"queue:{queue_id}"
        if label in tip.key_wraps:
            return label, officer.queue_keys[queue_id]
    raise NotAllowed("no such tip in your queues")


def _summary(tip: Tip) -> TipSummary:
    return TipSummary(
        tip_id=tip.id,
        queue_id=tip.queue_id,
        category=tip.category,
        status=tip.status,
        province_code=tip.province_code,
        commune_code=tip.commune_code,
        received_at=utc(tip.received_at),
        unread_for_police=tip.unread_for_police,
        acknowledged_at=utc(tip.acknowledged_at) if tip.acknowledged_at else None,
        escalated_at=utc(tip.escalated_at) if tip.escalated_at else None,
        disposition=tip.disposition,
    )


class Casework:
    """What officers do with tips."""

    def __init__(self, db: Database, verifier: KeyVerifier) -> None:
        self._db = db
        self._verifier = verifier

    async def _tip(self, session: AsyncSession, officer: UnlockedOfficer, tip_id: str) -> Tip:
        tip = await session.get(Tip, tip_id.upper(), with_for_update=not self._db.is_sqlite)
        if tip is None:
            raise NotAllowed("no such tip in your queues")
        _label_for(officer, tip)
        return tip

    async def can_see(self, officer: UnlockedOfficer, tip_id: str) -> bool:
        """Whether the officer may open this tip (False for a tip that does not exist).

        A plain read: nothing is decrypted, locked or audited."""
        async with self._db.sessions() as session:
            tip = await session.get(Tip, tip_id.upper())
            if tip is None:
                return False
            try:
                _label_for(officer, tip)
            except NotAllowed:
                return False
            return True

    async def list_tips(
        self,
        officer: UnlockedOfficer,
        status: str | None = None,
        *,
        category: str | None = None,
        commune_code: int | None = None,
        newest_first: bool = True,
        limit: int = 500,
    ) -> list[TipSummary]:
        """Tips the officer may see, with filters."""
        query = select(Tip).where(visible_to(officer))
        if status:
            query = query.where(Tip.status == status)
        if category:
            query = query.where(Tip.category == category)
        if commune_code is not None:
            query = query.where(Tip.commune_code == commune_code)
        order = Tip.received_at.desc() if newest_first else Tip.received_at.asc()
        async with self._db.sessions() as session:
            tips = await session.scalars(query.order_by(order, Tip.id).limit(limit))
            return [_summary(t) for t in tips]

    async def counts(self, officer: UnlockedOfficer) -> dict[str, int]:
        """How many visible tips per status."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(Tip.status, func.count()).where(visible_to(officer)).group_by(Tip.status)
            )
            return {status: int(count) for status, count in rows}

    async def open_tip(self, officer: UnlockedOfficer, tip_id: str) -> OpenedTip:
        """Decrypt a tip; ``NotAllowed`` when it is not the officer's to see."""
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            label, private = _label_for(officer, tip)
            opened = await _open(session, tip, label, private)
            tip.unread_for_police = 0
            await record(session, officer.username, "open", tip_id=tip.id, queue_id=tip.queue_id)
            return opened

    async def open_with_recovery(self, tip_id: str, recovery_private: bytes) -> OpenedTip:
        async with self._db.sessions.begin() as session:
            tip = await session.get(Tip, tip_id.upper())
            if tip is None:
                raise LookupError("no such tip")
            opened = await _open(session, tip, f"recovery:{tip.province_code}", recovery_private)
            await record(session, "recovery-key", "open", tip_id=tip.id, queue_id=tip.queue_id)
            return opened

    async def photo(self, officer: UnlockedOfficer, tip_id: str, position: int) -> bytes:
        """One photo of a tip (already stripped of metadata when it was received)."""
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            label, private = _label_for(officer, tip)
            attachment = await session.scalar(
                select(TipAttachment).where(
                    TipAttachment.tip_id == tip.id, TipAttachment.position == position
                )
            )
            if attachment is None:
                raise LookupError("no such photo")
            data_key = sealing.unwrap_key(
                _unb64(tip.key_wraps[label]), private, _content_context(tip.id)
            )
            await record(session, officer.username, "photo", tip_id=tip.id, position=position)
            return sealing.open_sealed(
                data_key, attachment.content, _photo_context(tip.id, position)
            )

    async def ask_reporter(self, officer: UnlockedOfficer, tip_id: str, text: str) -> None:
        """Send the reporter a question they read with their receipt."""
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            recipients = await _dialogue_recipients(session, tip, self._verifier)
            session.add(_seal_message(tip, "police", text, recipients))
            tip.unread_for_reporter += 1
            _acknowledge(tip)
            await record(session, officer.username, "ask", tip_id=tip.id, queue_id=tip.queue_id)

    async def set_status(
        self,
        officer: UnlockedOfficer,
        tip_id: str,
        status: str,
        disposition: str | None = None,
    ) -> None:
        """Move a tip along new → in review → actioned / closed, with a disposition."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        if disposition is not None and disposition not in DISPOSITIONS:
            raise ValueError(f"unknown disposition {disposition!r}")
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            before = tip.status
            tip.status = status
            if disposition is not None or status in ("new", "in_review"):
                tip.disposition = disposition
            if status != "new":
                _acknowledge(tip)
            await record(
                session,
                officer.username,
                "status",
                tip_id=tip.id,
                queue_id=tip.queue_id,
                before=before,
                after=status,
                disposition=disposition,
            )

    async def set_outcome(
        self, officer: UnlockedOfficer, tip_id: str, *, arrests: int, seizures_grams: float
    ) -> None:
        if arrests < 0 or seizures_grams < 0:
            raise ValueError("outcome figures cannot be negative")
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            tip.outcome = {"arrests": arrests, "seizures_grams": seizures_grams}
            await record(
                session,
                officer.username,
                "outcome",
                tip_id=tip.id,
                queue_id=tip.queue_id,
                arrests=arrests,
                seizures_grams=seizures_grams,
            )

    async def add_note(self, officer: UnlockedOfficer, tip_id: str, text: str) -> None:
        """An internal note, readable by officers who can open the tip, never the reporter."""
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            recipients = await _dialogue_recipients(session, tip, self._verifier)
            recipients.pop("reporter")
            context = _message_context(tip.id, _NOTE_CONTEXT)
            box, _ = sealing.seal_for(text.encode(), recipients, context)
            session.add(
                TipNote(
                    tip_id=tip.id,
                    officer_id=officer.officer_id,
                    created_at=datetime.now(UTC).replace(second=0, microsecond=0),
                    content=box.ciphertext,
                    key_wraps={label: _b64(w) for label, w in box.wraps.items()},
                )
            )
            await record(session, officer.username, "note", tip_id=tip.id, queue_id=tip.queue_id)

    async def notes(self, officer: UnlockedOfficer, tip_id: str) -> list[Note]:
        from storage.models import Officer

        async with self._db.sessions() as session:
            tip = await self._tip(session, officer, tip_id)
            label, private = _label_for(officer, tip)
            rows = await session.execute(
                select(TipNote, Officer.display_name)
                .join(Officer, Officer.id == TipNote.officer_id)
                .where(TipNote.tip_id == tip.id)
                .order_by(TipNote.id)
            )
            context = _message_context(tip.id, _NOTE_CONTEXT)
            return [
                Note(
                    author=author,
                    text=sealing.open_box(
                        note.content, _unb64(note.key_wraps[label]), private, context
                    ).decode(),
                    created_at=utc(note.created_at),
                )
                for note, author in rows
            ]

    async def forward(self, officer: UnlockedOfficer, tip_id: str, queue_id: int) -> None:
        """Move a tip to another queue of the same province, re-wrapping its keys."""
        async with self._db.sessions.begin() as session:
            tip = await self._tip(session, officer, tip_id)
            target = await session.get(Queue, queue_id)
            if target is None or target.province_code != tip.province_code:
                raise ValueError("the target queue must be in the tip's province")
            if target.id == tip.queue_id:
                return
            label, private = _label_for(officer, tip)
            target_public = self._verifier.check(target)
            old_queue = await session.get(Queue, tip.queue_id)
            keep_old = old_queue is not None and old_queue.commune_code is None
            old_label, new_label = f"queue:{tip.queue_id}", f"queue:{target.id}"

            def moved(wraps: dict[str, Any], context: bytes) -> dict[str, Any]:
                updated = dict(wraps)
                if new_label not in updated:
                    updated[new_label] = _b64(
                        sealing.rewrap(_unb64(wraps[label]), private, target_public, context)
                    )
                if not keep_old and old_label != new_label:
                    updated.pop(old_label, None)
                return updated

            tip.key_wraps = moved(tip.key_wraps, _content_context(tip.id))
            for message in await session.scalars(
                select(TipMessage).where(TipMessage.tip_id == tip.id)
            ):
                message.key_wraps = moved(
                    message.key_wraps, _message_context(tip.id, message.author)
                )
            for note in await session.scalars(select(TipNote).where(TipNote.tip_id == tip.id)):
                note.key_wraps = moved(note.key_wraps, _message_context(tip.id, _NOTE_CONTEXT))
            before = tip.queue_id
            tip.queue_id = target.id
            await record(
                session,
                officer.username,
                "forward",
                tip_id=tip.id,
                queue_id=target.id,
                from_queue=before,
            )

    async def escalate_overdue(self, older_than: timedelta) -> list[str]:
        """Move new tips nobody acknowledged in time from commune queues to the province
        queue (it already holds a key wrap for every tip of its province)."""
        cutoff = datetime.now(UTC) - older_than
        moved: list[str] = []
        async with self._db.sessions.begin() as session:
            province_queues = {
                q.province_code: q.id
                for q in await session.scalars(select(Queue).where(Queue.commune_code.is_(None)))
            }
            commune_queues = select(Queue.id).where(Queue.commune_code.is_not(None))
            overdue = await session.scalars(
                select(Tip).where(
                    Tip.status == "new",
                    Tip.received_at < cutoff,
                    Tip.escalated_at.is_(None),
                    Tip.queue_id.in_(commune_queues),
                )
            )
            for tip in overdue:
                target = province_queues.get(tip.province_code)
                if target is None or f"queue:{target}" not in tip.key_wraps:
                    continue
                before = tip.queue_id
                tip.queue_id = target
                tip.escalated_at = datetime.now(UTC)
                await record(
                    session, "system", "escalate", tip_id=tip.id, queue_id=target, from_queue=before
                )
                moved.append(tip.id)
        return moved


def _acknowledge(tip: Tip) -> None:
    if tip.acknowledged_at is None:
        tip.acknowledged_at = datetime.now(UTC)


async def _open(session: AsyncSession, tip: Tip, label: str, private: bytes) -> OpenedTip:
    if label not in tip.key_wraps:
        raise NotAllowed("this key cannot open the tip")
    data_key = sealing.unwrap_key(_unb64(tip.key_wraps[label]), private, _content_context(tip.id))
    content = json.loads(sealing.open_sealed(data_key, tip.content, _content_context(tip.id)))
    attachments = await session.scalars(
        select(TipAttachment).where(TipAttachment.tip_id == tip.id).order_by(TipAttachment.position)
    )
    photos = [
        sealing.open_sealed(data_key, a.content, _photo_context(tip.id, a.position))
        for a in attachments
    ]
    rows = await session.scalars(
        select(TipMessage).where(TipMessage.tip_id == tip.id).order_by(TipMessage.id)
    )
    messages: list[DialogueMessage] = [_open_message(tip.id, r, label, private) for r in rows]
    return OpenedTip(
        tip_id=tip.id,
        queue_id=tip.queue_id,
        category=tip.category,
        status=tip.status,
        province_code=tip.province_code,
        commune_code=tip.commune_code,
        received_at=utc(tip.received_at),
        content=content,
        photos=photos,
        messages=messages,
        disposition=tip.disposition,
        outcome=tip.outcome,
        escalated=tip.escalated_at is not None,
    )
