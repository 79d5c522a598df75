"""Subscribers of awareness messages: who gets which campaign messages, and where.

A subscriber row is found by ``chat_tag(key, chat, "subscriber")`` and holds the chat
key sealed under :func:`~storage.sealing.subscriber_address_key`, bound to that tag. ``key``
is the subscriber key, a file of its own outside the data directory
(``TIPLINE_SUBSCRIBER_KEY_FILE``): the broadcaster can open an address to send, a copy of
the database and the data directory cannot. The row has no reference to any tip, and no tip
to it; the conversation state is keyed apart (:mod:`storage.state`). Stopping keeps the
settings (so "receive again" is one tap); forgetting deletes the row, and the deliveries
already made lose their link to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import sealing
from storage.db import Database
from storage.models import Delivery, Subscriber

__all__ = [
    "CHANNELS",
    "QUIET_END",
    "QUIET_START",
    "AddressBook",
    "NotPushable",
    "SubscriberStore",
    "Subscription",
    "channel_of",
    "deactivate",
]

CHANNELS: Final = {"tg": "telegram", "zalo": "zalo"}
"""Chat key prefixes of the platforms that can receive pushed messages, and their names."""

QUIET_START: Final = time(21, 0)
QUIET_END: Final = time(7, 0)
"""Quiet hours, local time: subscribers who keep them get nothing from 21:00 to 07:00."""

_PURPOSE = "subscriber"


def channel_of(chat: str) -> str | None:
    """The platform a chat key belongs to, if messages can be pushed to it (not the web chat)."""
    prefix, _, rest = chat.partition(":")
    return CHANNELS.get(prefix) if rest else None


class NotPushable(ValueError):
    """The chat is on a platform that cannot receive pushed messages (the web chat)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a subscriber chose. ``commune_code`` None means the whole province."""

    province_code: int
    commune_code: int | None
    group: str
    locale: str
    quiet_hours: bool = True
    active: bool = True


class AddressBook:
    """Seals and opens subscribers' chat addresses (the broadcaster holds one) under the
    subscriber key."""

    def __init__(self, subscriber_key: bytes) -> None:
        self._secret = subscriber_key
        self._key = sealing.subscriber_address_key(subscriber_key)

    def lookup(self, chat: str) -> bytes:
        """The row's tag for ``chat``."""
        return sealing.chat_tag(self._secret, chat, _PURPOSE)

    def seal(self, chat: str, lookup: bytes) -> bytes:
        return sealing.seal(self._key, chat.encode(), _context(lookup))

    def open(self, sealed: bytes, lookup: bytes) -> str:
        return sealing.open_sealed(self._key, sealed, _context(lookup)).decode()


def _context(lookup: bytes) -> bytes:
    # Bound to the row's tag: an address cannot be moved to another subscriber's row.
    return b"subscriber:address:" + lookup


def _today() -> date:
    return datetime.now(UTC).date()


class SubscriberStore:
    """Subscribe, change, stop and forget, by chat key."""

    def __init__(self, db: Database, subscriber_key: bytes) -> None:
        self._db = db
        self.addresses = AddressBook(subscriber_key)

    async def get(self, chat: str) -> Subscription | None:
        """The chat's subscription (active or stopped), or None."""
        async with self._db.sessions() as session:
            row = await session.scalar(
                select(Subscriber).where(Subscriber.lookup == self.addresses.lookup(chat))
            )
            return None if row is None else _subscription(row)

    async def save(self, chat: str, subscription: Subscription) -> None:
        """Create or update the chat's subscription (active unless ``subscription.active``
        is False, which keeps a stopped subscription stopped)."""
        channel = channel_of(chat)
        if channel is None:
            raise NotPushable(chat.partition(":")[0])
        lookup = self.addresses.lookup(chat)
        async with self._db.sessions.begin() as session:
            row = await session.scalar(
                select(Subscriber).where(Subscriber.lookup == lookup).with_for_update()
            )
            if row is None:
                row = Subscriber(
                    channel=channel,
                    address=self.addresses.seal(chat, lookup),
                    lookup=lookup,
                    created_at=_today(),
                )
                session.add(row)
            row.province_code = subscription.province_code
            row.commune_code = subscription.commune_code
            row.group = subscription.group
            row.locale = subscription.locale
            row.quiet_hours = subscription.quiet_hours
            if subscription.active or row.active is None:
                row.active = True
                row.deactivated_at = None
                row.reason = None

    async def stop(self, chat: str) -> bool:
        """Stop sending to the chat; False when it was not receiving messages."""
        lookup = self.addresses.lookup(chat)
        async with self._db.sessions.begin() as session:
            row = await session.scalar(select(Subscriber).where(Subscriber.lookup == lookup))
            if row is None or not row.active:
                return False
            await deactivate(session, row.id, "stopped")
            return True

    async def forget(self, chat: str) -> bool:
        """Delete the chat's subscription; False when there was none.

        Deliveries not yet sent are deleted; those already made stay in the figures with
        no link to anyone (the foreign key sets them NULL)."""
        lookup = self.addresses.lookup(chat)
        async with self._db.sessions.begin() as session:
            subscriber_id = await session.scalar(
                select(Subscriber.id).where(Subscriber.lookup == lookup)
            )
            if subscriber_id is None:
                return False
            await session.execute(
                delete(Delivery).where(
                    Delivery.subscriber_id == subscriber_id, Delivery.status == "pending"
                )
            )
            await session.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))
            return True

    async def count(self, *, active: bool | None = True) -> int:
        async with self._db.sessions() as session:
            query = select(func.count()).select_from(Subscriber)
            if active is not None:
                query = query.where(Subscriber.active.is_(active))
            return int(await session.scalar(query) or 0)

    async def counts_by_audience(self) -> list[tuple[int, str, str, int]]:
        """Active subscribers per (province, group, channel): for the console and reports."""
        async with self._db.sessions() as session:
            rows = await session.execute(
                select(
                    Subscriber.province_code,
                    Subscriber.group,
                    Subscriber.channel,
                    func.count(),
                )
                .where(Subscriber.active.is_(True))
                .group_by(Subscriber.province_code, Subscriber.group, Subscriber.channel)
                .order_by(Subscriber.province_code, Subscriber.group, Subscriber.channel)
            )
            return [(int(p), str(g), str(c), int(n)) for p, g, c, n in rows]


async def deactivate(session: AsyncSession, subscriber_id: int, reason: str) -> None:
    """Mark a subscriber inactive and skip the deliveries still waiting for them."""
    await session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(active=False, deactivated_at=_today(), reason=reason)
    )
    await session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status == "pending")
        .values(status="skipped", error=reason)
    )


def _subscription(row: Subscriber) -> Subscription:
    return Subscription(
        province_code=row.province_code,
        commune_code=row.commune_code,
        group=row.group,
        locale=row.locale,
        quiet_hours=row.quiet_hours,
        active=row.active,
    )
