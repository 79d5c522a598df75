"""Flood control: a chat sending 50 messages a second is slowed down with one polite message,
its extra messages change nothing, it recovers after a pause, and other chats never notice.

The conversation's :class:`~handlers.flood.FloodControl` gets a hand-driven clock, so the
tests do not depend on how fast the machine is. The latency side (other chats' p99 under a
flood) is measured by ``bench/flood.py``, not here."""

from __future__ import annotations

import asyncio

import pytest

from bot.bootstrap import App
from handlers.flood import FloodControl, Verdict
from tests.dialog import Chat, english_chat

SLOW_DOWN_EN = "You are sending messages very fast; please wait a moment."
SLOW_DOWN_VI = "Bạn đang gửi tin nhắn quá nhanh; xin vui lòng chờ một lát."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: App) -> Clock:
    """The app's flood control at 5 messages/s, burst 10, on a clock the test moves."""
    hand = Clock()
    app.conversation.flood = FloodControl(per_second=5, burst=10, notice_seconds=5, clock=hand)
    return hand


async def step_of(app: App, chat: Chat) -> str:
    state = await app.states.load(await app.conversation.chat_keys(chat.key))
    assert state is not None
    return str(state["step"])


# --- the bucket on its own ------------------------------------------------------------------


def test_the_bucket_allows_a_burst_then_the_rate_and_tells_once_per_interval() -> None:
    clock = Clock()
    flood = FloodControl(per_second=5, burst=10, notice_seconds=5, clock=clock)
    verdicts = [flood.check(b"a") for _ in range(50)]
    assert verdicts[:10] == [Verdict.ALLOW] * 10
    assert verdicts[10] is Verdict.NOTIFY
    assert verdicts[11:] == [Verdict.DROP] * 39
    clock.now += 0.2  # one token back
    assert [flood.check(b"a") for _ in range(2)] == [Verdict.ALLOW, Verdict.DROP]
    clock.now += 5  # the bucket is full again and the notice may be repeated
    assert [flood.check(b"a") for _ in range(11)] == [Verdict.ALLOW] * 10 + [Verdict.NOTIFY]
    assert flood.check(b"b") is Verdict.ALLOW, "another chat has its own bucket"


def test_the_buckets_are_bounded_least_recently_seen_first() -> None:
    flood = FloodControl(per_second=1, burst=1, max_chats=3, clock=Clock())
    for key in (b"a", b"b", b"c"):
        assert flood.check(key) is Verdict.ALLOW
    assert flood.check(b"a") is Verdict.NOTIFY  # "a" is now the most recently seen
    assert flood.check(b"d") is Verdict.ALLOW
    assert len(flood) == 3
    assert flood.check(b"b") is Verdict.ALLOW, "b was dropped, so it starts afresh"
    assert flood.check(b"a") is Verdict.DROP, "a was kept"
    for n in range(10_000):
        flood.check(n.to_bytes(4, "big"))
    assert len(flood) == 3


def test_zero_per_second_turns_it_off() -> None:
    flood = FloodControl(per_second=0, burst=1, clock=Clock())
    assert {flood.check(b"a") for _ in range(1000)} == {Verdict.ALLOW}


def test_the_settings_reach_the_conversation(app: App) -> None:
    flood = app.conversation.flood
    assert (flood.per_second, flood.burst) == (
        app.settings.flood_per_second,
        app.settings.flood_burst,
    )
    assert flood.enabled


# --- through the conversation ---------------------------------------------------------------


async def test_a_flooding_chat_is_slowed_down_politely_and_others_are_not(
    app: App, clock: Clock
) -> None:
    flooder = await english_chat(app)  # 2 of its 10 tokens
    assert await step_of(app, flooder) == "menu"
    other = Chat(app)

    async def flood() -> list[list[str]]:
        # 50 "send a tip" presses at once: only the first 8 fit in what is left of the burst.
        sent = [flooder.send("1") for _ in range(50)]
        return [[r.text for r in replies] for replies in await asyncio.gather(*sent)]

    async def chat_normally() -> None:
        await other.talk(
            [
                ("/start", "Hello! This is an anonymous"),
                ("[English]", "What would you like to do?"),
                ("/tobao", "16-digit receipt"),
                ("[Continue]", "what is the tip about"),
            ]
        )

    answers, _ = await asyncio.gather(flood(), chat_normally())
    throttled = answers[8:]
    assert all(SLOW_DOWN_EN not in texts for texts in answers[:8])
    assert throttled.count([SLOW_DOWN_EN]) == 1, "told once, not 42 times"
    assert throttled.count([]) == len(throttled) - 1, "the rest get no reply at all"
    assert await step_of(app, other) == "tip.category", "the other chat was not slowed down"

    # Nothing from the throttled messages is stored: "/tobao" would start a tip.
    before = await step_of(app, flooder)
    for _ in range(20):
        assert await flooder.send("/tobao") == []
    assert await step_of(app, flooder) == before

    # After a pause it is answered again, from where it was.
    clock.now += 2
    await flooder.send("help")
    assert SLOW_DOWN_EN not in flooder.text
    assert await step_of(app, flooder) == before


async def test_the_notice_is_repeated_at_most_once_per_interval(app: App, clock: Clock) -> None:
    chat = Chat(app)
    replies = [await chat.send("/start") for _ in range(50)]
    notices = [n for n, r in enumerate(replies) if r and r[0].text == SLOW_DOWN_VI]
    assert notices == [10], "a new chat is told in the default language, Vietnamese"
    clock.now += 1  # 5 tokens back, but the notice was given a second ago
    replies = [await chat.send("/start") for _ in range(20)]
    assert sum(1 for r in replies if r and SLOW_DOWN_VI not in r[0].text) == 5
    assert sum(1 for r in replies if r and r[0].text == SLOW_DOWN_VI) == 0
    clock.now += 5
    replies = [await chat.send("/start") for _ in range(20)]
    assert [r[0].text for r in replies if r].count(SLOW_DOWN_VI) == 1


async def test_a_throttled_chat_is_answered_in_the_language_it_chose(
    app: App, clock: Clock
) -> None:
    chat = await english_chat(app)
    replies = [await chat.send("menu") for _ in range(10)]
    assert replies[-1] == [] and replies[-2][0].text == SLOW_DOWN_EN
