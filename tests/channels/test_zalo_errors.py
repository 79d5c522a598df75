"""When Zalo says no: rate limits, blocked users, server errors, an unreachable API. The
user's input is never lost and the logs name no one."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.channels.zalo import ZaloClient
from bot.channels.zalo.errors import (
    ZaloNetworkError,
    ZaloNoUpdates,
    ZaloRateLimited,
    ZaloUnauthorized,
)
from tests.channels.conftest import ZaloServed
from tests.channels.zalo_user import TIP_UNTIL_WHERE_EN, ZaloUser
from tests.conftest import Police
from tests.fakes.zalo_api import FakeZalo


async def test_429_waits_retry_after_and_the_message_arrives_once(
    zalo_served: ZaloServed,
) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    fake.fail("sendMessage", 429, retry_after=1)
    assert "Choose your language" in await user.say("/start")
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [429, 200]
    assert len(fake.sent(user.id)) == 1


async def test_429_without_a_retry_after_backs_off(zalo_served: ZaloServed) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    fake.fail("sendMessage", 429, retry_after=None, times=2)
    assert "Choose your language" in await user.say("/start")
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [429, 429, 200]


async def test_a_user_who_blocked_the_bot_is_dropped_without_a_crash(
    zalo_served: ZaloServed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = zalo_served.fake
    blocked = ZaloUser(fake, name="Blocked Person")
    fake.fail("sendMessage", 403, chat_id=blocked.id, times=5)
    await blocked.say("/start")
    assert fake.sent(blocked.id) == []
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [403]  # no retry
    assert "blocked the bot" in caplog.text
    for private in (blocked.id, "Blocked Person"):
        assert private not in caplog.text
    other = ZaloUser(fake)  # the channel still works for everyone else
    assert "Choose your language" in await other.say("/start")


async def test_server_errors_are_retried_with_backoff(zalo_served: ZaloServed) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    fake.fail("sendMessage", 500, times=2)
    assert "Choose your language" in await user.say("/start")
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [500, 500, 200]


async def test_a_failed_send_does_not_lose_what_the_user_wrote(
    zalo_served: ZaloServed, police: Police
) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    await user.talk([*TIP_UNTIL_WHERE_EN, ("skip", "what happened")])
    fake.fail("sendMessage", 502, times=10)  # more than the retries
    assert await user.say("Two men unload boxes at night") == ""
    fake.recover()
    await user.talk([("done", "photos"), ("done", "Two men unload boxes at night")])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_api_is_retried_then_reported_without_the_token() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = ZaloClient(
        "42:secret-token", f"http://127.0.0.1:{closed_port()}", attempts=3, sleep=sleep
    )
    try:
        with pytest.raises(ZaloNetworkError) as raised:
            await client.send_message("abc", "hello")
    finally:
        await client.close()
    assert waits == [0.5, 1.0]  # exponential backoff between the three attempts
    assert "secret-token" not in str(raised.value)


async def test_a_rate_limit_longer_than_max_wait_is_not_waited(zalo_fake: FakeZalo) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    chat_id = zalo_fake.user()
    zalo_fake.fail("sendMessage", 429, retry_after=3600)
    client = ZaloClient(zalo_fake.token, zalo_fake.base_url, max_wait=60, sleep=sleep)
    try:
        with pytest.raises(ZaloRateLimited) as raised:
            await client.send_message(chat_id, "hello")
    finally:
        await client.close()
    assert raised.value.retry_after == 3600 and waits == []


async def test_a_wrong_token_and_an_empty_poll_are_told_apart(zalo_fake: FakeZalo) -> None:
    wrong = ZaloClient("42:not-the-token", zalo_fake.base_url)
    right = ZaloClient(zalo_fake.token, zalo_fake.base_url)
    try:
        with pytest.raises(ZaloUnauthorized):
            await wrong.get_me()
        with pytest.raises(ZaloNoUpdates):
            await right.get_updates(1)
    finally:
        await wrong.close()
        await right.close()
