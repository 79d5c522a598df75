"""Per-chat conversation state, sealed under the chat and the epoch key of the day.

A row is found by ``chat_tag(epoch key, chat, "state")`` and its content is sealed with
``chat_state_key(epoch key, chat)``. The epoch keys live in memory or Redis, never on disk
(:mod:`storage.epochs`): a copy of the database and the data directory reveals neither
who is writing nor what, even to someone who can try every chat id. A row written under
the previous epoch's key is re-sealed under the current one when the chat next writes, and
the old row deleted; rows under older keys can no longer be opened and expire. Expiry is
rounded to the hour so it cannot be matched to a tip's time.
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
from storage.epochs import Keyring
from storage.models import ConversationState, DraftAttachment

__all__ = ["ChatKeys", "StateStore", "chat_keys", "hour_ceiling"]


def hour_ceiling(moment: datetime) -> datetime:
    """The next full hour at or after ``moment``."""
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ChatKeys:
    """The database key and the sealing key of one chat's state in one epoch, with those of
    the previous epoch (where a draft written before the last rotation is found)."""

    tag: bytes
    key: bytes
    previous: ChatKeys | None = None

    @classmethod
    def of(cls, secret: bytes, chat: str, previous: bytes | None = None) -> ChatKeys:
        """The keys of ``chat`` under the epoch key ``secret`` (and ``previous``)."""
        return cls(
            tag=sealing.chat_tag(secret, chat, "state"),
            key=sealing.chat_state_key(secret, chat),
            previous=None if previous is None else cls.of(previous, chat),
        )


async def chat_keys(keyring: Keyring, chat: str) -> ChatKeys:
    """The keys of ``chat``'s state now: under the current epoch key, then the previous one."""
    current = await keyring.current()
    previous = await keyring.previous()
    return ChatKeys.of(current.key, chat, None if previous is None else previous.key)


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
        """The chat's state, or None. A state found under the previous epoch's key is moved
        under the current one (with its photos) before it is returned."""
        async with self._db.engine.connect() as connection:
            row = (await connection.execute(self._load, {"tag": chat.tag})).first()
            if row is None and chat.previous is not None:
                old = (await connection.execute(self._load, {"tag": chat.previous.tag})).first()
                if old is not None and utc(old.expires_at) >= datetime.now(UTC):
                    await connection.rollback()
                    return await self._move(chat.previous, chat, old.content)
        if row is None or utc(row.expires_at) < datetime.now(UTC):
            return None
        data: dict[str, Any] = json.loads(sealing.open_sealed(chat.key, row.content, _CONTEXT))
        return data

    async def _move(self, old: ChatKeys, new: ChatKeys, content: bytes) -> dict[str, Any]:
        """Re-seal a state and its photos under the current epoch and delete the old rows."""
        data: dict[str, Any] = json.loads(sealing.open_sealed(old.key, content, _CONTEXT))
        async with self._db.sessions.begin() as session:
            blobs = (
                await session.scalars(
                    select(DraftAttachment.content)
                    .where(DraftAttachment.chat_tag == old.tag)
                    .order_by(DraftAttachment.id)
                )
            ).all()
            await session.execute(
                self._save,
                {
                    "tag": new.tag,
                    "content": sealing.seal(new.key, json.dumps(data).encode(), _CONTEXT),
                    "expires": hour_ceiling(datetime.now(UTC) + self._ttl),
                },
            )
            for blob in blobs:
                image = sealing.open_sealed(old.key, blob, _PHOTO_CONTEXT)
                session.add(
                    DraftAttachment(
                        chat_tag=new.tag, content=sealing.seal(new.key, image, _PHOTO_CONTEXT)
                    )
                )
            await session.execute(
                delete(DraftAttachment).where(DraftAttachment.chat_tag == old.tag)
            )
            await session.execute(
                delete(ConversationState).where(ConversationState.chat_tag == old.tag)
            )
        return data

    async def save(self, chat: ChatKeys, state: dict[str, Any]) -> None:
        sealed = sealing.seal(chat.key, json.dumps(state).encode(), _CONTEXT)
        expires = hour_ceiling(datetime.now(UTC) + self._ttl)
        async with self._db.engine.begin() as connection:
            await connection.execute(
                self._save, {"tag": chat.tag, "content": sealed, "expires": expires}
            )

    async def forget(self, chat: ChatKeys) -> None:
        """Delete the chat's state and draft photos (under this epoch and the previous)."""
        tags = [chat.tag] + ([chat.previous.tag] if chat.previous is not None else [])
        async with self._db.sessions.begin() as session:
            await session.execute(delete(DraftAttachment).where(DraftAttachment.chat_tag.in_(tags)))
            await session.execute(
                delete(ConversationState).where(ConversationState.chat_tag.in_(tags))
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
