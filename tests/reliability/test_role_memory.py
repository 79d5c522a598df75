"""The bot and console roles as two real processes on one database: after an officer signs
in and reads a tip through the console role, the queue private keys are in the console
process's memory (which shows the scan works) and nowhere in the bot process's memory.

Both processes' logs stay under pytest's temporary directory for the canary sweep.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import bootstrap
from storage import sealing
from storage.roles import apply_roles, drop_role
from storage.sealing import FAST_TEST_KDF
from tests.conftest import BA_DINH, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, make_settings, setup_hanoi
from tests.console.conftest import ConsoleClient
from tests.e2e.server import free_port, tipline_process
from tests.reliability.conftest import plant

STORY = plant("Canary-role-memory: the blue van at the night market", "tip story")
TIP_LINK = re.compile(r'href="/console/tips/([0-9A-F]{12})"')
# The web chat script of a tip about Phường Hoàn Kiếm, in English.
SCRIPT = [
    "/start", "2", "1", "1", "1", "ha noi", "hoan kiem", "1", "1", "Cổng sau chợ",
    STORY, "done", "done", "send",
]  # fmt: skip


def serve(
    role: str, port: int, log: Path, env: dict[str, str]
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``tipline serve --role ROLE`` until the block ends; waits for it to answer."""
    return tipline_process(
        ["serve", "--role", role, "--port", str(port)],
        {
            **os.environ,
            "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
            "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
            "COLUMNS": "200",
            **env,
        },
        log,
        port,
    )


def occurrences(pid: int, needles: dict[str, bytes]) -> dict[str, int]:
    """How many times each needle appears in the readable memory of process ``pid``."""
    counts = dict.fromkeys(needles, 0)
    regions = Path(f"/proc/{pid}/maps").read_text().splitlines()
    with open(f"/proc/{pid}/mem", "rb", 0) as memory:
        for region in regions:
            span, permissions, *rest = region.split()
            if not permissions.startswith("r") or (rest and rest[-1] == "[vvar]"):
                continue
            start, end = (int(part, 16) for part in span.split("-"))
            try:
                memory.seek(start)
                chunk = memory.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            for name, needle in needles.items():
                counts[name] += chunk.count(needle)
    return counts


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'console-data' / 'tipline.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url


def as_user(url: str, user: str) -> str:
    """The PostgreSQL URL for another user (trust authentication in the tests)."""
    return url if url.startswith("sqlite") else url.replace("postgres@", f"{user}@", 1)


async def test_the_bot_process_never_holds_a_queue_key_the_console_unlocked(
    tmp_path: Path, database_url: str
) -> None:
    if not os.access("/proc/self/mem", os.R_OK):
        pytest.skip("this system does not let a process read its children's memory")
    console_data, bot_data = tmp_path / "console-data", tmp_path / "bot-data"
    owner = await bootstrap(make_settings(console_data, database_url=database_url))
    # On PostgreSQL each role connects as its own least-privilege user (tipline db roles).
    users = {"bot": "postgres", "console": "postgres"}
    if not owner.db.is_sqlite:
        suffix = database_url.rsplit("/", 1)[1]
        users = {"bot": f"bot_{suffix}", "console": f"console_{suffix}"}
        await apply_roles(owner.db, bot=users["bot"], console=users["console"], login=True)
    try:
        police = await setup_hanoi(owner)
        queue_keys = {
            f"queue key {commune}": await owner.police.queue_key_from_recovery(
                queue_id, police.recovery_private
            )
            for commune, queue_id in police.queues.items()
        }
    except BaseException:
        await owner.close()
        raise
    signing = sealing.import_signing_key((console_data / "signing.key").read_bytes())
    pin = sealing.format_signing_key(sealing.signing_public_key(signing))
    needles = {
        **queue_keys,
        "officer password": OFFICER_PASSWORD.encode(),
        "signing key": signing,
    }
    console_port, bot_port = free_port(), free_port()
    with (
        serve(
            "console",
            console_port,
            tmp_path / "console.log",
            {
                "TIPLINE_DATA_DIR": str(console_data),
                "TIPLINE_DATABASE_URL": as_user(database_url, users["console"]),
                "TIPLINE_CONSOLE_SECURE_COOKIES": "false",
            },
        ) as console,
        serve(
            "bot",
            bot_port,
            tmp_path / "bot.log",
            {
                "TIPLINE_DATA_DIR": str(bot_data),
                "TIPLINE_DATABASE_URL": as_user(database_url, users["bot"]),
                "TIPLINE_TRUSTED_SIGNING_KEY": pin,
            },
        ) as bot,
    ):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot_port}", timeout=30) as chat:
            for text in SCRIPT:
                reply = await chat.post("/api/chat", json={"session": "m" * 32, "text": text})
                assert reply.status_code == 200
            assert "This is your receipt" in reply.text
            bot_console = await chat.get("/console/login")
            assert bot_console.status_code == 404

        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{console_port}", timeout=30)
        officer = ConsoleClient(http)
        try:
            await officer.signed_in(OFFICER, OFFICER_PASSWORD)
            queue = await officer.get("/console/")
            tip_id = TIP_LINK.search(queue.text)
            assert tip_id, queue.text[-2000:]
            tip = await officer.get(f"/console/tips/{tip_id.group(1)}")
            assert tip.status_code == 200 and STORY in tip.text
            await asyncio.sleep(0.5)  # let both processes settle
            in_console = occurrences(console.pid, needles)
            in_bot = occurrences(bot.pid, needles)
        finally:
            await http.aclose()
    if not owner.db.is_sqlite:
        for user in users.values():
            await drop_role(owner.db, user)
    await owner.close()
    print(f"\nin the console process: {in_console}\nin the bot process: {in_bot}")
    # The scan finds the keys where they are: the officer's session holds every queue key.
    for commune in (None, BA_DINH, HOAN_KIEM):
        assert in_console[f"queue key {commune}"] >= 1
    assert in_console["signing key"] >= 1
    assert in_bot == dict.fromkeys(needles, 0)
