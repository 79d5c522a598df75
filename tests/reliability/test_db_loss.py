"""PostgreSQL drops Tipline's connections mid-conversation (a failover, a restart, an idle
timeout): the next message is answered, or at worst gets the polite "what you entered is
kept" reply, the one after is answered by itself, and no tip is lost.

The shared server is never restarted: the test terminates only its own database's backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import event

from bot.bootstrap import App, bootstrap
from tests.conftest import OFFICER, OFFICER_PASSWORD, POSTGRES_URL, make_settings, setup_hanoi
from tests.dialog import Chat, english_chat
from tests.flow.helpers import send_tip, tip_to_review
from tests.reliability.conftest import assert_no_canaries_in_postgres, plant

pytestmark = pytest.mark.postgres

KEPT = "What you entered so far is kept"


@pytest.fixture
async def pg_app(postgres_database: str, tmp_path: Path) -> AsyncIterator[App]:
    app = await bootstrap(make_settings(tmp_path / "data", database_url=postgres_database))
    yield app
    await app.close()


async def terminate_connections(database_url: str) -> int:
    """End every backend of the test's own database, from a separate connection."""
    name = database_url.rpartition("/")[2]
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


async def step_of(app: App, chat: Chat) -> str:
    state = await app.states.load(await app.conversation.chat_keys(chat.key))
    assert state is not None
    return str(state["step"])


async def stories(app: App) -> list[str]:
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    opened = [
        await app.casework.open_tip(officer, t.tip_id)
        for t in await app.casework.list_tips(officer)
    ]
    return [line for tip in opened for line in tip.content["description"]]


async def test_lost_connections_are_replaced_and_nothing_is_lost(
    pg_app: App, postgres_database: str
) -> None:
    app = pg_app
    await setup_hanoi(app)
    await send_tip(app, plant("Filed before the connections were lost", "tip story"))
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
        ]
    )
    assert await step_of(app, chat) == "tip.commune"

    for round_ in range(3):
        assert await terminate_connections(postgres_database) >= 1, "the pool had a connection"
        first = await chat.send("help")  # repeats the question: changes nothing
        assert "which commune" in chat.text.casefold() or KEPT in chat.text, chat.text
        assert first, f"round {round_}: no reply at all"
        await chat.send("help")
        assert "which commune" in chat.text.casefold(), f"round {round_}: {chat.text}"

    await chat.talk(
        [
            ("ba dinh", "which of these"),
            ("1", "when"),
            ("1", "where"),
            ("Cổng trường", "what happened"),
            (plant("Filed after the connections were lost", "tip story"), "added"),
        ]
    )
    await terminate_connections(postgres_database)
    await chat.talk([("done", "photos"), ("done", "check your tip"), ("send", "receipt")])
    assert sorted(await stories(app)) == [
        "Filed after the connections were lost",
        "Filed before the connections were lost",
    ]
    await assert_no_canaries_in_postgres(postgres_database)


async def test_a_connection_lost_while_idle_in_the_pool_does_not_reach_the_user(
    pg_app: App, postgres_database: str
) -> None:
    """pool_pre_ping checks a pooled connection before use, so after a loss while idle the
    very next message is answered normally."""
    app = pg_app
    chat = await english_chat(app)
    await terminate_connections(postgres_database)
    await chat.send("/tobao")
    assert "16-digit receipt" in chat.text and KEPT not in chat.text
    assert await step_of(app, chat) == "tip.notice"


async def test_a_connection_lost_in_the_middle_of_a_step_gets_the_polite_reply(
    pg_app: App,
) -> None:
    """A connection that dies while in use cannot be saved by a ping: that one message gets
    "what you entered is kept", the chat stays at its step, and sending again works."""
    app = pg_app
    await setup_hanoi(app)
    chat = await tip_to_review(app, "Lost in the middle of sending")
    armed = [True]

    def die_while_filing(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        # The backend ends itself in the middle of filing the tip, as in a failover.
        if armed[0] and "recovery_keys" in statement:
            armed[0] = False
            return "SELECT pg_terminate_backend(pg_backend_pid())", ()
        return statement, parameters

    event.listen(app.db.engine.sync_engine, "before_cursor_execute", die_while_filing, retval=True)
    try:
        await chat.send("send")
        assert not armed[0], "the connection was ended"
        assert KEPT in chat.text, chat.text
        assert await step_of(app, chat) == "tip.review"
        await chat.send("send")
        assert "receipt" in chat.text, chat.text
    finally:
        event.remove(app.db.engine.sync_engine, "before_cursor_execute", die_while_filing)
    assert await stories(app) == ["Lost in the middle of sending"]
