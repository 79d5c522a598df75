"""A province administrator's work on console accounts and queues.

Everything is scoped to one province. An account belongs to the province when its
``province_code`` is the province's, or when it has none (accounts made with the command
line) and it is a member of one of the province's queues; such an account is attached to
the province the first time an admin changes it. Granting a queue wraps the
queue's private key for the new member, so only an admin who holds that key can grant it;
revoking needs no key (the membership row, and with it the wrapped key, is deleted).

Every key made here is certified by the signing key, and an account's key is checked
against the pinned signing key before a queue key is wrapped for it (:mod:`storage.keyring`).

Every change is written to the audit log in the same transaction as the change. Nothing
here ends a console session: the console does that for the accounts it changes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import sealing
from storage.audit import record
from storage.db import Database, utc
from storage.keyring import KeySigner, KeyVerifier, require_signer
from storage.models import Officer, Queue, QueueMember, RecoveryKey
from storage.police import ROLES, UnlockedOfficer, _queue_wrap_context

__all__ = [
    "Account",
    "AdminRefused",
    "KeyNotHeld",
    "NotInProvince",
    "ProvinceAdmin",
    "QueueSummary",
]


class NotInProvince(LookupError):
    """No such account or queue in the admin's province (the same answer for both)."""


class KeyNotHeld(PermissionError):
    """The admin does not hold the key of a queue they tried to grant."""


class AdminRefused(ValueError):
    """A change that cannot be made; ``reason`` says why (for the page to word it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Account:
    """A console account as an admin sees it (never a key, a code or a secret)."""

    officer_id: int
    username: str
    display_name: str
    role: str
    province_code: int | None
    active: bool
    totp_enrolled: bool
    locked_until: datetime | None
    failed_logins: int
    queue_ids: tuple[int, ...]
    created_at: datetime
    fingerprint: str = ""
    certified: bool = False

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue_id: int
    name: str
    commune_code: int | None
    members: int
    created_at: datetime
    fingerprint: str = ""
    certified: bool = False


class ProvinceAdmin:
    """What one admin may do in one province."""

    def __init__(
        self,
        db: Database,
        kdf: sealing.KdfParams,
        admin: UnlockedOfficer,
        province_code: int,
        verifier: KeyVerifier,
        signer: KeySigner | None,
    ) -> None:
        self._db = db
        self._kdf = kdf
        self.admin = admin
        self.province_code = province_code
        self._verifier = verifier
        self._signer = signer

    # --- reading ---------------------------------------------------------------------------

    def _members_here(self) -> Select[int]:
        """Accounts that are members of a queue of the province."""
        return (
            select(QueueMember.officer_id)
            .join(Queue, Queue.id == QueueMember.queue_id)
            .where(Queue.province_code == self.province_code)
        )

    async def accounts(self, *, now: datetime | None = None) -> list[Account]:
        """The province's accounts, by username."""
        now = now or datetime.now(UTC)
        async with self._db.sessions() as session:
            officers = list(
                await session.scalars(
                    select(Officer)
                    .where(
                        or_(
                            Officer.province_code == self.province_code,
                            and_(
                                Officer.province_code.is_(None),
                                Officer.id.in_(self._members_here()),
                            ),
                        )
                    )
                    .order_by(Officer.username)
                )
            )
            memberships = await self._memberships(session, [o.id for o in officers])
        return [_account(o, memberships.get(o.id, ()), now, self._verifier) for o in officers]

    async def account(self, officer_id: int, *, now: datetime | None = None) -> Account:
        """One account of the province; :class:`NotInProvince` otherwise."""
        async with self._db.sessions() as session:
            officer = await self._officer(session, officer_id, claim=False)
            memberships = await self._memberships(session, [officer.id])
        return _account(
            officer, memberships.get(officer.id, ()), now or datetime.now(UTC), self._verifier
        )

    async def queues(self) -> list[QueueSummary]:
        """The province's queues (the province queue first) with their member counts."""
        async with self._db.sessions() as session:
            queues = list(
                await session.scalars(
                    select(Queue)
                    .where(Queue.province_code == self.province_code)
                    .order_by(Queue.commune_code.nulls_first(), Queue.id)
                )
            )
            counts: dict[int, int] = {}
            for (queue_id,) in await session.execute(
                select(QueueMember.queue_id).where(QueueMember.queue_id.in_([q.id for q in queues]))
            ):
                counts[queue_id] = counts.get(queue_id, 0) + 1
        return [
            QueueSummary(
                queue_id=q.id,
                name=q.name,
                commune_code=q.commune_code,
                members=counts.get(q.id, 0),
                created_at=utc(q.created_at),
                fingerprint=_fingerprint(q.public_key),
                certified=self._verifier.verifies(q),
            )
            for q in queues
        ]

    async def _memberships(
        self, session: AsyncSession, officer_ids: list[int]
    ) -> dict[int, tuple[int, ...]]:
        rows = await session.execute(
            select(QueueMember.officer_id, QueueMember.queue_id)
            .join(Queue, Queue.id == QueueMember.queue_id)
            .where(
                QueueMember.officer_id.in_(officer_ids),
                Queue.province_code == self.province_code,
            )
            .order_by(QueueMember.queue_id)
        )
        found: dict[int, list[int]] = {}
        for officer_id, queue_id in rows:
            found.setdefault(officer_id, []).append(queue_id)
        return {officer_id: tuple(ids) for officer_id, ids in found.items()}

    async def _officer(
        self, session: AsyncSession, officer_id: int, *, claim: bool = True
    ) -> Officer:
        """An account of the province. An account without a province that is changed here
        is attached to the province (``claim``), so that it stays in the admin's hands
        even once it is no longer a member of any of the province's queues."""
        officer = await session.get(Officer, officer_id)
        if officer is None:
            raise NotInProvince("no such account in this province")
        if officer.province_code == self.province_code:
            return officer
        if officer.province_code is None:
            member = await session.scalar(
                select(QueueMember.officer_id)
                .join(Queue, Queue.id == QueueMember.queue_id)
                .where(
                    QueueMember.officer_id == officer_id,
                    Queue.province_code == self.province_code,
                )
                .limit(1)
            )
            if member is not None:
                if claim:
                    officer.province_code = self.province_code
                return officer
        raise NotInProvince("no such account in this province")

    async def _queue(self, session: AsyncSession, queue_id: int) -> Queue:
        queue = await session.get(Queue, queue_id)
        if queue is None or queue.province_code != self.province_code:
            raise NotInProvince("no such queue in this province")
        return queue

    def _held_key(self, queue: Queue) -> bytes:
        private = self.admin.queue_keys.get(queue.id)
        if private is None:
            raise KeyNotHeld(f"you do not hold the key of queue {queue.id}")
        if sealing.public_key_of(private) != queue.public_key:
            # The key in the session is older than the queue's (rotated meanwhile).
            raise KeyNotHeld(f"your key of queue {queue.id} is out of date")
        return private

    # --- queues --------------------------------------------------------------------------

    async def create_queue(self, commune_code: int, name: str) -> int:
        """A commune queue; its key is granted to the admin (and their session holds it)."""
        signer = require_signer(self._signer)
        private, public = sealing.new_keypair()
        async with self._db.sessions.begin() as session:
            recovery = await session.get(RecoveryKey, self.province_code)
            if recovery is None:
                raise AdminRefused("no_recovery_key")
            recovery_public = self._verifier.check(recovery)
            existing = await session.scalar(
                select(Queue.id).where(
                    Queue.province_code == self.province_code,
                    Queue.commune_code == commune_code,
                )
            )
            if existing is not None:
                raise AdminRefused("queue_exists")
            holder = await session.get(Officer, self.admin.officer_id)
            if holder is None:
                raise AdminRefused("no_account")
            holder_public = self._verifier.check(holder)
            queue = Queue(
                province_code=self.province_code,
                commune_code=commune_code,
                name=name[:200],
                public_key=public,
                recovery_wrap=b"",
                created_at=datetime.now(UTC),
            )
            session.add(queue)
            await session.flush()
            context = _queue_wrap_context(queue.id)
            queue.recovery_wrap = sealing.wrap_key(private, recovery_public, context)
            signer.certify(queue)
            session.add(
                QueueMember(
                    queue_id=queue.id,
                    officer_id=holder.id,
                    wrapped_queue_key=sealing.wrap_key(private, holder_public, context),
                )
            )
            await record(
                session,
                self.admin.username,
                "queue_created",
                queue_id=queue.id,
                commune=commune_code,
            )
            queue_id = queue.id
        self.admin.queue_keys[queue_id] = private
        return queue_id

    # --- accounts ------------------------------------------------------------------------

    async def create_account(
        self,
        username: str,
        display_name: str,
        role: str,
        password: str,
        queue_ids: list[int],
    ) -> int:
        """A new account of the province, member of the given queues (keys the admin
        holds); returns its id. The password opens its private key, as at every login."""
        if role not in ROLES:
            raise AdminRefused("role")
        signer = require_signer(self._signer)
        private, public = sealing.new_keypair()
        locked = await asyncio.to_thread(sealing.lock_private_key, private, password, self._kdf)
        async with self._db.sessions.begin() as session:
            queues = [await self._queue(session, queue_id) for queue_id in dict.fromkeys(queue_ids)]
            keys = {queue.id: self._held_key(queue) for queue in queues}
            if await session.scalar(select(Officer.id).where(Officer.username == username)):
                raise AdminRefused("username_taken")
            officer = Officer(
                username=username,
                display_name=display_name,
                role=role,
                province_code=self.province_code,
                public_key=public,
                locked_private_key=locked,
                active=True,
                created_at=datetime.now(UTC),
            )
            session.add(officer)
            await session.flush()
            signer.certify(officer)
            await record(
                session,
                self.admin.username,
                "account_created",
                officer=username,
                role=role,
                queues=sorted(keys),
            )
            for queue_id, key in keys.items():
                session.add(
                    QueueMember(
                        queue_id=queue_id,
                        officer_id=officer.id,
                        wrapped_queue_key=sealing.wrap_key(
                            key, public, _queue_wrap_context(queue_id)
                        ),
                    )
                )
                await record(
                    session,
                    self.admin.username,
                    "queue_granted",
                    queue_id=queue_id,
                    officer=username,
                )
            return officer.id

    async def grant(self, officer_id: int, queue_id: int) -> bool:
        """Make an account a member of a queue; False when it already was."""
        async with self._db.sessions.begin() as session:
            officer = await self._officer(session, officer_id)
            queue = await self._queue(session, queue_id)
            key = self._held_key(queue)
            if await session.get(QueueMember, (queue.id, officer.id)) is not None:
                return False
            session.add(
                QueueMember(
                    queue_id=queue.id,
                    officer_id=officer.id,
                    wrapped_queue_key=sealing.wrap_key(
                        key, self._verifier.check(officer), _queue_wrap_context(queue.id)
                    ),
                )
            )
            await record(
                session,
                self.admin.username,
                "queue_granted",
                queue_id=queue.id,
                officer=officer.username,
            )
            return True

    async def revoke(self, officer_id: int, queue_id: int) -> bool:
        """End an account's membership of a queue; False when it was not a member."""
        async with self._db.sessions.begin() as session:
            officer = await self._officer(session, officer_id)
            queue = await self._queue(session, queue_id)
            removed = await session.execute(
                delete(QueueMember).where(
                    QueueMember.queue_id == queue.id, QueueMember.officer_id == officer.id
                )
            )
            if not getattr(removed, "rowcount", 0):
                return False
            await record(
                session,
                self.admin.username,
                "queue_revoked",
                queue_id=queue.id,
                officer=officer.username,
            )
            return True

    async def set_active(self, officer_id: int, active: bool) -> bool:
        """Deactivate (no login, no API token) or reactivate an account; False when it
        already was so."""
        async with self._db.sessions.begin() as session:
            officer = await self._officer(session, officer_id)
            if officer.id == self.admin.officer_id and not active:
                raise AdminRefused("self")
            if officer.active == active:
                return False
            officer.active = active
            await record(
                session,
                self.admin.username,
                "account_reactivated" if active else "account_deactivated",
                officer=officer.username,
            )
            return True

    async def reset_totp(self, officer_id: int) -> None:
        """Forget the account's two-step login and recovery codes: the person sets it up
        again at their next sign-in (with their password)."""
        async with self._db.sessions.begin() as session:
            officer = await self._officer(session, officer_id)
            if officer.id == self.admin.officer_id:
                raise AdminRefused("self")
            officer.totp_wrapped = None
            officer.totp_last_step = 0
            officer.recovery_codes = None
            await record(session, self.admin.username, "totp_reset", officer=officer.username)

    async def unlock(self, officer_id: int) -> bool:
        """Clear the lock after failed logins; False when the account was not locked."""
        async with self._db.sessions.begin() as session:
            officer = await self._officer(session, officer_id)
            if officer.locked_until is None and officer.failed_logins == 0:
                return False
            officer.failed_logins = 0
            officer.locked_until = None
            await record(session, self.admin.username, "account_unlocked", officer=officer.username)
            return True


def _fingerprint(public: bytes) -> str:
    try:
        return sealing.fingerprint(public)
    except ValueError:  # not a key at all: shown as such, never used
        return "?"


def _account(
    officer: Officer, queue_ids: tuple[int, ...], now: datetime, verifier: KeyVerifier
) -> Account:
    locked_until = utc(officer.locked_until) if officer.locked_until else None
    return Account(
        officer_id=officer.id,
        username=officer.username,
        display_name=officer.display_name,
        role=officer.role,
        province_code=officer.province_code,
        active=officer.active,
        totp_enrolled=officer.totp_wrapped is not None,
        locked_until=locked_until if locked_until is not None and locked_until > now else None,
        failed_logins=officer.failed_logins,
        queue_ids=queue_ids,
        created_at=utc(officer.created_at),
        fingerprint=_fingerprint(officer.public_key),
        certified=verifier.verifies(officer),
    )
