"""Per-chat conversation state, sealed with a key only the chat itself can derive.

A row is found by ``chat_tag(secret, chat, "state")`` and its content is sealed with
``chat_state_key(secret, chat)``: a copy of the database alone reveals neither who is
writing nor what. Expiry is rounded to the hour so it cannot be matched to a tip's time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from storage import sealing
from storage.db import Database, utc
from storage.models import ConversationState, DraftAttachment, Throttle

__all__ = ["ChatKeys", "StateStore", "ThrottleStore", "hour_ceiling"]


def hour_ceiling(moment: datetime) -> datetime:
    """The next full hour at or after ``moment``."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ChatKeys:
    """The database key and the sealing key of one chat's state."""

    tag: bytes
    key: bytes

    @classmethod
    def of(cls, secret: bytes, chat: str) -> ChatKeys:
        return cls(
            tag=sealing.chat_tag(secret, chat, "state"),
            key=sealing.chat_state_key(secret, chat),
        )


_CONTEXT = b"conversation-state"
_PHOTO_CONTEXT = b"draft-photo"


class StateStore:
    """Loads, saves and forgets conversation state and draft photos."""

    # Load and save run once per message: two statements built once, executed on a plain
    # connection (no ORM session), and an upsert instead of read-then-write (which on SQLite
    # can also fail at once when another writer got in between the read and the write).

    def __init__(self, db: Database, ttl: timedelta) -> None:
        self._db = db
        self._ttl = ttl
        table = cast(Table, ConversationState.__table__)
        self._load = select(table.c.content, table.c.expires_at).where(
            table.c.chat_tag == bindparam("tag")
        )
        insert = sqlite.insert if db.is_sqlite else postgresql.insert
        upsert = insert(table).values(
            chat_tag=bindparam("tag"), content=bindparam("content"), expires_at=bindparam("expires")
        )
        self._save = upsert.on_conflict_do_update(
            index_elements=[table.c.chat_tag],
            set_={"content": upsert.excluded.content, "expires_at": upsert.excluded.expires_at},
        )

    async def load(self, chat: ChatKeys) -> dict[str, Any] | None:
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(self._load, {"tag": chat.tag})).first()
        if row is None or utc(row.expires_at) < datetime.now(UTC):
            return None
        data: dict[str, Any] = json.loads(sealing.open_sealed(chat.key, row.content, _CONTEXT))
        return data

    async def save(self, chat: ChatKeys, state: dict[str, Any]) -> None:
        sealed = sealing.seal(chat.key, json.dumps(state).encode(), _CONTEXT)
        expires = hour_ceiling(datetime.now(UTC) + self._ttl)
        async with self._db.engine.begin() as connection:
            await connection.execute(
                self._save, {"tag": chat.tag, "content": sealed, "expires": expires}
            )

    async def forget(self, chat: ChatKeys) -> None:
        """Delete the chat's state and draft photos."""
        async with self._db.sessions.begin() as session:
            await session.execute(
                delete(DraftAttachment).where(DraftAttachment.chat_tag == chat.tag)
            )
            await session.execute(
                delete(ConversationState).where(ConversationState.chat_tag == chat.tag)
            )

    async def add_photo(self, chat: ChatKeys, image: bytes) -> None:
        sealed = sealing.seal(chat.key, image, _PHOTO_CONTEXT)
        async with self._db.sessions.begin() as session:
            session.add(DraftAttachment(chat_tag=chat.tag, content=sealed))

    async def photo_count(self, chat: ChatKeys) -> int:
        async with self._db.sessions() as session:
            count = await session.scalar(
                select(func.count()).where(DraftAttachment.chat_tag == chat.tag)
            )
            return int(count or 0)

    async def photos(self, chat: ChatKeys) -> list[bytes]:
        async with self._db.sessions() as session:
            rows = await session.scalars(
                select(DraftAttachment.content)
                .where(DraftAttachment.chat_tag == chat.tag)
                .order_by(DraftAttachment.id)
            )
            return [sealing.open_sealed(chat.key, blob, _PHOTO_CONTEXT) for blob in rows]

    async def clear_photos(self, chat: ChatKeys) -> None:
        async with self._db.sessions.begin() as session:
            await session.execute(
                delete(DraftAttachment).where(DraftAttachment.chat_tag == chat.tag)
            )

    async def purge_expired(self) -> int:
        """Delete abandoned conversations; returns how many."""
        now = datetime.now(UTC)
        async with self._db.sessions.begin() as session:
            expired = select(ConversationState.chat_tag).where(ConversationState.expires_at < now)
            await session.execute(
                delete(DraftAttachment).where(DraftAttachment.chat_tag.in_(expired))
            )
            result = await session.execute(
                delete(ConversationState).where(ConversationState.expires_at < now)
            )
            return int(getattr(result, "rowcount", 0) or 0)


class ThrottleStore:
    """Fixed-window attempt counters, keyed by a purpose-specific hash of the chat."""

    def __init__(self, db: Database, secret: bytes) -> None:
        self._db = db
        self._secret = secret

    async def allow(
        self, chat: str, purpose: str, limit: int, window: timedelta
    ) -> tuple[bool, timedelta]:
        """Count one attempt; returns (allowed, time until the window resets)."""
        key = sealing.chat_tag(self._secret, chat, purpose)
        now = datetime.now(UTC)
        async with self._db.sessions.begin() as session:
            row = await session.get(Throttle, key, with_for_update=not self._db.is_sqlite)
            if row is None:
                session.add(Throttle(key=key, window_start=now, attempts=1))
                return True, window
            start = row.window_start.replace(tzinfo=UTC)
            if now - start >= window:
                row.window_start, row.attempts = now, 1
                return True, window
            row.attempts += 1
            return row.attempts <= limit, start + window - now

    async def reset(self, chat: str, purpose: str) -> None:
        key = sealing.chat_tag(self._secret, chat, purpose)
        async with self._db.sessions.begin() as session:
            await session.execute(delete(Throttle).where(Throttle.key == key))
