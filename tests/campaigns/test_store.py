"""Campaigns, subscribers and deliveries in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage.models import Delivery
from storage.subscriptions import Subscription
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
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM

DA_NANG = 48


async def test_loading_a_campaign_file_is_an_upsert(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        clock = Clock(vn(2026, 5, 20, 9))
        campaigns = service(app, clock)
        first = campaign(
            message("launch", yearly="06-01 08:00"), message("day", yearly="06-26 07:00")
        )
        report = await campaigns.load(first)
        assert report.created == ["launch", "day"]
        listed = {m.key: m for m in await campaigns.messages()}
        assert listed["day"].due_at == vn(2026, 6, 26, 7) and listed["day"].state == "scheduled"

        again = await campaigns.load(first)
        assert again.unchanged == ["launch", "day"] and not again.created

        changed = campaign(
            message("launch", yearly="06-01 08:00", vi="Nội dung mới"),
            message("day", yearly="06-26 12:00"),
        )
        report = await campaigns.load(changed)
        assert report.updated == ["launch"] and report.rescheduled == ["day"]
        listed = {m.key: m for m in await campaigns.messages()}
        assert listed["day"].due_at == vn(2026, 6, 26, 12)
        assert listed["launch"].bodies["vi"] == "Nội dung mới"

        fewer = await campaigns.load(campaign(message("launch", yearly="06-01 08:00")))
        assert fewer.absent == ["day"]
        assert [m.key for m in await campaigns.find("test-campaign/day")] == ["day"]
    finally:
        await app.close()


async def test_materialisation_matches_the_audience_and_is_idempotent(
    backend_settings: Settings,
) -> None:
    app = await bootstrap(backend_settings)
    try:
        clock = Clock(vn(2026, 6, 26, 8))
        campaigns = service(app, clock)
        await add_subscribers(app, range(1, 11), group="students")  # Hà Nội, no commune
        await add_subscribers(app, range(11, 16), group="students", commune=BA_DINH)
        await add_subscribers(app, range(16, 19), group="students", commune=HOAN_KIEM)
        await add_subscribers(app, range(19, 23), group="parents", commune=BA_DINH)
        await add_subscribers(app, range(23, 26), group="students", province=DA_NANG)
        await add_subscribers(app, range(26, 28), group="students", commune=BA_DINH, locale="en")
        await app.subscriptions.save("tg:28", Subscription(HANOI, BA_DINH, "students", "vi"))
        await app.subscriptions.stop("tg:28")  # stopped subscribers get nothing
        await campaigns.load(
            campaign(
                message("everyone", yearly="06-26 09:00"),
                message("students-hanoi", yearly="06-26 10:00", groups=["students"], areas=[1]),
                message(
                    "ba-dinh",
                    yearly="06-26 11:00",
                    groups=["students", "parents"],
                    areas=[{"province": 1, "communes": [BA_DINH]}],
                ),
            )
        )
        by_key = {m.key: m for m in await campaigns.messages()}
        expected = {"everyone": 27, "students-hanoi": 20, "ba-dinh": 11}
        for key, count in expected.items():
            first = await campaigns.send_now(by_key[key].id)
            assert (first.added, first.occurrence) == (count, 2026), key
            second = await campaigns.send_now(by_key[key].id)
            assert second.added == 0, key
        # A subscriber who arrives later is added once, nobody twice.
        await add_subscribers(app, [99], group="parents", commune=BA_DINH)
        assert (await campaigns.send_now(by_key["ba-dinh"].id)).added == 1
        async with app.db.sessions() as session:
            per_message = dict(
                (
                    await session.execute(
                        select(Delivery.campaign_message_id, func.count()).group_by(
                            Delivery.campaign_message_id
                        )
                    )
                ).all()
            )
        assert per_message == {
            by_key["everyone"].id: 27,
            by_key["students-hanoi"].id: 20,
            by_key["ba-dinh"].id: 12,
        }
    finally:
        await app.close()


async def test_a_message_only_in_vietnamese_skips_english_readers(
    backend_settings: Settings,
) -> None:
    app = await bootstrap(backend_settings)
    try:
        campaigns = service(app, Clock(vn(2026, 6, 1, 9)))
        await add_subscribers(app, range(1, 4), locale="vi")
        await add_subscribers(app, range(4, 6), locale="en")
        only_vi = message("vi-only", yearly="06-02 09:00")
        only_vi["body"] = {"vi": "Chỉ có tiếng Việt"}
        await campaigns.load(campaign(only_vi))
        [row] = await campaigns.messages()
        assert (await campaigns.send_now(row.id)).added == 3
    finally:
        await app.close()


async def test_workers_deliver_each_message_exactly_once(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        clock = Clock(vn(2026, 6, 26, 8))
        campaigns = service(app, clock)
        await add_subscribers(app, range(1, 301))
        await campaigns.load(campaign(message("all", yearly="06-26 09:00")))
        [row] = await campaigns.messages()
        await campaigns.send_now(row.id)
        sender = RecordingSender()
        # Several workers at once: on PostgreSQL they claim with SKIP LOCKED.
        sending = broadcaster(app, {"telegram": sender}, clock, batch=7, workers=3)
        await sending.start()
        for _ in range(200):
            if (await campaigns.progress(row.id, 2026)).get("sent") == 300:
                break
            await asyncio.sleep(0.05)
        await sending.stop()
        counts = Counter(address for address, _ in sender.sent)
        assert len(counts) == 300 and set(counts.values()) == {1}
        assert (await campaigns.messages())[0].state == "scheduled"  # next year is due
    finally:
        await app.close()


@pytest.mark.parametrize("resend", [True, False], ids=["resend", "drop"])
async def test_deliveries_in_flight_when_a_worker_died(
    backend_settings: Settings, resend: bool
) -> None:
    """A worker claimed 10 deliveries and died before recording them. Once the lease is over
    they are sent again and counted as resent, or (drop) counted as uncertain and never sent."""
    app = await bootstrap(backend_settings)
    try:
        clock = Clock(vn(2026, 6, 26, 8))
        campaigns = service(app, clock)
        await add_subscribers(app, range(1, 31))
        await campaigns.load(campaign(message("all", yearly="06-26 09:00")))
        [row] = await campaigns.messages()
        await campaigns.send_now(row.id)
        dead = await app.campaigns.deliveries.claim((row.id, 2026), "telegram", 10, clock(), "dead")
        assert len(dead) == 10
        sender = RecordingSender()
        sending = broadcaster(app, {"telegram": sender}, clock, resend_in_flight=resend)
        assert await sending.drain() == 20, "the claimed ones wait for the lease"
        assert await sending.sweep() == 0, "a claim younger than the lease is left alone"
        clock.advance(seconds=sending.lease.total_seconds() + 1)
        assert await sending.sweep() == 10
        await sending.drain()
        counts = Counter(address for address, _ in sender.sent)
        progress = await campaigns.progress(row.id, 2026)
        if resend:
            assert len(counts) == 30 and set(counts.values()) == {1}
            assert progress == {"sent": 20, "resent": 10}
        else:
            assert len(counts) == 20
            assert progress == {"sent": 20, "uncertain": 10}
        assert (await campaigns.messages())[0].state == "scheduled", "the occurrence finished"
    finally:
        await app.close()


async def test_forgetting_keeps_the_figures_but_not_the_person(backend_settings: Settings) -> None:
    app = await bootstrap(backend_settings)
    try:
        clock = Clock(vn(2026, 6, 26, 8))
        campaigns = service(app, clock)
        await app.subscriptions.save("tg:1", Subscription(HANOI, None, "students", "vi"))
        await app.subscriptions.save("tg:2", Subscription(HANOI, None, "students", "vi"))
        await campaigns.load(
            campaign(message("a", yearly="06-26 09:00"), message("b", yearly="06-26 10:00"))
        )
        first, second = await campaigns.messages()
        await campaigns.send_now(first.id)
        await broadcaster(app, {"telegram": RecordingSender()}, clock).drain()
        await campaigns.send_now(second.id)  # pending when tg:1 asks to be forgotten
        assert await app.subscriptions.forget("tg:1")
        assert await app.subscriptions.get("tg:1") is None
        assert await campaigns.delivered_by_audience("test-campaign", 2026) == [
            ("students", HANOI, 2)
        ]
        async with app.db.sessions() as session:
            rows = (await session.execute(select(Delivery.subscriber_id, Delivery.status))).all()
        # tg:1's sent message stays counted, unlinked; its pending one is gone.
        assert Counter((s is None, status) for s, status in rows) == Counter(
            {(True, "sent"): 1, (False, "sent"): 1, (False, "pending"): 1}
        )
    finally:
        await app.close()
