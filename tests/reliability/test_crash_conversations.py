"""``kill -9`` while 50 people are sending tips through the web chat, then a restart on the
same data and port: every conversation goes on from its saved step and every tip arrives, once
(the keys of conversation state are in Redis, which outlives the process).

The clients behave like the web page: when a request fails because the server died, they
wait for it to come back. A message whose reply arrived before the kill was saved (the reply
is sent after the state is committed), so it is never sent again. A message in flight at the
kill may or may not have been saved: the client asks for help (which repeats the current
question and changes nothing) to see where the conversation stands, and sends the answer
again only if it was lost.

Short variant: one kill. ``TIPLINE_LONG_TESTS=1``: five kills. The kill points come from a
seeded random generator (``TIPLINE_CRASH_SEED``), printed with the results.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage.sealing import FAST_TEST_KDF
from tests.e2e.server import BIN, free_port
from tests.reliability.conftest import plant

LONG = os.environ.get("TIPLINE_LONG_TESTS") == "1"
KILLS = 5 if LONG else 1
CONVERSATIONS = 50
SEED = int(os.environ.get("TIPLINE_CRASH_SEED", "20261124"))
RECEIPT = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
OFFICER = "canbo.demo"  # reads Phường Ba Đình and Phường Hoàn Kiếm
METRICS = "crash-test-metrics-token"

# What the user sends, and the start of the bot's last reply: the question of the next step.
# "help" repeats the current question, which is how a client finds its saved step.
SCRIPT: list[tuple[str, str]] = [
    ("/start", "Xin chào!"),
    ("2", "What would you like to do?"),  # English
    ("1", "Before you start"),  # send a tip
    ("1", "What is the tip about?"),  # continue
    ("1", "In which province"),  # dealing
    ("ha noi", "Which commune or ward"),
    ("hoan kiem", "Which of these is it?"),
    ("1", "When did it happen?"),
    ("1", "Where exactly?"),
    ("Cổng sau chợ", "What happened?"),
    ("{story}", "Write more if you want"),
    ("done", "You can send up to 5 photos"),
    ("done", "Please check your tip"),
    ("send", "This is your receipt."),
]
SEND = len(SCRIPT) - 1


class ServerDied(Exception):
    pass


@dataclass
class Demo:
    """``tipline demo`` on a fixed port, killed and restarted on the same data directory."""

    directory: Path
    port: int = field(default_factory=free_port)
    generation: int = 0
    up: asyncio.Event = field(default_factory=asyncio.Event)
    process: subprocess.Popen[bytes] | None = None
    client: httpx.AsyncClient | None = None
    replies: int = 0
    kill_at: list[int] = field(default_factory=list)
    # The keys of conversation state in Redis, so conversations outlive the process.
    redis: dict[str, str] = field(default_factory=dict)
    killed_after: list[int] = field(default_factory=list)
    restarting: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TIPLINE_DATA_DIR": str(self.directory / "data"),
            "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
            "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
            "TIPLINE_DATABASE_URL": "",
            "TIPLINE_METRICS_TOKEN": METRICS,
            "COLUMNS": "200",
            **{f"TIPLINE_{name.upper()}": value for name, value in self.redis.items()},
        }

    @property
    def log(self) -> Path:
        return self.directory / "demo.log"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                [str(BIN / "tipline"), "demo", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        client = httpx.AsyncClient(base_url=self.url, timeout=30)
        for _ in range(600):
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if (await client.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the demo did not start:\n{self.log.read_text()[-3000:]}")
        old, self.client = self.client, client
        self.generation += 1
        self.up.set()
        if old is not None:
            await old.aclose()

    def received(self) -> None:
        """Count one reply; kill -9 when the next planned kill point is reached."""
        self.replies += 1
        if self.kill_at and self.replies >= self.kill_at[0] and self.up.is_set():
            self.kill_at.pop(0)
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)  # no await between here and up.clear()
            self.up.clear()
            self.killed_after.append(self.replies)
            self.restarting.set()

    async def restarter(self) -> None:
        while True:
            await self.restarting.wait()
            self.restarting.clear()
            assert self.process is not None
            await asyncio.to_thread(self.process.wait, 10)
            await self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)

    async def say(self, session: str, text: str) -> list[str]:
        """The texts of the replies, or :class:`ServerDied` when a kill interrupted it."""
        await self.up.wait()
        generation, client = self.generation, self.client
        assert client is not None
        try:
            response = await client.post("/api/chat", json={"session": session, "text": text})
        except httpx.TransportError as error:
            if self.up.is_set() and self.generation == generation:
                raise AssertionError(f"request failed without a kill: {error!r}") from error
            raise ServerDied from error
        assert response.status_code == 200, response.text
        self.received()
        return [r["text"] for r in response.json()["replies"]]


@dataclass
class Outcome:
    story: str
    receipt: str | None = None
    send_interrupted: bool = False  # "send" was in flight at a kill
    resent: int = 0
    found_saved: int = 0


async def converse(demo: Demo, number: int, rng: random.Random) -> Outcome:
    session = plant(f"crash{number:03d}-{rng.getrandbits(96):024x}", "web chat session")
    outcome = Outcome(
        story=plant(f"Crash test story {number:03d} {rng.getrandbits(32):08x}", "tip story")
    )
    await asyncio.sleep(rng.random() * 0.5)  # not all at the same step
    step, unsure = 0, False  # unsure: SCRIPT[step] was in flight at a kill
    while step < len(SCRIPT):
        said, expected = SCRIPT[step]
        try:
            if unsure and step > 0:
                [*_, question] = await demo.say(session, "help")
                if question.startswith(expected):  # it was saved before the kill
                    outcome.found_saved += 1
                    unsure = False
                    step += 1
                    continue
                assert question.startswith(SCRIPT[step - 1][1]), (
                    f"conversation {number} is neither before nor after step {step}: {question}"
                )
                outcome.resent += 1
            unsure = False
            texts = await demo.say(session, said.format(story=outcome.story))
        except ServerDied:
            unsure = True
            outcome.send_interrupted |= step == SEND
            continue
        assert texts[-1].startswith(expected), (
            f"conversation {number}, step {step} ({said!r}): expected {expected!r}, got {texts}"
        )
        if step == SEND:
            [outcome.receipt] = RECEIPT.findall("\n".join(texts))
            plant(outcome.receipt, "receipt")
            plant(outcome.receipt.replace(" ", ""), "receipt digits")
        step += 1
    return outcome


async def stories_the_officer_reads(data_dir: Path) -> Counter[str]:
    saved = json.loads((data_dir / "demo-credentials.json").read_text())
    password = next(a["password"] for a in saved["accounts"] if a["username"] == OFFICER)
    app = await bootstrap(
        Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=data_dir,
            kdf_memory_kib=FAST_TEST_KDF.memory_kib,
            kdf_iterations=FAST_TEST_KDF.iterations,
        )
    )
    try:
        officer = await app.police.unlock(OFFICER, password)
        stories: Counter[str] = Counter()
        for summary in await app.casework.list_tips(officer, limit=10_000):
            tip = await app.casework.open_tip(officer, summary.tip_id)
            stories.update(tip.content["description"])
        return stories
    finally:
        await app.close()


@pytest.mark.redis
async def test_kill_9_during_50_tip_conversations_then_restart(
    tmp_path: Path, redis_settings: dict[str, str]
) -> None:
    rng = random.Random(SEED)
    total = CONVERSATIONS * len(SCRIPT)
    demo = Demo(tmp_path, redis=redis_settings)
    # Kill points spread over the middle of the run, when conversations are mid-flow.
    demo.kill_at = sorted(rng.sample(range(total // 5, total * 4 // 5), KILLS))
    planned = list(demo.kill_at)
    await demo.start()
    restarter = asyncio.create_task(demo.restarter())
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(converse(demo, n, random.Random(rng.random())) for n in range(CONVERSATIONS))
            ),
            timeout=120,
        )
        # What a monitoring system would have scraped, kept for the canary sweep.
        assert demo.client is not None
        scraped = await demo.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"})
        assert scraped.status_code == 200
        (tmp_path / "metrics.txt").write_bytes(scraped.content)
    finally:
        restarter.cancel()
        demo.stop()
        if demo.client is not None:
            await demo.client.aclose()
    stories = await stories_the_officer_reads(tmp_path / "data")

    interrupted = [o for o in outcomes if o.send_interrupted]
    twice = [o.story for o in outcomes if stories[o.story] > 1]
    print(
        f"\nseed {SEED}: kill -9 after {demo.killed_after} replies (planned {planned}); "
        f"{sum(o.found_saved for o in outcomes)} in-flight messages had been saved, "
        f"{sum(o.resent for o in outcomes)} were resent; {len(interrupted)} sends interrupted; "
        f"{sum(1 for o in outcomes if o.receipt)} receipts; {sum(stories.values())} tips read, "
        f"{len(twice)} twice"
    )
    assert len(demo.killed_after) == KILLS, "every planned kill happened mid-run"
    assert demo.generation == KILLS + 1
    for outcome in outcomes:
        assert stories[outcome.story] >= 1, f"tip lost: {outcome}"
        assert stories[outcome.story] == 1, f"a tip filed twice: {outcome}"
        # A "send" in flight at a kill and sent again shows the receipt chosen before
        # filing, whether or not the first one had filed the tip.
        assert outcome.receipt is not None, outcome
    assert twice == []
    assert sum(stories.values()) == CONVERSATIONS
