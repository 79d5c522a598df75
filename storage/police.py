"""The police side of the vault: recovery keys, queues, officers, and opening tips.

Only the console role (and the operator's CLI) uses this module: it is where private keys
are unlocked. Granting an officer a queue needs the queue's private key, so it needs
someone who already holds it: the province recovery key or a member officer.

Every key created or replaced here is certified by the signing key
(:class:`~storage.keyring.KeySigner`; :class:`~storage.keyring.NoSigningKey` where this
process has none), and every officer or recovery key is checked against the pinned signing
key before a queue key is wrapped for it (:class:`~storage.keyring.UntrustedKey` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import sealing
from storage.db import Database
from storage.directory import CommuneInfo, ProvinceInfo
from storage.keyring import KeySigner, KeyVerifier, require_signer
from storage.models import Officer, Queue, QueueMember, RecoveryKey

__all__ = [
    "ROLES",
    "KeyStatus",
    "PoliceDesk",
    "UnlockedOfficer",
    "queue_name",
    "unlocked_officer",
]

_QUEUE_KEY_CONTEXT = b"queue-key"
ROLES = ("officer", "supervisor", "communicator", "admin")


@dataclass(frozen=True, slots=True)
class UnlockedOfficer:
    """An officer whose password opened their key: holds their queues' private keys.

    Lives in memory only (a console session, a CLI command) and is forgotten after.
    ``province_queues`` maps the province of each province queue held to that queue: its
    members see every tip of the province.
    """

    officer_id: int
    username: str
    queue_keys: dict[int, bytes]
    role: str = "officer"
    province_code: int | None = None
    display_name: str = ""
    private_key: bytes = field(default=b"", repr=False)
    province_queues: dict[int, int] = field(default_factory=dict)

    def __repr__(self) -> str:  # never print keys
        return f"UnlockedOfficer({self.username!r}, queues={sorted(self.queue_keys)})"


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """A public key of the database as an operator checks it (never a private key).

    ``state`` is ``"certified"``, ``"missing"`` (no certificate: a key from before
    certificates, or one written behind the police's back) or ``"invalid"`` (a certificate
    that does not verify: the key or its row was changed, or it was certified by another
    signing key).
    """

    kind: str
    row_id: int
    label: str
    public_key: bytes = field(repr=False)
    fingerprint: str
    state: str

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.row_id


def queue_name(province: ProvinceInfo, commune: CommuneInfo | None) -> str:
    """The usual name of a unit's queue: "Công an Phường Ba Đình", "Công an Hà Nội"."""
    return f"Công an {commune.name if commune else province.short_name}"


def _queue_wrap_context(queue_id: int) -> bytes:
    return _QUEUE_KEY_CONTEXT + f":{queue_id}".encode()


async def unlocked_officer(
    session: AsyncSession, officer: Officer, private: bytes
) -> UnlockedOfficer:
    """An officer's queue keys, opened with their private key."""
    rows = await session.execute(
        select(QueueMember, Queue)
        .join(Queue, Queue.id == QueueMember.queue_id)
        .where(QueueMember.officer_id == officer.id)
    )
    keys: dict[int, bytes] = {}
    provinces: dict[int, int] = {}
    for member, queue in rows:
        keys[queue.id] = sealing.unwrap_key(
            member.wrapped_queue_key, private, _queue_wrap_context(queue.id)
        )
        if queue.commune_code is None:
            provinces[queue.province_code] = queue.id
    return UnlockedOfficer(
        officer_id=officer.id,
        username=officer.username,
        queue_keys=keys,
        role=officer.role,
        province_code=officer.province_code,
        display_name=officer.display_name,
        private_key=private,
        province_queues=provinces,
    )


class PoliceDesk:
    """Administration of keys and queues, and the officer's work on tips."""

    def __init__(
        self,
        db: Database,
        kdf: sealing.KdfParams,
        verifier: KeyVerifier,
        signer: KeySigner | None,
    ) -> None:
        self._db = db
        self._kdf = kdf
        self.verifier = verifier
        self.signer = signer
        self._decoy_key: bytes | None = None

    # --- keys and queues -------------------------------------------------------------

    async def create_recovery_key(self, province_code: int) -> bytes:
        """Create the province recovery key; returns its private half to export offline."""
        signer = require_signer(self.signer)
        private, public = sealing.new_keypair()
        async with self._db.sessions.begin() as session:
            if await session.get(RecoveryKey, province_code) is not None:
                raise ValueError(f"province {province_code} already has a recovery key")
            row = RecoveryKey(
                province_code=province_code,
                public_key=public,
                fingerprint=sealing.fingerprint(public),
                created_at=datetime.now(UTC),
            )
            signer.certify(row)
            session.add(row)
        return private

    async def recovery_key(self, province_code: int) -> RecoveryKey | None:
        async with self._db.sessions() as session:
            return await session.get(RecoveryKey, province_code)

    async def create_queue(
        self, province_code: int, commune_code: int | None, name: str
    ) -> tuple[Queue, bytes]:
        """Create a queue; returns it and its private key (to grant the first officers)."""
        signer = require_signer(self.signer)
        private, public = sealing.new_keypair()
        async with self._db.sessions.begin() as session:
            recovery = await session.get(RecoveryKey, province_code)
            if recovery is None:
                raise LookupError(f"province {province_code} has no recovery key yet")
            recovery_public = self.verifier.check(recovery)
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
                private, recovery_public, _queue_wrap_context(queue.id)
            )
            signer.certify(queue)
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

    # --- certificates --------------------------------------------------------------------

    async def key_statuses(self) -> list[KeyStatus]:
        """Every recovery, queue and officer key with its fingerprint and certificate state."""
        async with self._db.sessions() as session:
            rows: list[RecoveryKey | Queue | Officer] = [
                *await session.scalars(select(RecoveryKey).order_by(RecoveryKey.province_code)),
                *await session.scalars(select(Queue).order_by(Queue.id)),
                *await session.scalars(select(Officer).order_by(Officer.id)),
            ]
        return [self._status(row) for row in rows]

    def _status(self, row: RecoveryKey | Queue | Officer) -> KeyStatus:
        if isinstance(row, RecoveryKey):
            kind, row_id, label = "recovery", row.province_code, f"province {row.province_code}"
        elif isinstance(row, Queue):
            kind, row_id, label = "queue", row.id, row.name
        else:
            kind, row_id, label = "officer", row.id, row.username
        if self.verifier.verifies(row):
            state = "certified"
        else:
            state = "missing" if row.certificate is None else "invalid"
        try:
            shown = sealing.fingerprint(row.public_key)
        except ValueError:
            shown = "?"
        return KeyStatus(kind, row_id, label, row.public_key, shown, state)

    async def certify_keys(self, chosen: list[KeyStatus]) -> int:
        """Certify the keys an operator checked; returns how many were certified.

        A key is certified only if it is still the very key that was shown (someone who
        can write the database could swap it between the listing and the confirmation)."""
        signer = require_signer(self.signer)
        certified = 0
        async with self._db.sessions.begin() as session:
            for status in chosen:
                row: RecoveryKey | Queue | Officer | None
                if status.kind == "recovery":
                    row = await session.get(RecoveryKey, status.row_id)
                elif status.kind == "queue":
                    row = await session.get(Queue, status.row_id)
                else:
                    row = await session.get(Officer, status.row_id)
                if row is None or row.public_key != status.public_key:
                    continue
                signer.certify(row)
                certified += 1
        return certified

    # --- officers -----------------------------------------------------------------------

    async def add_officer(
        self,
        username: str,
        display_name: str,
        password: str,
        *,
        role: str = "officer",
        province_code: int | None = None,
    ) -> Officer:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        signer = require_signer(self.signer)
        private, public = sealing.new_keypair()
        officer = Officer(
            username=username,
            display_name=display_name,
            role=role,
            province_code=province_code,
            public_key=public,
            locked_private_key=sealing.lock_private_key(private, password, self._kdf),
            active=True,
            created_at=datetime.now(UTC),
        )
        async with self._db.sessions.begin() as session:
            if await session.scalar(select(Officer).where(Officer.username == username)):
                raise ValueError(f"officer {username!r} already exists")
            session.add(officer)
            await session.flush()
            signer.certify(officer)
        return officer

    async def officer(self, username: str) -> Officer | None:
        async with self._db.sessions() as session:
            return await session.scalar(select(Officer).where(Officer.username == username))

    async def grant(self, queue_id: int, officer_id: int, queue_private: bytes) -> None:
        """Make an officer a member of a queue by wrapping its private key for them
        (:class:`~storage.keyring.UntrustedKey` when the officer's key is not certified)."""
        async with self._db.sessions.begin() as session:
            officer = await session.get(Officer, officer_id)
            queue = await session.get(Queue, queue_id)
            if officer is None or queue is None:
                raise LookupError("unknown officer or queue")
            if sealing.public_key_of(queue_private) != queue.public_key:
                raise ValueError("that key does not belong to this queue")
            wrapped = sealing.wrap_key(
                queue_private, self.verifier.check(officer), _queue_wrap_context(queue_id)
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
            return await unlocked_officer(session, officer, private)

    def _decoy(self) -> bytes:
        if self._decoy_key is None:
            self._decoy_key = sealing.lock_private_key(
                sealing.new_data_key(), secrets.token_urlsafe(16), self._kdf
            )
        return self._decoy_key


async def rotate_queue_key(
    db: Database,
    officer: UnlockedOfficer,
    queue_id: int,
    verifier: KeyVerifier,
    signer: KeySigner | None,
) -> int:
    """Give a queue a new key pair: re-wrap every tip, message and note key wrapped for it,
    and the queue key for its members and the recovery key. Needs the current queue key and
    the signing key (the new public key is certified). Every member's key and the recovery
    key must verify (:class:`~storage.keyring.UntrustedKey` otherwise, and nothing changes).
    Returns how many items were re-wrapped."""
    from storage.audit import record
    from storage.models import Tip, TipMessage, TipNote
    from storage.vault import _b64, _content_context, _message_context, _unb64

    old_private = officer.queue_keys.get(queue_id)
    if old_private is None:
        raise PermissionError("you do not hold this queue's key")
    certifier = require_signer(signer)
    new_private, new_public = sealing.new_keypair()
    label = f"queue:{queue_id}"
    rewrapped = 0
    async with db.sessions.begin() as session:
        queue = await session.get(Queue, queue_id, with_for_update=not db.is_sqlite)
        recovery = await session.get(RecoveryKey, queue.province_code) if queue else None
        if queue is None or recovery is None:
            raise LookupError("no such queue")
        recovery_public = verifier.check(recovery)

        def renewed(wraps: dict[str, str], context: bytes) -> dict[str, str]:
            nonlocal rewrapped
            if label not in wraps:
                return wraps
            rewrapped += 1
            return {
                **wraps,
                label: _b64(sealing.rewrap(_unb64(wraps[label]), old_private, new_public, context)),
            }

        tips = await session.scalars(select(Tip).where(Tip.province_code == queue.province_code))
        for tip in tips:
            tip.key_wraps = renewed(tip.key_wraps, _content_context(tip.id))
            for message in await session.scalars(
                select(TipMessage).where(TipMessage.tip_id == tip.id)
            ):
                message.key_wraps = renewed(
                    message.key_wraps, _message_context(tip.id, message.author)
                )
            for note in await session.scalars(select(TipNote).where(TipNote.tip_id == tip.id)):
                note.key_wraps = renewed(note.key_wraps, _message_context(tip.id, "note"))
        context = _queue_wrap_context(queue_id)
        members = await session.execute(
            select(QueueMember, Officer)
            .join(Officer, Officer.id == QueueMember.officer_id)
            .where(QueueMember.queue_id == queue_id)
        )
        for member, holder in members:
            member.wrapped_queue_key = sealing.wrap_key(
                new_private, verifier.check(holder), context
            )
        queue.public_key = new_public
        certifier.certify(queue)
        queue.recovery_wrap = sealing.wrap_key(new_private, recovery_public, context)
        await record(
            session, officer.username, "key_rotate", queue_id=queue_id, rewrapped=rewrapped
        )
    officer.queue_keys[queue_id] = new_private
    return rewrapped
