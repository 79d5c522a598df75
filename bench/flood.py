"""Flood control under load: does one flooding web chat session slow the others down?

Starts ``tipline demo`` as a subprocess (temporary data directory, cheap key derivation so
that filing a tip costs milliseconds, not 0.24 s) and talks to it over real HTTP:

1. quiet: 20 normal sessions go through the tip flow at about 2 messages a second each;
2. flood: the same, while one more session sends 50 messages a second, without waiting for
   replies, for the same time;
3. flood, limit off: phase 2 against a server started with ``TIPLINE_FLOOD_PER_SECOND=0``.

Prints the normal sessions' reply latency (p50/p99) in each phase, and what the flooder got.

    .venv/bin/python bench/flood.py               # 10 s a phase
    .venv/bin/python bench/flood.py --seconds 5 --skip-off
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
SLOW_DOWN = ("very fast", "quá nhanh")
FLOW = [
    "/start", "2", "1", "1", "1", "ha noi", "hoan kiem", "1", "1", "Cổng sau chợ",
    "Bench story", "done", "done", "send",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    def __init__(self, directory: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (directory / "demo.log").open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "tipline"), "demo", "--port", str(self.port)],
            env={
                **os.environ,
                "TIPLINE_DATA_DIR": str(directory / "data"),
                "TIPLINE_KDF_MEMORY_KIB": "8",
                "TIPLINE_KDF_ITERATIONS": "1",
                "TIPLINE_DATABASE_URL": "",
                "TIPLINE_LOG_LEVEL": "WARNING",
                **env,
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit("the demo did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


async def normal(client: httpx.AsyncClient, until: float, rng: random.Random) -> list[float]:
    session = f"bench-normal-{rng.getrandbits(64):016x}"
    latencies: list[float] = []
    step = 0
    while time.monotonic() < until:
        started = time.perf_counter()
        response = await client.post(
            "/api/chat", json={"session": session, "text": FLOW[step % len(FLOW)]}
        )
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        assert not any(s in response.text for s in SLOW_DOWN), "a normal chat was throttled"
        step += 1
        await asyncio.sleep(rng.uniform(0.25, 0.75))
    return latencies


async def flooder(client: httpx.AsyncClient, until: float, per_second: float) -> Counter[str]:
    got: Counter[str] = Counter()
    session = f"bench-flood-{random.getrandbits(64):016x}"

    async def one(n: int) -> None:
        started = time.perf_counter()
        text = FLOW[n % len(FLOW)]
        response = await client.post("/api/chat", json={"session": session, "text": text})
        replies = response.json()["replies"]
        if not replies:
            got["no reply"] += 1
        elif any(s in replies[0]["text"] for s in SLOW_DOWN):
            got["told to slow down"] += 1
        else:
            got["answered"] += 1
        got["max latency ms"] = max(
            got["max latency ms"], int(1000 * (time.perf_counter() - started))
        )

    tasks = []
    n = 0
    start = time.monotonic()
    while (now := time.monotonic()) < until:
        tasks.append(asyncio.create_task(one(n)))
        n += 1
        await asyncio.sleep(max(0.0, start + n / per_second - now))
    await asyncio.gather(*tasks)
    got["sent"] = n
    return got


async def phase(
    url: str, seconds: float, sessions: int, flood: bool
) -> tuple[list[float], Counter[str]]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        until = time.monotonic() + seconds
        rng = random.Random(7)
        runs = [normal(client, until, random.Random(rng.random())) for _ in range(sessions)]
        if flood:
            *results, got = await asyncio.gather(*runs, flooder(client, until, 50))
        else:
            results, got = await asyncio.gather(*runs), Counter()
    return [x for r in results for x in r], got


def line(name: str, latencies: list[float], quiet: list[float] | None = None) -> str:
    cuts = statistics.quantiles(latencies, n=100)
    p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    text = f"{name:<22} {len(latencies):>6} replies   p50 {p50:7.1f} ms   p99 {p99:7.1f} ms"
    if quiet:
        q99 = statistics.quantiles(quiet, n=100)[98] * 1000
        text += f"   p99 = {p99 / q99:.2f} x quiet"
    return text


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--skip-off", action="store_true", help="skip the limit-off phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Demo(Path(tmp))
        try:
            await phase(demo.url, 2, args.sessions, False)  # warm up
            quiet, _ = await phase(demo.url, args.seconds, args.sessions, False)
            flooded, got = await phase(demo.url, args.seconds, args.sessions, True)
        finally:
            demo.stop()
        print(f"{args.sessions} normal web chat sessions, {args.seconds:g} s a phase")
        print(line("quiet", quiet))
        print(line("flood 50/s, limit on", flooded, quiet))
        print(f"  flooder: {dict(got)}")
        if not args.skip_off:
            demo = Demo(Path(tmp), TIPLINE_FLOOD_PER_SECOND="0")
            try:
                await phase(demo.url, 2, args.sessions, False)
                off, got = await phase(demo.url, args.seconds, args.sessions, True)
            finally:
                demo.stop()
            print(line("flood 50/s, limit off", off, quiet))
            print(f"  flooder: {dict(got)}")


if __name__ == "__main__":
    asyncio.run(main())
