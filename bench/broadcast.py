"""Broadcast figures: how fast the delivery pipeline drains, and how close it keeps to a rate.

    .venv/bin/python bench/broadcast.py [--subscribers 100000] [--seconds 20]
                                        [--postgres URL] [--only sqlite|postgres]
                                        [--materialise-only]

For each database (SQLite always, PostgreSQL when reachable) it inserts the subscribers,
then prints:

* materialisation: one INSERT … SELECT of a delivery per subscriber;
* pipeline, null sender, limits off: claim → open the sealed address → "send" → record,
  with a sender that answers at once (the pipeline's own speed);
* pipeline, fake Telegram, limits off: the same through aiogram and HTTP to the fake Bot
  API (``tests/fakes/telegram_api.py``) running in its own process;
* rate run: ``--seconds`` against the fake enforcing 30 msg/s per bot and 1 msg/s per chat
  (429 beyond), with Tipline's limit set to 30 msg/s: the achieved rate as a fraction of
  30 and the number of 429s;
* peak memory (maxrss of this process; the fake server is another process) after each
  phase. Importing aiogram alone adds about 130 MB; the pipeline itself holds one batch.

``--materialise-only`` stops after the materialisation (and its peak memory): the run for a
million subscribers (``--subscribers 1000000 --only postgres --materialise-only``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

from bot.bootstrap import App, bootstrap  # noqa: E402
from bot.campaigns.broadcaster import Broadcaster, ChannelLimits  # noqa: E402
from bot.campaigns.runtime import telegram_sender  # noqa: E402
from bot.campaigns.sending import NullSender, Sender  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.sealing import FAST_TEST_KDF  # noqa: E402
from tests.campaigns.helpers import add_subscribers, campaign, message  # noqa: E402
from tests.e2e.server import free_port  # noqa: E402
from tests.fakes.telegram_api import DEFAULT_TOKEN  # noqa: E402

LIMIT = 30.0
DEFAULT_POSTGRES = os.environ.get(
    "TIPLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def fake_telegram(*extra: str) -> Iterator[str]:
    """The fake Bot API in its own process; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--port", str(port), "--any-chat",
         *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_test/calls?method=getMe", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(10)


def send_calls(base: str) -> list[dict[str, float]]:
    """The fake's record of sendMessage calls: status and arrival time."""
    with urllib.request.urlopen(f"{base}/_test/calls?method=sendMessage", timeout=60) as answer:
        calls: list[dict[str, float]] = json.load(answer)
    return calls


@contextlib.asynccontextmanager
async def database(url: str | None, subscribers: int) -> AsyncIterator[App]:
    """A fresh Tipline with ``subscribers`` subscribers and three campaign messages."""
    with tempfile.TemporaryDirectory() as folder:
        drop = None
        if url is not None:
            url, drop = await _postgres_database(url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(folder),
            database_url=url or "",
            kdf_memory_kib=FAST_TEST_KDF.memory_kib,
            kdf_iterations=FAST_TEST_KDF.iterations,
        )
        app = await bootstrap(settings)
        try:
            started = time.perf_counter()
            await add_subscribers(app, range(1, subscribers + 1), batch=10_000)
            print(
                f"  {subscribers:,} subscribers inserted in {time.perf_counter() - started:.1f} s"
            )
            await app.campaigns.load(
                campaign(
                    message("null", yearly="06-26 07:00"),
                    message("fake", yearly="06-26 12:00"),
                    message("rate", yearly="06-26 19:30"),
                    slug="bench",
                )
            )
            yield app
        finally:
            await app.close()
            if drop is not None:
                await drop()


async def _postgres_database(url: str) -> tuple[str, object]:
    import asyncpg

    name = f"tipline_bench_{uuid.uuid4().hex[:10]}"
    admin = url.replace("postgresql+asyncpg", "postgresql")
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    return f"{url.rpartition('/')[0]}/{name}", drop


def broadcaster(
    app: App, sender: Sender, *, per_second: float | None, chat_interval: float | None
) -> Broadcaster:
    return Broadcaster(
        app.campaigns.campaigns,
        app.campaigns.deliveries,
        app.subscriptions.addresses,
        {"telegram": sender},
        limits={"telegram": ChannelLimits(per_second=per_second, chat_interval=chat_interval)},
        workers=1 if app.db.is_sqlite else 4,
        batch=500 if per_second is None else 100,
        poll_seconds=0.2,
    )


async def start(app: App, key: str) -> tuple[int, int]:
    [row] = await app.campaigns.find(f"bench/{key}")
    started = time.perf_counter()
    result = await app.campaigns.send_now(row.id)
    elapsed = time.perf_counter() - started
    print(f"  materialised {result.added:,} deliveries in {elapsed:.2f} s")
    return row.id, result.occurrence


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drain(app: App, sending: Broadcaster, key: str, label: str) -> float:
    message_id, occurrence = await start(app, key)
    started = time.perf_counter()
    cpu = cpu_seconds()
    await sending.start()
    total = sum((await app.campaigns.progress(message_id, occurrence)).values())
    while True:
        counts = await app.campaigns.progress(message_id, occurrence)
        if counts.get("sent", 0) + counts.get("failed", 0) >= total:
            break
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    await sending.stop()
    sent = counts.get("sent", 0)
    rate = sent / elapsed
    print(
        f"  {label}: {sent:,} sent in {elapsed:.1f} s = {rate:,.0f} deliveries/s; "
        f"CPU of this process {cpu / max(sent, 1) * 1000:.2f} ms/delivery "
        f"({cpu / elapsed:.0%} of a core)"
    )
    return rate


async def rate_run(app: App, seconds: float) -> None:
    with fake_telegram("--per-bot", str(LIMIT), "--per-chat", "1") as base:
        settings = app.settings.model_copy(
            update={"telegram_token": SecretStr(DEFAULT_TOKEN), "telegram_api_base": base}
        )
        sender = telegram_sender(settings)
        sending = broadcaster(app, sender, per_second=LIMIT, chat_interval=1.0)
        message_id, occurrence = await start(app, "rate")
        await sending.start()
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        await sending.stop()
        elapsed = time.perf_counter() - started
        await sender.close()
        sent = (await app.campaigns.progress(message_id, occurrence)).get("sent", 0)
        calls = send_calls(base)
    rate = sent / elapsed
    accepted = [c["at"] for c in calls if c["status"] == 200]
    # After the first second: the bucket's saved-up burst (0.2 s worth) left out.
    later = [at for at in accepted if at >= accepted[0] + 1.0] if accepted else []
    steady = (len(later) - 1) / (later[-1] - later[0]) if len(later) > 1 else 0.0
    limited = sum(1 for c in calls if c["status"] == 429)
    print(
        f"  rate run: {sent} sent in {elapsed:.1f} s = {rate:.2f} msg/s overall "
        f"({rate / LIMIT:.1%} of {LIMIT:.0f}); steady {steady:.2f} msg/s after the first "
        f"second ({steady / LIMIT:.1%}); 429 answers: {limited}"
    )


async def bench(url: str | None, subscribers: int, seconds: float, only_materialise: bool) -> None:
    print(f"{'PostgreSQL' if url else 'SQLite'}:")
    print(f"  maxrss at start: {maxrss_mb():.0f} MB")
    async with database(url, subscribers) as app:
        print(f"  maxrss with the subscribers inserted: {maxrss_mb():.0f} MB")
        if only_materialise:
            await start(app, "null")
            print(f"  maxrss after materialising: {maxrss_mb():.0f} MB")
            return
        null = NullSender()
        sending = broadcaster(app, null, per_second=None, chat_interval=None)
        await drain(app, sending, "null", "null sender, limits off")
        print(f"  maxrss after the null-sender drain: {maxrss_mb():.0f} MB")
        with fake_telegram() as base:
            settings = app.settings.model_copy(
                update={"telegram_token": SecretStr(DEFAULT_TOKEN), "telegram_api_base": base}
            )
            sender = telegram_sender(settings)
            sending = broadcaster(app, sender, per_second=None, chat_interval=None)
            await drain(app, sending, "fake", "fake Telegram over HTTP, limits off")
            await sender.close()
        print(f"  maxrss after the fake-Telegram drain (aiogram loaded): {maxrss_mb():.0f} MB")
        await rate_run(app, seconds)


def postgres_reachable(url: str) -> bool:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 1):
            return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the rate run")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of a server")
    parser.add_argument(
        "--only", choices=["sqlite", "postgres"], help="one database (memory figures apart)"
    )
    parser.add_argument(
        "--materialise-only", action="store_true", help="stop after materialising the deliveries"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    from bot.eventloop import loop_factory

    factory = loop_factory()  # the event loop tipline serve runs on
    print(f"event loop: {'uvloop' if factory else 'asyncio'}")
    if args.only != "postgres":
        asyncio.run(
            bench(None, args.subscribers, args.seconds, args.materialise_only),
            loop_factory=factory,
        )
    if args.only != "sqlite":
        if postgres_reachable(args.postgres):
            asyncio.run(
                bench(args.postgres, args.subscribers, args.seconds, args.materialise_only),
                loop_factory=factory,
            )
        else:
            print("PostgreSQL: not reachable at --postgres, skipped")


if __name__ == "__main__":
    main()
