"""Delivering campaign messages: against the fake Telegram Bot API (rate limits, 429, 403,
5xx) and with a recording sender and a hand-moved clock (quiet hours, pause, cancel)."""

from __future__ import annotations

import time
from collections import Counter

from pydantic import SecretStr

from bot.bootstrap import App
from bot.campaigns.runtime import telegram_sender
from bot.campaigns.service import CampaignService
from bot.config import Settings
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
from tests.conftest import HANOI
from tests.fakes.telegram_api import FakeTelegram


def via_fake(settings: Settings, fake: FakeTelegram) -> Settings:
    return settings.model_copy(
        update={"telegram_token": SecretStr(fake.token), "telegram_api_base": fake.base_url}
    )


async def loaded(app: App, clock: Clock, *messages: dict[str, object]) -> CampaignService:
    campaigns = service(app, clock)
    await campaigns.load(campaign(*messages))  # type: ignore[arg-type]
    return campaigns


def per_chat(fake: FakeTelegram) -> Counter[int]:
    """Messages each chat received."""
    return Counter(int(c.params["chat_id"]) for c in fake.calls_of("sendMessage"))


async def test_each_subscriber_gets_each_message_once_within_the_limits(
    app: App, settings: Settings, fake: FakeTelegram
) -> None:
    fake.limit_rates(per_bot=60, per_chat=1)
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(
        app, clock, message("one", yearly="06-26 09:00"), message("two", yearly="06-26 10:00")
    )
    await add_subscribers(app, range(100, 140), locale="en")
    first, second = await campaigns.messages()
    await campaigns.send_now(first.id)
    await campaigns.send_now(second.id)  # the same 40 chats get two messages at once
    sending = broadcaster(
        app,
        {"telegram": telegram_sender(via_fake(settings, fake))},
        clock,
        per_second=50,
        chat_interval=1.0,
    )
    started = time.monotonic()
    try:
        assert await sending.drain() == 80
    finally:
        await sending.channels["telegram"].sender.close()
    elapsed = time.monotonic() - started
    assert fake.rate_limited == 0 and not fake.calls_of("sendMessage", 429)
    assert set(per_chat(fake).values()) == {2} and len(per_chat(fake)) == 40
    assert elapsed >= 80 / 50 - 0.3  # the bucket really paced the sends
    assert fake.sent(100)[0].html == "<b>one</b>: English text"
    assert [m.state for m in await campaigns.messages()] == ["scheduled", "scheduled"]
    assert [s.counts for s in await campaigns.status()] == [{"telegram": {"sent": 40}}] * 2


async def test_a_429_pauses_the_whole_channel_for_retry_after(
    app: App, settings: Settings, fake: FakeTelegram
) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(app, clock, message("one", yearly="06-26 09:00"))
    await add_subscribers(app, range(1, 13))
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)
    fake.fail("sendMessage", 429, times=1, retry_after=2)
    sending = broadcaster(
        app, {"telegram": telegram_sender(via_fake(settings, fake))}, clock, batch=1
    )
    try:
        await sending.drain()
        while (await campaigns.progress(row.id, 2026)).get("sent", 0) < 12:
            clock.advance(seconds=2)  # the delivery that met the 429 is due again later
            await sending.drain()
    finally:
        await sending.channels["telegram"].sender.close()
    calls = fake.calls_of("sendMessage", None)
    limited = [i for i, c in enumerate(calls) if c.status == 429]
    assert len(limited) == 1, "no 429 beyond the scripted one"
    after = calls[limited[0] + 1]
    assert after.at - calls[limited[0]].at >= 1.9, "nothing was sent during retry_after"
    delivered = Counter(int(c.params["chat_id"]) for c in calls if c.status == 200)
    assert delivered == Counter(range(1, 13)), "everyone once, the rate-limited one included"


async def test_a_user_who_blocked_the_bot_is_unsubscribed(
    app: App, settings: Settings, fake: FakeTelegram
) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(
        app, clock, message("one", yearly="06-26 09:00"), message("two", yearly="06-26 10:00")
    )
    await add_subscribers(app, range(1, 6))
    fake.fail("sendMessage", 403, times=1, chat_id=3)
    first, second = await campaigns.messages()
    await campaigns.send_now(first.id)
    sending = broadcaster(app, {"telegram": telegram_sender(via_fake(settings, fake))}, clock)
    try:
        await sending.drain()
        assert (await campaigns.progress(first.id, 2026)) == {"sent": 4, "blocked": 1}
        subscriber = await app.subscriptions.get("tg:3")
        assert subscriber is not None and not subscriber.active
        # The next message does not even try them.
        assert (await campaigns.send_now(second.id)).added == 4
        await sending.drain()
    finally:
        await sending.channels["telegram"].sender.close()
    assert len(fake.calls_of("sendMessage", 403)) == 1
    assert sum(1 for c in fake.calls_of("sendMessage", None) if c.params["chat_id"] == 3) == 1


async def test_server_errors_are_retried_with_backoff_then_given_up(
    app: App, settings: Settings, fake: FakeTelegram
) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(app, clock, message("one", yearly="06-26 09:00"))
    await add_subscribers(app, range(1, 4))
    fake.fail("sendMessage", 500, times=1, chat_id=1)  # recovers on the second try
    fake.fail("sendMessage", 502, times=10, chat_id=2)  # never recovers
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)
    sending = broadcaster(
        app,
        {"telegram": telegram_sender(via_fake(settings, fake))},
        clock,
        max_attempts=3,
        backoff_seconds=60,
    )
    try:
        await sending.drain()
        assert await campaigns.progress(row.id, 2026) == {"sent": 1, "pending": 2}
        clock.advance(seconds=59)
        assert await sending.drain() == 0  # not before the backoff
        clock.advance(seconds=1)
        await sending.drain()
        assert await campaigns.progress(row.id, 2026) == {"sent": 2, "pending": 1}
        clock.advance(seconds=119)
        assert await sending.drain() == 0  # the second wait is twice as long
        clock.advance(seconds=1)
        await sending.drain()
    finally:
        await sending.channels["telegram"].sender.close()
    assert await campaigns.progress(row.id, 2026) == {"sent": 2, "failed": 1}
    assert len([c for c in fake.calls_of("sendMessage", None) if c.params["chat_id"] == 2]) == 3
    assert (await campaigns.messages())[0].state == "scheduled"


async def test_quiet_hours_hold_messages_until_seven(app: App) -> None:
    clock = Clock(vn(2026, 6, 26, 22, 15))
    campaigns = await loaded(app, clock, message("late", yearly="06-26 09:00"))
    await add_subscribers(app, range(1, 6), quiet_hours=True)
    await add_subscribers(app, range(6, 11), quiet_hours=False)
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)
    sender = RecordingSender()
    sending = broadcaster(app, {"telegram": sender}, clock)
    await sending.drain()
    assert sorted(address for address, _ in sender.sent) == sorted(f"tg:{n}" for n in range(6, 11))
    assert await campaigns.waiting(row.id, 2026) == 5
    clock.now = vn(2026, 6, 27, 6, 59)
    assert await sending.drain() == 0
    clock.now = vn(2026, 6, 27, 7, 0)
    assert await sending.drain() == 5
    assert Counter(address for address, _ in sender.sent) == Counter(
        f"tg:{n}" for n in range(1, 11)
    )


async def test_pause_holds_resume_continues_without_repeats(app: App) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(app, clock, message("one", yearly="06-26 09:00"))
    await add_subscribers(app, range(1, 21))
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)

    class PausingSender(RecordingSender):
        async def send(self, address: str, part: str) -> object:
            if len(self.sent) == 4:
                await campaigns.pause(row.id)  # a communicator presses pause
            return await super().send(address, part)

    sender = PausingSender()
    sending = broadcaster(app, {"telegram": sender}, clock, batch=5)
    await sending.drain()
    assert len(sender.sent) == 5, "the batch under way finishes, nothing more"
    assert (await campaigns.messages())[0].state == "paused"
    assert await sending.drain() == 0
    assert await campaigns.resume(row.id) == "sending"
    await sending.drain()
    assert Counter(a for a, _ in sender.sent) == Counter(f"tg:{n}" for n in range(1, 21))
    assert (await campaigns.messages())[0].state == "scheduled"


async def test_cancel_skips_what_was_not_sent(app: App) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(app, clock, message("one", yearly="06-26 09:00"))
    await add_subscribers(app, range(1, 11))
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)
    assert await campaigns.cancel(row.id) == 10
    sender = RecordingSender()
    assert await broadcaster(app, {"telegram": sender}, clock).drain() == 0
    assert sender.sent == []
    assert await campaigns.progress(row.id, 2026) == {"skipped": 10}
    [message_row] = await campaigns.messages()
    assert (message_row.state, message_row.due_at) == ("cancelled", None)
    assert await campaigns.run_due() == []
    # Resuming a cancelled message schedules its next occurrence.
    assert await campaigns.resume(row.id) == "scheduled"
    assert (await campaigns.messages())[0].due_at == vn(2026, 6, 26, 9)


async def test_a_subscriber_who_stops_midway_is_skipped(app: App) -> None:
    clock = Clock(vn(2026, 6, 26, 8))
    campaigns = await loaded(app, clock, message("one", yearly="06-26 09:00"))
    for n in (1, 2, 3):
        await app.subscriptions.save(f"tg:{n}", Subscription(HANOI, None, "general", "vi"))
    [row] = await campaigns.messages()
    await campaigns.send_now(row.id)
    await app.subscriptions.stop("tg:2")
    sender = RecordingSender()
    await broadcaster(app, {"telegram": sender}, clock).drain()
    assert sorted(a for a, _ in sender.sent) == ["tg:1", "tg:3"]
    assert await campaigns.progress(row.id, 2026) == {"sent": 2, "skipped": 1}
