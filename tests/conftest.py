"""Shared fixtures: a real Tipline on a temporary SQLite file (or PostgreSQL), with
Hà Nội set up like the demo: recovery key, province queue, two commune queues, one officer.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from storage.sealing import FAST_TEST_KDF

POSTGRES_URL = os.environ.get(
    "TIPLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("TIPLINE_REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("TIPLINE_REQUIRE_BROWSER") == "1"
REDIS_URL = os.environ.get("TIPLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("TIPLINE_REQUIRE_REDIS") == "1"

# Tipline keeps the subscriber key in $XDG_CONFIG_HOME/tipline/ when no file is set: every
# test (and every service a test starts) gets a folder of this run instead of the home's.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="tipline-test-config-")

HANOI = 1
BA_DINH = 4
HOAN_KIEM = 70
OFFICER = "canbo.test"
OFFICER_PASSWORD = "mat-khau-thu-nghiem"


def make_settings(data_dir: Path, database_url: str = "", **changes: object) -> Settings:
    """A test's settings: its own data dir, with the subscriber key beside it (never in the
    home directory, never inside the data dir)."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "subscriber_key_file": data_dir.parent / "subscriber.key",
        "kdf_memory_kib": FAST_TEST_KDF.memory_kib,
        "kdf_iterations": FAST_TEST_KDF.iterations,
    }
    values.update(changes)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@dataclass
class Police:
    """Keys a test holds: the Hà Nội recovery key and the queues by commune (None = province)."""

    recovery_private: bytes
    queues: dict[int | None, int]
    officer_id: int


async def setup_hanoi(app: App) -> Police:
    recovery = await app.police.create_recovery_key(HANOI)
    officer = await app.police.add_officer(OFFICER, "Cán bộ thử nghiệm", OFFICER_PASSWORD)
    queues: dict[int | None, int] = {}
    for commune in (None, BA_DINH, HOAN_KIEM):
        queue, private = await app.police.create_queue(HANOI, commune, f"Queue {commune}")
        await app.police.grant(queue.id, officer.id, private)
        queues[commune] = queue.id
    return Police(recovery_private=recovery, queues=queues, officer_id=officer.id)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for SQLite, then for PostgreSQL: store tests run on both."""
    if request.param == "sqlite":
        return make_settings(tmp_path / "data")
    url = request.getfixturevalue("postgres_database")
    return make_settings(tmp_path / "data", database_url=url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    tipline = await bootstrap(settings)
    yield tipline
    await tipline.close()


@pytest.fixture
async def police(app: App) -> Police:
    return await setup_hanoi(app)


def reachable(host: str, port: int) -> bool:
    """Whether a server accepts connections at ``host``:``port`` (within a second)."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_reachable() -> bool:
    return reachable("127.0.0.1", 5432)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not postgres_reachable():
        if REQUIRE_POSTGRES:
            pytest.fail("PostgreSQL is required (TIPLINE_REQUIRE_POSTGRES=1) but unreachable")
        pytest.skip(
            "PostgreSQL is not reachable at 127.0.0.1:5432; set "
            "TIPLINE_TEST_POSTGRES_URL to run these tests"
        )
    import asyncio

    import asyncpg

    name = f"tipline_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL.replace("postgresql+asyncpg", "postgresql")

    async def execute(sql: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    base, _, _ = POSTGRES_URL.rpartition("/")
    yield f"{base}/{name}"
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_reachable() -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    return reachable(parts.hostname or "127.0.0.1", parts.port or 6379)


@pytest.fixture
def redis_settings() -> Iterator[dict[str, str]]:
    """Redis settings for one test: the test Redis with a key prefix of the test's own, so
    parallel runs never collide; its keys are deleted afterwards."""
    if not redis_reachable():
        if REQUIRE_REDIS:
            pytest.fail("Redis is required (TIPLINE_REQUIRE_REDIS=1) but unreachable")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}; set TIPLINE_TEST_REDIS_URL to run")
    import redis

    prefix = f"tipline-test-{uuid.uuid4().hex}:"
    yield {"redis_url": REDIS_URL, "redis_key_prefix": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for name in client.scan_iter(match=prefix + "*"):
            client.delete(name)
    finally:
        client.close()


_postgres_ran: list[str] = []
_browser_ran: list[str] = []
_redis_ran: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed and "postgres" in report.keywords:
        _postgres_ran.append(report.nodeid)
    if report.when == "call" and report.passed and "browser" in report.keywords:
        _browser_ran.append(report.nodeid)
    if report.when == "call" and report.passed and "redis" in report.keywords:
        _redis_ran.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if REQUIRE_POSTGRES and exitstatus == 0 and not _postgres_ran:
        print("\nTIPLINE_REQUIRE_POSTGRES=1 but no PostgreSQL test ran")
        session.exitstatus = 1
    if REQUIRE_BROWSER and exitstatus == 0 and not _browser_ran:
        print("\nTIPLINE_REQUIRE_BROWSER=1 but no browser test ran")
        session.exitstatus = 1
    if REQUIRE_REDIS and exitstatus == 0 and not _redis_ran:
        print("\nTIPLINE_REQUIRE_REDIS=1 but no Redis test ran")
        session.exitstatus = 1
