"""Retiring the state secret of older versions, once, at start.

Older versions kept one secret (``data/state.secret`` or ``TIPLINE_STATE_SECRET``) that keyed
both conversation state and subscribers, in the data directory beside the database: a copy
of both linked chats to drafts, to tips filed and to subscriptions. Now conversation state
is keyed by rotating epoch keys (:mod:`storage.epochs`) and subscribers by a key of their
own outside the data directory. On the first start with the new version:

* every subscriber address is opened with the old secret and sealed again under the
  subscriber key (rows that already open with the new key are left alone);
* conversation states, draft photos and throttle rows are deleted: they were sealed under
  the old secret and the new keys cannot open them (users with an unsent draft start over);
* ``data/state.secret`` is overwritten and deleted.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, select

from bot.config import Settings
from storage import sealing
from storage.db import Database
from storage.models import ConversationState, DraftAttachment, Subscriber, Throttle
from storage.subscriptions import AddressBook

__all__ = ["LEGACY_SECRET_FILE", "retire_state_secret"]

log = logging.getLogger(__name__)

LEGACY_SECRET_FILE = "state.secret"  # noqa: S105 (a file name, not a secret)


async def retire_state_secret(settings: Settings, db: Database, addresses: AddressBook) -> bool:
    """Upgrade from the old state secret if one is found; True when there was one."""
    path = settings.data_dir / LEGACY_SECRET_FILE
    from_env = settings.legacy_state_secret is not None
    if from_env:
        assert settings.legacy_state_secret is not None
        secret = settings.legacy_state_secret.get_secret_value().encode()
    elif path.exists():
        secret = path.read_text().strip().encode()
    else:
        return False
    old = AddressBook(secret)
    moved = 0
    async with db.sessions.begin() as session:
        rows = (await session.scalars(select(Subscriber))).all()
        for row in rows:
            try:
                chat = old.open(row.address, row.lookup)
            except sealing.SealingError:
                continue  # already under the subscriber key (or not ours to open)
            row.lookup = addresses.lookup(chat)
            row.address = addresses.seal(chat, row.lookup)
            moved += 1
        await session.execute(delete(DraftAttachment))
        await session.execute(delete(ConversationState))
        await session.execute(delete(Throttle))
    if path.exists():
        _shred(path)
    log.warning(
        "upgrade: the old state secret was retired: %d subscriber(s) re-sealed under the "
        "subscriber key, unsent drafts and receipt counters deleted%s",
        moved,
        "; now remove TIPLINE_STATE_SECRET from the environment (each start with it set "
        "deletes unsent drafts again)"
        if from_env
        else f", {path} overwritten and deleted",
    )
    return True


def _shred(path: Path) -> None:
    """Overwrite the file in place, flush it to disk, then delete it."""
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.write(secrets.token_bytes(max(size, 64)))
        file.flush()
        os.fsync(file.fileno())
    path.unlink()
