"""Due times: yearly recurrence, the grace period for runs missed while down, and the
APScheduler jobs rebuilt from the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.bootstrap import App
from bot.campaigns.scheduler import CampaignScheduler
from bot.campaigns.service import CampaignService
from storage.models import CampaignMessage
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


async def test_a_yearly_message_goes_out_every_26_june_at_7(app: App) -> None:
    clock = Clock(vn(2026, 6, 20, 12))
    campaigns = service(app, clock)
    await campaigns.load(campaign(message("day", yearly="06-26 07:00")))
    await add_subscribers(app, range(1, 4))
    sender = RecordingSender()
    sending = broadcaster(app, {"telegram": sender}, clock)
    [row] = await campaigns.messages()
    assert row.due_at == datetime(2026, 6, 26, 0, 0, tzinfo=UTC)  # 07:00 in Vietnam

    clock.now = vn(2026, 6, 26, 6, 59)
    assert await campaigns.run_due() == []
    clock.now = vn(2026, 6, 26, 7, 0)
    [started] = await campaigns.run_due()
    assert (started.action, started.occurrence, started.added) == ("started", 2026, 3)
    await sending.drain()
    [row] = await campaigns.messages()
    assert (row.state, row.due_at) == ("scheduled", vn(2027, 6, 26, 7))

    clock.now = vn(2027, 6, 26, 7, 1)
    await add_subscribers(app, [4])
    [again] = await campaigns.run_due()
    assert (again.occurrence, again.added) == (2027, 4)
    await sending.drain()
    assert len(sender.sent) == 7  # three in 2026, four in 2027
    assert [(s.occurrence, s.counts) for s in await campaigns.status()] == [
        (2027, {"telegram": {"sent": 4}}),
        (2026, {"telegram": {"sent": 3}}),
    ]


async def test_a_run_missed_while_down_is_sent_within_the_grace_period(app: App) -> None:
    clock = Clock(vn(2026, 6, 25, 12))
    campaigns = service(app, clock, grace_hours=6)
    await campaigns.load(
        campaign(
            message("morning", yearly="06-26 07:00"),
            message("early", yearly="06-26 03:00"),
            message("once", at="2026-06-26T02:00"),
        )
    )
    await add_subscribers(app, range(1, 3))
    clock.now = vn(2026, 6, 26, 10)  # the service was down from before 02:00 until 10:00
    results = {r.message.key: r for r in await campaigns.run_due()}
    assert results["morning"].action == "started" and results["morning"].added == 2
    assert results["early"].action == "missed" and results["once"].action == "missed"
    by_key = {m.key: m for m in await campaigns.messages()}
    assert (by_key["early"].state, by_key["early"].occurrence) == ("missed", 2026)
    assert by_key["early"].due_at == vn(2027, 6, 26, 3)  # next year still goes out
    assert (by_key["once"].state, by_key["once"].due_at) == ("missed", None)
    missed = {s.message.key for s in await campaigns.status() if s.message.state == "missed"}
    assert missed == {"early", "once"}
    assert await campaigns.run_due() == []  # nothing happens twice


async def test_the_scheduler_wakes_due_messages_and_rebuilds_from_the_database(
    app: App,
) -> None:
    campaigns = CampaignService(
        app.campaigns.campaigns, app.campaigns.deliveries, grace=timedelta(hours=6)
    )
    await campaigns.load(
        campaign(message("soon", yearly="06-26 07:00"), message("later", yearly="06-27 07:00"))
    )
    await add_subscribers(app, range(1, 4))
    soon, later = await campaigns.messages()
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    async with app.db.sessions.begin() as session:
        await session.execute(
            update(CampaignMessage).where(CampaignMessage.id == soon.id).values(due_at=due)
        )
    woken: list[bool] = []
    scheduler = CampaignScheduler(campaigns, on_started=lambda: woken.append(True))
    await scheduler.start()
    try:
        assert scheduler.jobs() == {soon.id: due, later.id: later.due_at}
        for _ in range(100):
            if woken:
                break
            await asyncio.sleep(0.05)
        assert woken, "APScheduler woke the due message"
        [status] = await campaigns.status()
        assert status.total("pending") == 3
        # The job now waits for the next occurrence, as the database says.
        [row] = [m for m in await campaigns.messages() if m.id == soon.id]
        assert row.state == "sending" and row.due_at is not None and row.due_at > due
        for _ in range(100):
            if scheduler.jobs().get(soon.id) == row.due_at:
                break
            await asyncio.sleep(0.05)
        assert scheduler.jobs() == {soon.id: row.due_at, later.id: later.due_at}
    finally:
        scheduler.stop()
    # A new process builds the same jobs from the database.
    again = CampaignScheduler(campaigns)
    await again.start()
    try:
        assert again.jobs() == {m.id: m.due_at for m in await campaigns.messages()}
    finally:
        again.stop()
