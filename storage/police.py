"""The police side of the vault: recovery keys, queues, officers, and opening tips.

Only the console role (and the operator's CLI) uses this module: it is where private keys
are unlocked. Granting an officer a queue needs the queue's private key, so it needs
someone who already holds it: the province recovery key or a member officer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import sealing
from storage.db import Database
from storage.directory import CommuneInfo, ProvinceInfo
from storage.models import Officer, Queue, QueueMember, RecoveryKey, Tip, TipAttachment, TipMessage
from storage.vault import (
    DialogueMessage,
    OpenedTip,
    _content_context,
    _dialogue_recipients,
    _open_message,
    _photo_context,
    _seal_message,
    _unb64,
)

__all__ = ["PoliceDesk", "TipSummary", "UnlockedOfficer", "queue_name"]

_QUEUE_KEY_CONTEXT = b"queue-key"


@dataclass(frozen=True, slots=True)
class UnlockedOfficer:
    """An officer whose password opened their key: holds their queues' private keys."""

    officer_id: int
    username: str
    queue_keys: dict[int, bytes]

    def __repr__(self) -> str:  # never print keys
        return f"UnlockedOfficer({self.username!r}, queues={sorted(self.queue_keys)})"


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


def queue_name(province: ProvinceInfo, commune: CommuneInfo | None) -> str:
    """The usual name of a unit's queue: "Công an Phường Ba Đình", "Công an Hà Nội"."""
    return f"Công an {commune.name if commune else province.short_name}"


def _queue_wrap_context(queue_id: int) -> bytes:
    return _QUEUE_KEY_CONTEXT + f":{queue_id}".encode()


class PoliceDesk:
    """Administration of keys and queues, and the officer's work on tips."""

    def __init__(self, db: Database, kdf: sealing.KdfParams) -> None:
        self._db = db
        self._kdf = kdf
        self._decoy_key: bytes | None = None

    # --- keys and queues -------------------------------------------------------------

    async def create_recovery_key(self, province_code: int) -> bytes:
        """Create the province recovery key; returns its private half to export offline."""
        private, public = sealing.new_keypair()
        async with self._db.sessions.begin() as session:
            if await session.get(RecoveryKey, province_code) is not None:
                raise ValueError(f"province {province_code} already has a recovery key")
            session.add(
                RecoveryKey(
                    province_code=province_code,
                    public_key=public,
                    fingerprint=sealing.fingerprint(public),
                    created_at=datetime.now(UTC),
                )
            )
        return private

    async def recovery_key(self, province_code: int) -> RecoveryKey | None:
        async with self._db.sessions() as session:
            return await session.get(RecoveryKey, province_code)

    async def create_queue(
        self, province_code: int, commune_code: int | None, name: str
    ) -> tuple[Queue, bytes]:
        """Create a queue; returns it and its private key (to grant the first officers)."""
        private, public = sealing.new_keypair()
        async with self._db.sessions.begin() as session:
            recovery = await session.get(RecoveryKey, province_code)
            if recovery is None:
                raise LookupError(f"province {province_code} has no recovery key yet")
            existing = await session.scalar(
                select(Queue).where(
                    Queue.province_code == province_code,
                    Queue.commune_code.is_(None)
                    if commune_code is None
                    else Queue.commune_code == commune_code,
                )
            )
            if existing is not None:
                raise ValueError(f"queue already exists: {existing.name}")
            queue = Queue(
                province_code=province_code,
                commune_code=commune_code,
                name=name,
                public_key=public,
                recovery_wrap=b"",
                created_at=datetime.now(UTC),
            )
            session.add(queue)
            await session.flush()
            queue.recovery_wrap = sealing.wrap_key(
                private, recovery.public_key, _queue_wrap_context(queue.id)
            )
        return queue, private

    async def queues(self, province_code: int | None = None) -> list[Queue]:
        async with self._db.sessions() as session:
            query = select(Queue).order_by(Queue.province_code, Queue.commune_code.nulls_first())
            if province_code is not None:
                query = query.where(Queue.province_code == province_code)
            return list(await session.scalars(query))

    async def queue_key_from_recovery(self, queue_id: int, recovery_private: bytes) -> bytes:
        async with self._db.sessions() as session:
            queue = await session.get(Queue, queue_id)
            if queue is None:
                raise LookupError(f"no queue {queue_id}")
            return sealing.unwrap_key(
                queue.recovery_wrap, recovery_private, _queue_wrap_context(queue_id)
            )

    # --- officers -----------------------------------------------------------------------

    async def add_officer(self, username: str, display_name: str, password: str) -> Officer:
        private, public = sealing.new_keypair()
        officer = Officer(
            username=username,
            display_name=display_name,
            public_key=public,
            locked_private_key=sealing.lock_private_key(private, password, self._kdf),
            active=True,
            created_at=datetime.now(UTC),
        )
        async with self._db.sessions.begin() as session:
            if await session.scalar(select(Officer).where(Officer.username == username)):
                raise ValueError(f"officer {username!r} already exists")
            session.add(officer)
        return officer

    async def officer(self, username: str) -> Officer | None:
        async with self._db.sessions() as session:
            return await session.scalar(select(Officer).where(Officer.username == username))

    async def grant(self, queue_id: int, officer_id: int, queue_private: bytes) -> None:
        """Make an officer a member of a queue by wrapping its private key for them."""
        async with self._db.sessions.begin() as session:
            officer = await session.get(Officer, officer_id)
            queue = await session.get(Queue, queue_id)
            if officer is None or queue is None:
                raise LookupError("unknown officer or queue")
            if sealing.public_key_of(queue_private) != queue.public_key:
                raise ValueError("that key does not belong to this queue")
            wrapped = sealing.wrap_key(
                queue_private, officer.public_key, _queue_wrap_context(queue_id)
            )
            member = await session.get(QueueMember, (queue_id, officer_id))
            if member is None:
                session.add(
                    QueueMember(queue_id=queue_id, officer_id=officer_id, wrapped_queue_key=wrapped)
                )
            else:
                member.wrapped_queue_key = wrapped

    async def unlock(self, username: str, password: str) -> UnlockedOfficer:
        """Open an officer's key with their password; raises ``WrongPassword``."""
        async with self._db.sessions() as session:
            officer = await session.scalar(
                select(Officer).where(Officer.username == username, Officer.active.is_(True))
            )
            if officer is None:
                # Same work and same answer as a wrong password: no username probing.
                with contextlib.suppress(sealing.WrongPassword):
                    await asyncio.to_thread(sealing.unlock_private_key, self._decoy(), password)
                raise sealing.WrongPassword("wrong username or password")
            private = await asyncio.to_thread(
                sealing.unlock_private_key, officer.locked_private_key, password
            )
            members = await session.scalars(
                select(QueueMember).where(QueueMember.officer_id == officer.id)
            )
            keys = {
                m.queue_id: sealing.unwrap_key(
                    m.wrapped_queue_key, private, _queue_wrap_context(m.queue_id)
                )
                for m in members
            }
            return UnlockedOfficer(officer_id=officer.id, username=username, queue_keys=keys)

    def _decoy(self) -> bytes:
        if self._decoy_key is None:
            self._decoy_key = sealing.lock_private_key(
                sealing.new_data_key(), secrets.token_urlsafe(16), self._kdf
            )
        return self._decoy_key

    # --- tips ---------------------------------------------------------------------------

    async def list_tips(
        self, officer: UnlockedOfficer, status: str | None = None
    ) -> list[TipSummary]:
        """Tips of the officer's queues, newest first."""
        async with self._db.sessions() as session:
            query = (
                select(Tip)
                .where(Tip.queue_id.in_(list(officer.queue_keys)))
                .order_by(Tip.received_at.desc(), Tip.id)
            )
            if status:
                query = query.where(Tip.status == status)
            return [
                TipSummary(
                    tip_id=t.id,
                    queue_id=t.queue_id,
                    category=t.category,
                    status=t.status,
                    province_code=t.province_code,
                    commune_code=t.commune_code,
                    received_at=t.received_at,
                    unread_for_police=t.unread_for_police,
                )
                for t in await session.scalars(query)
            ]

    async def count_tips(self) -> dict[str, int]:
        async with self._db.sessions() as session:
            rows = await session.execute(select(Tip.status, func.count()).group_by(Tip.status))
            return {status: int(count) for status, count in rows.all()}

    async def open_tip(self, officer: UnlockedOfficer, tip_id: str) -> OpenedTip:
        """Decrypt a tip of one of the officer's queues; ``PermissionError`` otherwise."""
        async with self._db.sessions.begin() as session:
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.queue_id not in officer.queue_keys:
                raise PermissionError("no such tip in your queues")
            opened = await self._open(
                session, tip, f"queue:{tip.queue_id}", officer.queue_keys[tip.queue_id]
            )
            tip.unread_for_police = 0
            return opened

    async def open_with_recovery(self, tip_id: str, recovery_private: bytes) -> OpenedTip:
        async with self._db.sessions() as session:
            tip = await session.get(Tip, tip_id)
            if tip is None:
                raise LookupError("no such tip")
            return await self._open(session, tip, f"recovery:{tip.province_code}", recovery_private)

    async def ask_reporter(self, officer: UnlockedOfficer, tip_id: str, text: str) -> None:
        """Send the reporter a question they read with their receipt."""
        async with self._db.sessions.begin() as session:
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.queue_id not in officer.queue_keys:
                raise PermissionError("no such tip in your queues")
            recipients = await _dialogue_recipients(session, tip)
            session.add(_seal_message(tip, "police", text, recipients))
            tip.unread_for_reporter += 1

    async def set_status(self, officer: UnlockedOfficer, tip_id: str, status: str) -> None:
        async with self._db.sessions.begin() as session:
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.queue_id not in officer.queue_keys:
                raise PermissionError("no such tip in your queues")
            tip.status = status

    @staticmethod
    async def _open(session: AsyncSession, tip: Tip, label: str, private: bytes) -> OpenedTip:
        if label not in tip.key_wraps:
            raise PermissionError("this key cannot open the tip")
        wrapped = _unb64(tip.key_wraps[label])
        data_key = sealing.unwrap_key(wrapped, private, _content_context(tip.id))
        content = json.loads(sealing.open_sealed(data_key, tip.content, _content_context(tip.id)))
        attachments = await session.scalars(
            select(TipAttachment)
            .where(TipAttachment.tip_id == tip.id)
            .order_by(TipAttachment.position)
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
            received_at=tip.received_at,
            content=content,
            photos=photos,
            messages=messages,
        )
