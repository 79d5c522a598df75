"""A stolen copy of the database and the data directory links no chat to anything.

Telegram and Zalo users file a tip, check a receipt (wrong, then right), leave a draft with
a canary sentence and subscribe to awareness messages, through the real channels against the
fake platform APIs. Then the attacker copies the database (the SQLite file with its WAL, or
every PostgreSQL table read through SQL) and every file of the data directory, the service
stops, and the attacker tries every chat id of a range holding those users, with every
secret found in the copy, through every derivation the code base has had: no draft, no
filing, no receipt check, no subscriber and no time finer than the hour comes out.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection

from bot.bootstrap import App
from bot.cli import CHATTY_LOGGERS
from bot.config import Settings
from storage import sealing
from storage.subscriptions import AddressBook
from tests.channels.conftest import (  # noqa: F401 (fixtures)
    Served,
    fake,
    served,
    zalo_fake,
    zalo_webhook,
)
from tests.channels.telegram_user import TIP_BY_TYPING, TelegramUser
from tests.channels.zalo_user import TIP_UNTIL_WHERE_EN, ZaloUser
from tests.conftest import Police, make_settings
from tests.fakes.zalo_api import FakeZalo

TELEGRAM_IDS = range(4000, 5000)
ZALO_IDS = [f"{n:020x}" for n in range(4000, 5000)]
CANARY = "CANARY-the-red-house-behind-the-market-sells-at-night"
PURPOSES = ("state", "receipt", "subscriber", "throttle", "draft", "*")
CONTEXTS = (b"conversation-state", b"draft-photo", b"chat-state")

SUBSCRIBE = [
    ("/dangky", "province or city do you live"),
    ("ha noi", "commune or ward"),
    ("ba dinh", "Which of these is it?"),
    ("1", "describes you best"),
    ("2", "which language"),
    ("english", "Quiet hours"),
    ("1", "check your subscription"),
    ("subscribe", "You are subscribed"),
]
TIP_REST = [
    ("Near the market", "what happened"),
    ("A story for the police", "added"),
    ("done", "photos"),
    ("done", "check your tip"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """The channel fixtures' settings, on SQLite and then on PostgreSQL."""
    if request.param == "sqlite":
        return make_settings(tmp_path / "data")
    return make_settings(tmp_path / "data", request.getfixturevalue("postgres_database"))


class Recorder(logging.Handler):
    """Every log record at INFO and above, as the service logs them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    root = logging.getLogger()
    handler, old_level = Recorder(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The service's own logging set-up (bot.cli.configure_logging) quiets these.
    chatty = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    for name in chatty:
        logging.getLogger(name).setLevel(logging.WARNING)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)
    for name, level in chatty.items():
        logging.getLogger(name).setLevel(level)


def dump(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as the attacker reads them."""
    tables = inspect(connection).get_table_names()
    return {
        table: [dict(row._mapping) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
        for table in tables
    }


DATETIME = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")


def moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and DATETIME.match(value):
        return datetime.fromisoformat(value)
    return None


def candidate_secrets(files: dict[str, bytes]) -> list[bytes]:
    """Every key-like thing in the copied files: raw, as text and hex-decoded."""
    found: set[bytes] = set()
    for content in files.values():
        found.add(content)
        stripped = content.strip()
        found.add(stripped)
        for word in re.findall(rb"[0-9a-fA-F]{32,}", content):
            found.add(word)
            found.add(bytes.fromhex(word.decode()[: len(word) // 2 * 2]))
    return [s for s in found if len(s) >= 16]


async def test_a_copy_of_the_database_and_data_dir_links_no_chat(
    served: Served,  # noqa: F811
    zalo_fake: FakeZalo,  # noqa: F811
    settings: Settings,
    police: Police,
    recorder: Recorder,
    tmp_path: Path,
) -> None:
    app: App = served.app
    async with app.db.engine.connect() as connection:
        before = await connection.run_sync(dump)
    filing_windows: list[tuple[float, float]] = []

    # Telegram: one files a tip, checks a wrong and the right receipt, and subscribes; one
    # leaves a draft with the canary.
    filer = TelegramUser(served.fake, 4321)
    await filer.talk([*TIP_BY_TYPING, *TIP_REST])
    started = datetime.now().timestamp()
    await filer.talk([("send", "receipt")])
    filing_windows.append((started, datetime.now().timestamp()))
    receipt = filer.receipt()
    await filer.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "No tip matches")])
    await filer.talk([("/kiemtra", "16-digit"), (receipt, "Status")])
    await filer.talk(SUBSCRIBE)
    drafter = TelegramUser(served.fake, 4567)
    await drafter.talk([*TIP_BY_TYPING, (CANARY, "what happened"), (CANARY, "added")])

    # Zalo: the same.
    async with zalo_webhook(app, zalo_fake, settings):
        zalo_filer = ZaloUser(zalo_fake, ZALO_IDS[321])
        await zalo_filer.talk([*TIP_UNTIL_WHERE_EN, *TIP_REST])
        started = datetime.now().timestamp()
        await zalo_filer.talk([("send", "receipt")])
        filing_windows.append((started, datetime.now().timestamp()))
        zalo_receipt = zalo_filer.receipt()
        await zalo_filer.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "No tip")])
        await zalo_filer.talk([("/kiemtra", "16-digit"), (zalo_receipt, "Status")])
        await zalo_filer.talk(SUBSCRIBE)
        zalo_drafter = ZaloUser(zalo_fake, ZALO_IDS[567])
        await zalo_drafter.talk([*TIP_UNTIL_WHERE_EN, (CANARY, "what happened")])

        # The theft, while the service runs.
        copied = tmp_path / "stolen"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(settings.data_dir, copied)
        async with app.db.engine.connect() as connection:
            stolen_tables = await connection.run_sync(dump)
    files = {p.name: p.read_bytes() for p in copied.rglob("*") if p.is_file()}
    if app.db.is_sqlite:
        # The attacker reads the copied file (and its WAL), not the live database.
        engine = create_engine(f"sqlite:///{copied / 'tipline.db'}")
        with engine.connect() as connection:
            stolen_tables = dump(connection)
        engine.dispose()
    await app.close()  # the service stops; nothing it held in memory is left

    assert stolen_tables["tips"] and stolen_tables["subscribers"]
    assert stolen_tables["conversation_states"], "drafts are at rest: the attack has a target"
    for name, content in files.items():
        assert CANARY.encode() not in content, name

    values: set[bytes] = set()
    blobs: list[bytes] = []
    for rows in stolen_tables.values():
        for row in rows:
            for value in row.values():
                if isinstance(value, bytes | memoryview):
                    values.add(bytes(value))
                    blobs.append(bytes(value))
    subscribers = stolen_tables["subscribers"]
    secrets = candidate_secrets(files)
    chats = [f"tg:{n}" for n in TELEGRAM_IDS] + [f"zalo:{z}" for z in ZALO_IDS]
    for secret in secrets:
        book = AddressBook(secret)
        for row in subscribers:
            with pytest.raises(sealing.CannotOpen):
                book.open(bytes(row["address"]), bytes(row["lookup"]))
        for chat in chats:
            for purpose in PURPOSES:
                tag = sealing.chat_tag(secret, chat, purpose)
                assert tag not in values, f"a row found for {chat} ({purpose})"
            key = sealing.chat_state_key(secret, chat)
            for blob in blobs:
                for context in CONTEXTS:
                    with pytest.raises(sealing.CannotOpen):
                        sealing.open_sealed(key, blob, context)
    assert not any(CANARY.encode() in blob for blob in blobs)

    # No time finer than the hour in anything written since the reporters came.
    for table, rows in stolen_tables.items():
        for row in rows:
            if row in before.get(table, []):
                continue  # the police's set-up, before any reporter wrote
            for column, value in row.items():
                when = moment(value)
                if when is not None:
                    assert (when.minute, when.second, when.microsecond) == (0, 0, 0), (
                        f"{table}.{column} = {value}"
                    )
    # No log line while a tip was being filed (uvicorn's access log is off in the service).
    for started, ended in filing_windows:
        during = [
            r.getMessage()
            for r in recorder.records
            if started <= r.created <= ended and not r.name.startswith("uvicorn.access")
        ]
        assert during == []
    assert not any("filed" in r.getMessage() for r in recorder.records)
