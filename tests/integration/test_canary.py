"""Planted canaries never reach the database, its WAL or the logs; no table links a chat
to a tip."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import httpx
from sqlalchemy import inspect

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.web import create_web_app
from tests.conftest import OFFICER, OFFICER_PASSWORD, setup_hanoi

RECEIPT = re.compile(r"\d{4} \d{4} \d{4} \d{4}")


class WebChat:
    def __init__(self, client: httpx.AsyncClient, session: str) -> None:
        self.client = client
        self.session = session
        self.replies: list[dict] = []

    async def say(self, text: str | None = None, payload: str | None = None) -> str:
        body = {"session": self.session, "text": text, "payload": payload}
        response = await self.client.post("/api/chat", json=body)
        assert response.status_code == 200, response.text
        self.replies = response.json()["replies"]
        return "\n".join(r["text"] for r in self.replies)


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


async def test_canaries_appear_nowhere_at_rest(settings: Settings, tmp_path: Path) -> None:
    log_file = tmp_path / "tipline.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL and parameters
    canary = f"CANARY{uuid.uuid4().hex}"
    place, story, answer = f"{canary}-place", f"{canary}-story", f"{canary}-answer"
    question = f"{canary}-question"
    session = f"SESSION{uuid.uuid4().hex}"
    app = await bootstrap(settings)
    try:
        await setup_hanoi(app)
        web = create_web_app(app)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as client:
            chat = WebChat(client, session)
            for said in (
                "/start",
                "2",
                "1",
                "continue",
                "1",
                "Hà Nội",
                "Ba Đình",
                "1",
                "1",
                place,
                story,
                "done",
                "done",
            ):
                await chat.say(said)
            text = await chat.say("send")
            receipt = RECEIPT.search(text).group(0)  # type: ignore[union-attr]
            assert any(r["sensitive"] for r in chat.replies)

            officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
            [summary] = await app.casework.list_tips(officer)
            await app.casework.ask_reporter(officer, summary.tip_id, question)
            later = WebChat(client, f"OTHER{uuid.uuid4().hex}")
            await later.say("/start")
            await later.say("2")
            await later.say("/kiemtra")
            assert question in await later.say(receipt)
            await later.say("1")
            await later.say(answer)
            opened = await app.casework.open_tip(officer, summary.tip_id)
            assert opened.content["where"] == place
            assert [m.text for m in opened.messages] == [question, answer]

            # Mid-conversation too: a half-written tip is at rest in the database.
            draft = WebChat(client, f"DRAFT{uuid.uuid4().hex}")
            for said in (
                "/start",
                "2",
                "/tobao",
                "1",
                "1",
                "Hà Nội",
                "Ba Đình",
                "1",
                "1",
                f"{canary}-draft",
            ):
                await draft.say(said)

            secrets_to_hide = {
                "tip place": place,
                "tip story": story,
                "reporter answer": answer,
                "police question": question,
                "draft": f"{canary}-draft",
                "chat session": session,
                "other session": later.session,
                "receipt": receipt,
                "receipt digits": receipt.replace(" ", ""),
                "officer password": OFFICER_PASSWORD,
            }
            at_rest = files_of(settings.data_dir)
            assert "tipline.db" in at_rest and "tipline.db-wal" in at_rest
            at_rest["log"] = log_file.read_bytes()
            for where, content in at_rest.items():
                for name, value in secrets_to_hide.items():
                    assert value.encode() not in content, f"{name} found in {where}"
                    assert value.encode("utf-16-le") not in content, f"{name} in {where}"

        def columns(connection: object) -> dict[str, list[str]]:
            inspector = inspect(connection)
            return {
                t: [c["name"] for c in inspector.get_columns(t)]
                for t in inspector.get_table_names()
            }

        async with app.db.engine.connect() as connection:
            schema = await connection.run_sync(columns)
        tables_with_chat = {t for t, cols in schema.items() if "chat_tag" in cols}
        assert tables_with_chat == {"conversation_states", "draft_attachments"}
        assert not any("tip" in c for t in tables_with_chat for c in schema[t])
        for table, cols in schema.items():
            assert not {"chat_id", "user_id", "phone", "username_hash"} & set(cols), table
    finally:
        await app.close()
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    after_close = files_of(settings.data_dir)
    for where, content in after_close.items():
        for value in (place, story, answer, session, receipt.replace(" ", "")):
            assert value.encode() not in content, where
