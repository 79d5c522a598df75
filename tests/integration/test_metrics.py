"""``GET /metrics``: off without a token, for the token's bearer only, counts what happened and
carries nothing about a person."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.bootstrap import App, bootstrap
from bot.campaigns.sending import SendOutcome
from bot.web import create_web_app
from storage import sealing
from tests.campaigns.helpers import (
    Clock,
    RecordingSender,
    add_subscribers,
    broadcaster,
    campaign,
    message,
    service,
    vn,
)
from tests.conftest import make_settings, setup_hanoi

TOKEN = "metrics-token-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def measured(tmp_path: Path) -> AsyncIterator[App]:
    settings = make_settings(tmp_path / "data").model_copy(
        update={"metrics_token": SecretStr(TOKEN)}
    )
    app = await bootstrap(settings)
    yield app
    await app.close()


def value(exposition: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    wanted = ",".join(f'{key}="{label}"' for key, label in sorted(labels.items()))
    series = f"{name}{{{wanted}}}" if labels else name
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_the_endpoint_is_off_without_a_token(app: App) -> None:
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers=BEARER)).status_code == 404


async def test_only_the_bearer_of_the_token_reads_them(measured: App) -> None:
    transport = httpx.ASGITransport(app=create_web_app(measured))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "tipline" not in refused.text
        answer = await client.get("/metrics", headers=BEARER)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "# HELP tipline_messages_total" in answer.text


async def test_messages_and_deliveries_are_counted_without_anything_personal(
    measured: App,
) -> None:
    app = measured
    await setup_hanoi(app)
    session = f"METRICS{uuid.uuid4().hex}"
    story = f"Metrics canary story {uuid.uuid4().hex}"
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as client:
        said = [
            "/start", "2", "/tobao", "1", "1", "ha noi", "ba dinh", "1", "1", "Chợ", story,
            "done", "done", "send",
        ]  # fmt: skip
        replies = ""
        for text in said:
            answer = await client.post("/api/chat", json={"session": session, "text": text})
            assert answer.status_code == 200
            replies = "\n".join(r["text"] for r in answer.json()["replies"])
        receipt = re.search(r"\d{4} \d{4} \d{4} \d{4}", replies)
        assert receipt is not None

        clock = Clock(vn(2026, 6, 26, 8))
        campaigns = service(app, clock)
        await add_subscribers(app, range(1, 4))
        await campaigns.load(campaign(message("day", yearly="06-26 09:00")))
        [row] = await campaigns.messages()
        await campaigns.send_now(row.id)
        sender = RecordingSender()
        sender.answers["tg:2"] = [SendOutcome("blocked", "403")]
        sending = broadcaster(app, {"telegram": sender}, clock)
        sending.metrics = app.metrics
        await sending.drain()

        text = (await client.get("/metrics", headers=BEARER)).text
    assert value(text, "tipline_messages_total", channel="webchat", result="answered") == len(said)
    assert value(text, "tipline_turn_seconds_count", channel="webchat") == len(said)
    assert "tipline_tips" not in text, "a count of tips would time each filing to a scrape"
    assert value(text, "tipline_deliveries_total", channel="telegram", outcome="sent") == 2
    assert value(text, "tipline_deliveries_total", channel="telegram", outcome="blocked") == 1
    for secret in (session, story, receipt.group(0), receipt.group(0).replace(" ", "")):
        assert secret not in text


async def test_no_turn_stands_out_by_the_receipt_key_derivation(tmp_path: Path) -> None:
    """Filing a tip and checking a receipt each derive keys with Argon2id (here about half a
    second): were those seconds timed, the one slow turn of a scrape would say when a tip was
    filed or a receipt checked. Every turn is counted, and none is that slow."""
    settings = make_settings(
        tmp_path / "data", metrics_token=SecretStr(TOKEN), kdf_memory_kib=131072, kdf_iterations=3
    )
    app = await bootstrap(settings)
    try:
        await setup_hanoi(app)
        started = time.perf_counter()
        sealing.derive_receipt_keys(sealing.new_receipt(), b"s" * 16, settings.kdf())
        derivation = time.perf_counter() - started
        bound = max(b for b in (0.05, 0.1, 0.25, 0.5, 1.0, 2.5) if b <= derivation / 2)
        session = f"TIMING{uuid.uuid4().hex}"
        transport = httpx.ASGITransport(app=create_web_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as client:
            said = [
                "/start", "2", "/tobao", "1", "1", "ha noi", "ba dinh", "1", "1", "Chợ",
                "A story", "done", "done", "send",
            ]  # fmt: skip
            for text in said:
                answer = await client.post("/api/chat", json={"session": session, "text": text})
                replies = "\n".join(r["text"] for r in answer.json()["replies"])
            receipt = re.search(r"\d{4} \d{4} \d{4} \d{4}", replies)
            assert receipt is not None
            for text in ("/kiemtra", receipt.group(0)):
                answer = await client.post("/api/chat", json={"session": session, "text": text})
            assert "Status" in answer.text
            text = (await client.get("/metrics", headers=BEARER)).text
    finally:
        await app.close()
    turns = len(said) + 2
    assert value(text, "tipline_turn_seconds_count", channel="webchat") == turns
    fast = value(text, "tipline_turn_seconds_bucket", channel="webchat", le=str(bound))
    assert fast == turns, f"a turn took longer than {bound} s (one derivation: {derivation:.2f} s)"
