"""Updates through the Telegram webhook: throughput, latency and CPU of the Tipline process.

    .venv/bin/python bench/updates.py [--users 200] [--seconds 20] [--only sqlite|postgres]
                                      [--postgres URL] [--connections 40] [--kdf-users 20]
                                      [--profile FILE.html]

Three processes share the machine's cores: this one (Tipline behind uvicorn, the only one
measured), the fake Bot API (``python -m tests.fakes.telegram_api --any-chat``) and a load
generator (aiohttp, started with multiprocessing). Simulated users POST Telegram ``Update``
JSON to ``POST /telegram/webhook`` with the secret token, each user one update at a time,
like Telegram, which sends a chat's next update only when the webhook answered the last one.
The route handles the update (database, conversation, every ``sendMessage`` to the fake)
*before* it answers, so the time from POST to answer is the time from the update received
to the last reply sent.

Users type their way through the flows (numbers and words, no button presses):

* tip: 14 updates, ``/start`` … ``send`` (the last one seals and stores the tip and derives
  its receipt with Argon2id);
* subscription: 10 updates, ``/start`` … ``/dangky`` … ``subscribe``.

For SQLite and PostgreSQL (a scratch database, dropped afterwards) it prints:

* saturation: ``--users`` users doing a tip flow, then as many a subscription, all at once
  over at most ``--connections`` requests in flight (Telegram's default ``max_connections``
  for a webhook is 40): updates/s, CPU seconds of this process per update;
* latency at a fixed offered load of 100 updates/s for ``--seconds`` (new users keep
  arriving, half tips, half subscriptions): p50/p95/p99 from POST to answer;
* the submit step alone with the production Argon2id cost (64 MiB, 5 passes), ``--kdf-users``
  users submitting at once: submits/s and latency.

Then a bare aiogram echo bot (one handler answering every message with its text) behind the
same kind of route, against the same fake, fed the same tip-flow updates: our throughput as a
fraction of its.

The main runs use the cheapest Argon2id cost (TIPLINE_KDF_MEMORY_KIB=8,
TIPLINE_KDF_ITERATIONS=1): with the production cost every tip costs 0.24 s of a core in a
thread (at most two at a time), which the production-KDF line shows apart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broadcast import (  # noqa: E402
    DEFAULT_POSTGRES,
    _postgres_database,
    cpu_seconds,
    fake_telegram,
    free_port,
    postgres_reachable,
)

SECRET = "tipline-bench-secret_0123456789"
TIP_FLOW = [
    "/start", "2", "/tobao", "1", "1", "ha noi", "ba dinh", "1", "1",
    "Quán nước đầu ngõ 12", "A man sells meth from a red scooter", "done", "done", "send",
]  # fmt: skip
SUBSCRIBE_FLOW = [
    "/start", "2", "/dangky", "ha noi", "ba dinh", "1", "2", "english", "1", "subscribe",
]  # fmt: skip
TARGET_RATE = 300.0
TARGET_P99_MS = 100.0
TARGET_ECHO_FRACTION = 0.5
OFFERED = 100.0


# --- the load generator (its own process) -------------------------------------------------------


def _update(update_id: int, user_id: int, message_id: int, text: str) -> bytes:
    person = {"id": user_id, "is_bot": False, "first_name": "Lan", "language_code": "en"}
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Lan"},
        "from": person,
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return json.dumps({"update_id": update_id, "message": message}).encode()


class _Users:
    """Update and message ids, unique across the run (Telegram's are)."""

    def __init__(self) -> None:
        self.update_id = 1_000_000
        self.message_ids: dict[int, int] = {}

    def update(self, user_id: int, text: str) -> bytes:
        self.update_id += 1
        self.message_ids[user_id] = self.message_ids.get(user_id, 0) + 1
        return _update(self.update_id, user_id, self.message_ids[user_id], text)


HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}


async def _post(client: Any, url: str, body: bytes) -> tuple[float, int]:
    import aiohttp

    started = time.perf_counter()
    try:
        async with client.post(url, data=body, headers=HEADERS) as answer:
            await answer.read()
            status = answer.status
    except aiohttp.ClientError:  # counted as a non-200 answer
        return time.perf_counter() - started, 0
    return time.perf_counter() - started, status


def _client(connections: int) -> Any:
    """aiohttp rather than httpx: the load generator shares the two cores with what it
    measures, and aiohttp's client needs a fraction of httpx's CPU per request."""
    import aiohttp

    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def _closed(
    users: _Users, url: str, flows: list[tuple[int, list[str]]], connections: int
) -> dict[str, Any]:
    """Every user at once, each one update at a time; ``connections`` requests in flight."""
    records: list[tuple[int, float, int]] = []  # step, latency, status
    gate = asyncio.Semaphore(connections)
    async with _client(connections) as client:

        async def play(user_id: int, texts: list[str]) -> None:
            for step, text in enumerate(texts):
                async with gate:
                    latency, status = await _post(client, url, users.update(user_id, text))
                records.append((step, latency, status))

        started = time.perf_counter()
        await asyncio.gather(*(play(u, texts) for u, texts in flows))
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "records": records}


async def _open(
    users: _Users, url: str, rate: float, seconds: float, first_user: int
) -> dict[str, Any]:
    """``rate`` updates/s on a fixed schedule, from users that are not waiting for an answer;
    a new user (tip, then subscription, alternately) starts whenever no one is idle."""
    idle: list[tuple[int, list[str]]] = []
    records: list[tuple[int, float, int, float]] = []  # step, latency, status, lateness
    tasks: set[asyncio.Task[None]] = set()
    next_user = first_user
    async with _client(200) as client:

        async def one(user_id: int, texts: list[str], step: int, due: float) -> None:
            lateness = time.perf_counter() - due
            latency, status = await _post(client, url, users.update(user_id, texts[step]))
            records.append((step, latency, status, lateness))
            if step + 1 < len(texts):
                idle.append((user_id, texts))
                positions[user_id] = step + 1

        positions: dict[int, int] = {}
        started = time.perf_counter()
        for i in range(int(rate * seconds)):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if idle:
                user_id, texts = idle.pop(0)
                step = positions[user_id]
            else:
                user_id, texts, step = next_user, (TIP_FLOW, SUBSCRIBE_FLOW)[next_user % 2], 0
                next_user += 1
            task = asyncio.create_task(one(user_id, texts, step, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "records": records}


def _load_process(pipe: Connection) -> None:
    from bot.eventloop import loop_factory

    users = _Users()
    while True:
        command = pipe.recv()
        if command is None:
            return
        kind, args = command
        work = _closed(users, *args) if kind == "closed" else _open(users, *args)
        pipe.send(asyncio.run(work, loop_factory=loop_factory()))


class Load:
    """The load generator process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, theirs = context.Pipe()
        self.process = context.Process(target=_load_process, args=(theirs,), daemon=True)
        self.process.start()

    async def closed(
        self, url: str, flows: list[tuple[int, list[str]]], connections: int
    ) -> dict[str, Any]:
        self.pipe.send(("closed", (url, flows, connections)))
        return await asyncio.to_thread(self.pipe.recv)

    async def open(self, url: str, rate: float, seconds: float, first_user: int) -> dict[str, Any]:
        self.pipe.send(("open", (url, rate, seconds, first_user)))
        return await asyncio.to_thread(self.pipe.recv)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.pipe.send(None)
        self.process.join(10)


# --- figures ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


@dataclass
class Run:
    updates: int
    elapsed: float
    cpu: float
    latencies: list[float]
    steps: dict[int, list[float]] = field(default_factory=dict)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.elapsed


async def measured(
    load: Load, url: str, flows: list[tuple[int, list[str]]], connections: int
) -> Run:
    cpu = cpu_seconds()
    result = await load.closed(url, flows, connections)
    cpu = cpu_seconds() - cpu
    records = result["records"]
    steps: dict[int, list[float]] = {}
    for step, latency, _ in records:
        steps.setdefault(step, []).append(latency)
    return Run(
        updates=len(records),
        elapsed=result["elapsed"],
        cpu=cpu,
        latencies=[latency for _, latency, _ in records],
        steps=steps,
        errors=sum(1 for *_, status in records if status != 200),
    )


def report(label: str, run: Run) -> None:
    print(
        f"  {label}: {run.updates:,} updates in {run.elapsed:.1f} s = {run.rate:,.0f} updates/s "
        f"[target ≥ {TARGET_RATE:.0f}: {mark(run.rate >= TARGET_RATE)}]; "
        f"CPU {run.cpu / run.updates * 1000:.2f} ms/update"
        + (f"; {run.errors} non-200 answers" if run.errors else "")
    )


# --- Tipline behind uvicorn ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(web: Any) -> AsyncIterator[str]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        web, log_config=None, access_log=False, lifespan="off", server_header=False, backlog=2048,
        timeout_keep_alive=75,  # Telegram keeps its webhook connections open
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def tipline(base: str, url: str | None, *, production_kdf: bool) -> AsyncIterator[Any]:
    """A fresh Tipline with Hà Nội set up, served with its Telegram channel in webhook mode;
    yields (app, webhook URL)."""
    from pydantic import SecretStr

    from bot.bootstrap import bootstrap
    from bot.channels.telegram import TelegramChannel
    from bot.config import Settings
    from bot.web import create_web_app
    from storage.sealing import FAST_TEST_KDF, KdfParams
    from tests.conftest import setup_hanoi
    from tests.fakes.telegram_api import DEFAULT_TOKEN

    kdf = KdfParams() if production_kdf else FAST_TEST_KDF
    with tempfile.TemporaryDirectory() as folder:
        drop = None
        if url is not None:
            url, drop = await _postgres_database(url)
        port = free_port()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(folder),
            database_url=url or "",
            kdf_memory_kib=kdf.memory_kib,
            kdf_iterations=kdf.iterations,
            telegram_token=SecretStr(DEFAULT_TOKEN),
            telegram_api_base=base,
            telegram_webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
            telegram_webhook_secret=SecretStr(SECRET),
            # Simulated users answer at once; people cannot type 5 messages a second, so
            # flood control (per chat) is off.
            flood_per_second=0,
        )
        app = await bootstrap(settings)
        try:
            await setup_hanoi(app)
            channel = TelegramChannel(app.conversation, settings)
            async with serving(create_web_app(app, telegram=channel)) as root:
                await channel.start()
                try:
                    yield app, f"{root}/telegram/webhook"
                finally:
                    await channel.stop()
        finally:
            await app.close()
            if drop is not None:
                await drop()  # type: ignore[operator]


async def counts(app: Any) -> tuple[int, int]:
    from sqlalchemy import func, select

    from storage.models import Subscriber, Tip

    async with app.db.sessions() as session:
        tips = await session.scalar(select(func.count()).select_from(Tip))
        subscribers = await session.scalar(select(func.count()).select_from(Subscriber))
    return int(tips or 0), int(subscribers or 0)


class Users:
    """Fresh user ids for each phase."""

    def __init__(self) -> None:
        self.next = 10_000_000

    def take(self, n: int) -> list[int]:
        self.next += n
        return list(range(self.next - n, self.next))


def profiler(path: str | None) -> Any:
    if not path:
        return contextlib.nullcontext()
    from pyinstrument import Profiler

    @contextlib.contextmanager
    def profiling() -> Iterator[None]:
        profile = Profiler(interval=0.0005, async_mode="disabled")
        profile.start()
        try:
            yield
        finally:
            profile.stop()
            Path(path).write_text(profile.output_html())
            Path(path).with_suffix(".txt").write_text(
                profile.output_text(unicode=True, color=False, show_all=False)
            )
            if profile.last_session is not None:
                profile.last_session.save(str(Path(path).with_suffix(".pyisession")))
            print(f"  (profile of the saturation run written to {path} and .txt)")

    return profiling()


async def bench_tipline(
    name: str, base: str, url: str | None, load: Load, users: Users, args: argparse.Namespace
) -> float:
    print(f"{name} (Argon2id cost cut to 8 KiB, 1 pass for these runs):")
    async with tipline(base, url, production_kdf=False) as (app, hook):
        # One tip alone first: it creates the installation row (see docs/performance.md).
        await load.closed(hook, [(u, TIP_FLOW) for u in users.take(1)], 1)
        await load.closed(hook, [(u, TIP_FLOW) for u in users.take(20)], args.connections)
        with profiler(args.profile and f"{args.profile}.{name.lower()}.html"):
            tips = await measured(
                load, hook, [(u, TIP_FLOW) for u in users.take(args.users)], args.connections
            )
        report(f"saturation, {args.users} tip flows ({len(TIP_FLOW)} updates each)", tips)
        last = len(TIP_FLOW) - 1
        others = [x for step, values in tips.steps.items() if step < last for x in values]
        print(
            f"    submit step: median {statistics.median(tips.steps[last]) * 1000:.0f} ms, "
            f"other steps median {statistics.median(others) * 1000:.0f} ms "
            f"(under saturation, {args.connections} in flight)"
        )
        subs = await measured(
            load, hook, [(u, SUBSCRIBE_FLOW) for u in users.take(args.users)], args.connections
        )
        report(f"saturation, {args.users} subscriptions ({len(SUBSCRIBE_FLOW)} updates each)", subs)
        cpu = cpu_seconds()
        result = await load.open(hook, OFFERED, args.seconds, users.take(1_000_000)[0])
        cpu = cpu_seconds() - cpu
        records = result["records"]
        errors = sum(r[2] != 200 for r in records)
        latencies = [latency for _, latency, *_ in records]
        late = max(r[3] for r in records)
        p50, p95, p99 = (percentile(latencies, p) * 1000 for p in (50, 95, 99))
        submits = [r[1] * 1000 for r in records if r[0] == len(TIP_FLOW) - 1]
        print(
            f"  fixed load {OFFERED:.0f} updates/s for {args.seconds:.0f} s ({len(records):,} "
            f"updates, {len(records) / result['elapsed']:.1f}/s achieved, sends at most "
            f"{late * 1000:.0f} ms behind schedule): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"p99 {p99:.1f} ms [target p99 ≤ {TARGET_P99_MS:.0f} ms: "
            f"{mark(p99 <= TARGET_P99_MS)}]; max {max(latencies) * 1000:.0f} ms; "
            f"CPU {cpu / len(records) * 1000:.2f} ms/update = {cpu / result['elapsed']:.0%} "
            "of a core" + (f"; {errors} non-200 answers" if errors else "")
        )
        if submits:
            print(
                f"    submit step at that load: {len(submits)} submits, median "
                f"{statistics.median(submits):.0f} ms, max {max(submits):.0f} ms"
            )
        tip_count, sub_count = await counts(app)
        print(f"  stored: {tip_count:,} tips, {sub_count:,} subscribers")

    async with tipline(base, url, production_kdf=True) as (app, hook):
        await load.closed(hook, [(u, TIP_FLOW) for u in users.take(1)], 1)
        flows = users.take(args.kdf_users)
        await load.closed(hook, [(u, TIP_FLOW[:-1]) for u in flows], args.connections)
        run = await measured(load, hook, [(u, TIP_FLOW[-1:]) for u in flows], args.connections)
        print(
            f"  production Argon2id (64 MiB, 5 passes), {args.kdf_users} users pressing send at "
            f"once: {run.rate:.1f} submits/s, latency median "
            f"{statistics.median(run.latencies) * 1000:.0f} ms, max "
            f"{max(run.latencies) * 1000:.0f} ms; CPU {run.cpu / run.updates * 1000:.0f} "
            "ms/submit"
        )
        tip_count, _ = await counts(app)
        print(f"  stored: {tip_count} tips ({args.kdf_users} + 1 to warm up)")
    return tips.rate


# --- the echo bot -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def echo_bot(base: str) -> AsyncIterator[str]:
    """A bare aiogram bot answering every message with its text, behind a route like ours."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message, Update
    from fastapi import FastAPI, Request, Response

    from tests.fakes.telegram_api import DEFAULT_TOKEN

    bot = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base)))
    dispatcher = Dispatcher(disable_fsm=True)

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    web = FastAPI()

    # A plain Starlette route: FastAPI cannot resolve the locally imported ``Request``
    # annotation (this module has postponed annotations) and would want it as a parameter.
    async def webhook(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=401)
        update = Update.model_validate_json(await request.body(), context={"bot": bot})
        await dispatcher.feed_webhook_update(bot, update)
        return Response(status_code=200)

    web.router.add_route("/telegram/webhook", webhook, methods=["POST"])

    async with serving(web) as root:
        try:
            yield f"{root}/telegram/webhook"
        finally:
            await bot.session.close()


async def bench_echo(base: str, load: Load, users: Users, args: argparse.Namespace) -> float:
    async with echo_bot(base) as hook:
        await load.closed(hook, [(u, TIP_FLOW) for u in users.take(20)], args.connections)
        run = await measured(
            load, hook, [(u, TIP_FLOW) for u in users.take(args.users)], args.connections
        )
    if run.errors:
        raise SystemExit(f"the echo bot answered {run.errors} updates with an error")
    print(
        f"echo bot (aiogram, same route shape, same fake, same tip-flow updates): "
        f"{run.updates:,} updates in {run.elapsed:.1f} s = {run.rate:,.0f} updates/s; "
        f"CPU {run.cpu / run.updates * 1000:.2f} ms/update"
    )
    return run.rate


async def bench(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    load = Load()
    users = Users()
    rates: dict[str, float] = {}
    try:
        with fake_telegram() as base:
            if args.only != "postgres":
                rates["SQLite"] = await bench_tipline("SQLite", base, None, load, users, args)
            if args.only != "sqlite":
                if postgres_reachable(args.postgres):
                    rates["PostgreSQL"] = await bench_tipline(
                        "PostgreSQL", base, args.postgres, load, users, args
                    )
                else:
                    print("PostgreSQL: not reachable at --postgres, skipped")
            echo = await bench_echo(base, load, users, args)
    finally:
        load.close()
    for name, rate in rates.items():
        fraction = rate / echo
        print(
            f"{name} tip flows / echo bot: {fraction:.2f} "
            f"[target ≥ {TARGET_ECHO_FRACTION}: {mark(fraction >= TARGET_ECHO_FRACTION)}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users per saturation run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the 100/s run")
    parser.add_argument("--connections", type=int, default=40, help="requests in flight")
    parser.add_argument("--kdf-users", type=int, default=20, help="users of the production-KDF run")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of a server")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--profile", help="pyinstrument the tip saturation run into FILE.<db>.html")
    args = parser.parse_args()
    os.chdir(ROOT)
    from bot.eventloop import loop_factory

    factory = loop_factory()
    print(f"event loop: {'uvloop' if factory else 'asyncio'} (as in tipline serve)")
    asyncio.run(bench(args), loop_factory=factory)


if __name__ == "__main__":
    main()
