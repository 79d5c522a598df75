"""Epoch keys and receipt counters in Redis: shared by every process of a deployment, gone
with their time, and refused when Redis would write them to disk."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage.epochs import RedisKeyring, RedisPersists
from tests.conftest import make_settings, setup_hanoi
from tests.dialog import Chat
from tests.flow.helpers import tip_to_review

pytestmark = pytest.mark.redis

DAY = 24 * 3600.0


@pytest.fixture
def shared(tmp_path: Path, redis_settings: dict[str, str]) -> Settings:
    return make_settings(tmp_path / "data", **redis_settings)  # type: ignore[arg-type]


async def test_two_processes_sharing_redis_read_each_others_drafts(shared: Settings) -> None:
    first = await bootstrap(shared)
    second = await bootstrap(shared)
    try:
        await setup_hanoi(first)
        chat = await tip_to_review(first, "Begun in one process")
        other = Chat(second, chat.key)
        await other.send("help")
        assert "Begun in one process" in other.text, "the other process opened the draft"
        await other.talk([("send", "receipt")])
    finally:
        await first.close()
        await second.close()


async def test_drafts_survive_a_restart_of_the_bot_while_redis_runs(shared: Settings) -> None:
    first = await bootstrap(shared)
    await setup_hanoi(first)
    chat = await tip_to_review(first, "Kept across the restart")
    await first.close()
    second = await bootstrap(shared)
    try:
        again = Chat(second, chat.key)
        await again.talk([("send", "receipt")])
    finally:
        await second.close()


async def test_wrong_receipts_are_counted_across_processes(shared: Settings) -> None:
    first = await bootstrap(shared)
    second = await bootstrap(shared)
    try:
        key = "tg:777001"
        await Chat(first, key).talk([("/start", "Choose"), ("2", "What would you like")])
        for n in range(first.conversation.limits.receipt_attempts):
            chat = Chat(first if n % 2 else second, key)
            await chat.talk([("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "No tip matches")])
        await Chat(first, key).talk(
            [("/kiemtra", "16-digit"), ("1234 5678 9012 3452", "Too many attempts")]
        )
    finally:
        await first.close()
        await second.close()


async def test_an_epoch_key_expires_when_it_stops_being_the_previous_one(
    redis_settings: dict[str, str],
) -> None:
    client = Redis.from_url(redis_settings["redis_url"], decode_responses=True)
    now = 1_800_000_000.0
    keyring = RedisKeyring(
        client, DAY, prefix=redis_settings["redis_key_prefix"], clock=lambda: now
    )
    try:
        current = await keyring.current()
        name = f"{redis_settings['redis_key_prefix']}state-key:{current.epoch}"
        expires_at = await client.expiretime(name)
        assert expires_at == int((current.epoch + 2) * DAY) + 1
        assert await keyring.previous() is None
    finally:
        await client.delete(name)
        await keyring.close()


@contextmanager
def own_redis(directory: Path, *arguments: str) -> Iterator[str]:
    """A redis-server of the test's own on a free port, started with ``arguments``."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *arguments],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                import time

                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def persisting_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis that snapshots to disk (as Redis does by default)."""
    with own_redis(tmp_path, "--save", "3600 1") as url:
        yield url


async def test_start_up_refuses_a_redis_that_writes_to_disk(
    tmp_path: Path, persisting_redis: str
) -> None:
    settings = make_settings(tmp_path / "data", redis_url=persisting_redis)
    with pytest.raises(RedisPersists, match="writes its data to disk"):
        await bootstrap(settings)
    client = Redis.from_url(persisting_redis, decode_responses=True)
    try:
        assert await client.keys("*") == [], "no key was created"
    finally:
        await client.aclose()
    await asyncio.sleep(0)


async def test_a_redis_that_hides_its_config_gets_a_clear_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with own_redis(tmp_path, "--save", "", "--rename-command", "CONFIG", "") as url:
        app = await bootstrap(make_settings(tmp_path / "data", redis_url=url))
        await app.close()
    assert "cannot check that it keeps the epoch keys off disk" in caplog.text
