"""The tip vault: seal and file tips, let reporters and officers reach what is theirs.

Everything that crosses this module's boundary towards the database is sealed. The bot
side (:meth:`TipVault.submit`, :meth:`TipVault.check`, :meth:`TipVault.reply`) only ever
uses public keys and keys derived from a receipt the reporter typed; opening a tip needs
an officer's unlocked keys (:mod:`storage.officers`) or the province recovery key.

Every queue and recovery key is checked against the pinned signing key before anything is
sealed to it (:mod:`storage.keyring`): a key without a valid certificate raises
:class:`~storage.keyring.UntrustedKey` and nothing is filed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from storage import sealing
from storage.db import Database
from storage.keyring import KeyVerifier, UntrustedKey
from storage.models import Installation, Queue, RecoveryKey, Tip, TipAttachment, TipMessage

__all__ = [
    "DialogueMessage",
    "NoQueue",
    "OpenedTip",
    "ReporterView",
    "TipDraft",
    "TipVault",
    "UntrustedKey",
    "hour_floor",
    "installation",
]

log = logging.getLogger(__name__)

STATUSES = ("new", "in_review", "actioned", "closed")

# The bot seals with public keys only: it never loads a queue's key wrapped for the recovery
# key, so its database role needs no privilege on that column (storage/roles.py).
_PUBLIC_QUEUE = defer(Queue.recovery_wrap, raiseload=True)


class NoQueue(Exception):
    """No police queue is configured for the province: the tip cannot be routed."""


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass(frozen=True, slots=True)
class TipDraft:
    """What a reporter entered, ready to seal. Photos are already cleaned JPEGs."""

    category: str
    province_code: int
    commune_code: int | None
    when: str
    where: str
    description: Sequence[str]
    locale: str
    location: tuple[float, float] | None = None
    photos: Sequence[bytes] = ()
    receipt: str | None = None  # chosen before filing, so filing twice can be recognised


@dataclass(frozen=True, slots=True)
class DialogueMessage:
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReporterView:
    """What a receipt shows its holder."""

    tip_id: str
    status: str
    category: str
    received_at: datetime
    messages: list[DialogueMessage]
    receipt: sealing.ReceiptKeys = field(repr=False)


@dataclass(frozen=True, slots=True)
class OpenedTip:
    tip_id: str
    queue_id: int
    category: str
    status: str
    province_code: int
    commune_code: int | None
    received_at: datetime
    content: dict[str, Any]
    photos: list[bytes]
    messages: list[DialogueMessage]
    disposition: str | None = None
    outcome: dict[str, Any] | None = None
    escalated: bool = False


async def installation(db: Database, kdf: sealing.KdfParams) -> Installation:
    """The installation row, created on first use with a fresh receipt salt."""
    async with db.sessions.begin() as session:
        row = await session.get(Installation, 1)
        if row is None:
            row = Installation(
                id=1,
                receipt_salt=secrets.token_bytes(16),
                receipt_kdf={
                    "memory_kib": kdf.memory_kib,
                    "iterations": kdf.iterations,
                    "lanes": kdf.lanes,
                },
                created_at=datetime.now(UTC),
            )
            session.add(row)
        return row


def _content_context(tip_id: str) -> bytes:
    return f"tip:{tip_id}:content".encode()


def _photo_context(tip_id: str, position: int) -> bytes:
    return f"tip:{tip_id}:photo:{position}".encode()


def _message_context(tip_id: str, author: str) -> bytes:
    return f"tip:{tip_id}:message:{author}".encode()


class TipVault:
    """Files sealed tips and serves the reporter's side of the dialogue."""

    def __init__(self, db: Database, kdf: sealing.KdfParams, verifier: KeyVerifier) -> None:
        self._db = db
        self._kdf = kdf
        self._verifier = verifier
        self._receipt: tuple[bytes, sealing.KdfParams] | None = None
        # Each derivation takes tens of MiB: bound how many run at once under a flood.
        self._derivations = asyncio.Semaphore(2)

    async def _receipt_params(self) -> tuple[bytes, sealing.KdfParams]:
        if self._receipt is None:
            row = await installation(self._db, self._kdf)
            self._receipt = (row.receipt_salt, sealing.KdfParams(**row.receipt_kdf))
        return self._receipt

    async def derive(self, receipt_digits: str) -> sealing.ReceiptKeys:
        salt, params = await self._receipt_params()
        # Argon2id takes a deliberate fraction of a second: keep the event loop free.
        async with self._derivations:
            return await asyncio.to_thread(
                sealing.derive_receipt_keys, receipt_digits, salt, params
            )

    async def route(self, province_code: int, commune_code: int | None) -> Queue:
        """The commune's own queue when configured, else the province queue."""
        async with self._db.sessions() as session:
            if commune_code is not None:
                queue = await session.scalar(
                    select(Queue)
                    .options(_PUBLIC_QUEUE)
                    .where(Queue.province_code == province_code, Queue.commune_code == commune_code)
                )
                if queue is not None:
                    return queue
            queue = await session.scalar(
                select(Queue)
                .options(_PUBLIC_QUEUE)
                .where(Queue.province_code == province_code, Queue.commune_code.is_(None))
            )
            if queue is None:
                raise NoQueue(province_code)
            return queue

    async def has_queue(self, province_code: int) -> bool:
        try:
            await self.route(province_code, None)
        except NoQueue:
            return False
        return True

    async def submit(self, draft: TipDraft) -> str:
        """Seal and file a tip; returns the receipt digits (shown once, never stored).

        With ``draft.receipt`` set and a tip already filed under it (the process died after
        filing, before the conversation could save that it had), nothing is filed again:
        the same receipt is returned.

        Raises :class:`NoQueue` when the province has no queue or recovery key, and
        :class:`UntrustedKey` (before anything is sealed) when one of the three recipient
        keys has no valid certificate."""
        queue = await self.route(draft.province_code, draft.commune_code)
        province_queue = await self.route(draft.province_code, None)
        async with self._db.sessions() as session:
            recovery = await session.get(RecoveryKey, draft.province_code)
        if recovery is None:
            raise NoQueue(draft.province_code)
        receipt = draft.receipt or sealing.new_receipt()
        keys = await self.derive(receipt)
        if draft.receipt is not None:
            async with self._db.sessions() as session:
                filed = await session.scalar(
                    select(Tip.id).where(Tip.receipt_lookup == keys.lookup)
                )
            if filed is not None:
                # Not logged: a line here would give the time of a filing to the second.
                return receipt
        # Nothing is sealed to a key the signing key did not certify (one the database's
        # writer may have put there). The province queue (PC04, supervisors) can always read
        # its province's tips: that lets an unacknowledged tip escalate with no key at hand.
        recipients = {
            f"queue:{queue.id}": self._verifier.check(queue),
            f"queue:{province_queue.id}": self._verifier.check(province_queue),
            f"recovery:{draft.province_code}": self._verifier.check(recovery),
        }
        tip_id = secrets.token_hex(6).upper()
        content = {
            "category": draft.category,
            "when": draft.when,
            "where": draft.where,
            "location": list(draft.location) if draft.location else None,
            "description": list(draft.description),
            "locale": draft.locale,
            "photos": len(draft.photos),
        }
        box, data_key = sealing.seal_for(
            json.dumps(content, ensure_ascii=False).encode(),
            recipients,
            _content_context(tip_id),
        )
        wraps = {label: _b64(wrapped) for label, wrapped in box.wraps.items()}
        now = datetime.now(UTC)
        async with self._db.sessions.begin() as session:
            session.add(
                Tip(
                    id=tip_id,
                    queue_id=queue.id,
                    province_code=draft.province_code,
                    commune_code=draft.commune_code,
                    category=draft.category,
                    status="new",
                    received_at=hour_floor(now),
                    receipt_lookup=keys.lookup,
                    reporter_public_key=keys.public,
                    content=box.ciphertext,
                    key_wraps=wraps,
                )
            )
            await session.flush()
            for position, photo in enumerate(draft.photos):
                session.add(
                    TipAttachment(
                        tip_id=tip_id,
                        position=position,
                        mime="image/jpeg",
                        content=sealing.seal(data_key, photo, _photo_context(tip_id, position)),
                    )
                )
        return receipt

    async def check(self, receipt_digits: str) -> ReporterView | None:
        """The tip a receipt opens, with the dialogue decrypted for the reporter."""
        keys = await self.derive(receipt_digits)
        async with self._db.sessions.begin() as session:
            tip = await session.scalar(select(Tip).where(Tip.receipt_lookup == keys.lookup))
            if tip is None:
                return None
            rows = await session.scalars(
                select(TipMessage).where(TipMessage.tip_id == tip.id).order_by(TipMessage.id)
            )
            messages = [_open_message(tip.id, row, "reporter", keys.private) for row in rows]
            tip.unread_for_reporter = 0
            return ReporterView(
                tip_id=tip.id,
                status=tip.status,
                category=tip.category,
                received_at=tip.received_at,
                messages=messages,
                receipt=keys,
            )

    async def reply(self, tip_id: str, keys: sealing.ReceiptKeys, text: str) -> None:
        """Add the reporter's anonymous answer to the dialogue; :class:`UntrustedKey` when a
        police key of the tip has no valid certificate (nothing is stored then)."""
        async with self._db.sessions.begin() as session:
            tip = await session.get(Tip, tip_id)
            if tip is None or tip.receipt_lookup != keys.lookup:
                raise PermissionError("receipt does not match")
            recipients = await _dialogue_recipients(session, tip, self._verifier)
            session.add(_seal_message(tip, "reporter", text, recipients))
            tip.unread_for_police += 1


async def _dialogue_recipients(
    session: AsyncSession, tip: Tip, verifier: KeyVerifier
) -> dict[str, bytes]:
    """The keys a dialogue message of the tip is sealed for, each checked against the
    pinned signing key (:class:`UntrustedKey` otherwise); the reporter's comes from the tip."""
    queue = await session.get(Queue, tip.queue_id, options=[_PUBLIC_QUEUE])
    province_queue = await session.scalar(
        select(Queue)
        .options(_PUBLIC_QUEUE)
        .where(Queue.province_code == tip.province_code, Queue.commune_code.is_(None))
    )
    recovery = await session.get(RecoveryKey, tip.province_code)
    if queue is None or province_queue is None or recovery is None:
        raise LookupError("tip without its queue or recovery key")
    return {
        f"queue:{queue.id}": verifier.check(queue),
        f"queue:{province_queue.id}": verifier.check(province_queue),
        f"recovery:{tip.province_code}": verifier.check(recovery),
        "reporter": tip.reporter_public_key,
    }


def _seal_message(tip: Tip, author: str, text: str, recipients: Mapping[str, bytes]) -> TipMessage:
    context = _message_context(tip.id, author)
    box, _ = sealing.seal_for(text.encode(), recipients, context)
    wraps = {label: _b64(wrapped) for label, wrapped in box.wraps.items()}
    return TipMessage(
        tip_id=tip.id,
        author=author,
        created_at=datetime.now(UTC).replace(second=0, microsecond=0),
        content=box.ciphertext,
        key_wraps=wraps,
    )


def _open_message(tip_id: str, row: TipMessage, label: str, private: bytes) -> DialogueMessage:
    context = _message_context(tip_id, row.author)
    text = sealing.open_box(row.content, _unb64(row.key_wraps[label]), private, context)
    return DialogueMessage(author=row.author, text=text.decode(), created_at=row.created_at)
