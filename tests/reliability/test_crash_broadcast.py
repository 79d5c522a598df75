"""``kill -9`` at random points of a broadcast to 10,000 subscribers, each time restarted on
the same data: with the default ``TIPLINE_BROADCAST_IN_FLIGHT=resend`` nobody misses the
message, and whoever got it twice was in flight at a kill and is counted as ``resent``.

Short variant: one kill. ``TIPLINE_LONG_TESTS=1``: five kills. The kill points come from a
seeded random generator (``TIPLINE_CRASH_SEED``), printed with the results.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

from storage.sealing import FAST_TEST_KDF
from storage.subscriptions import AddressBook
from tests.campaigns.test_kill9 import (
    SUBSCRIBER_KEY,
    delivered,
    key_file,
    kill_at,
    prepare,
    serve_until_resolved,
    statuses,
)
from tests.fakes.server import in_a_thread
from tests.fakes.telegram_api import FakeTelegram

LONG = os.environ.get("TIPLINE_LONG_TESTS") == "1"
KILLS = 5 if LONG else 1
SUBSCRIBERS = 10_000
BATCH = 50
SEED = int(os.environ.get("TIPLINE_CRASH_SEED", "20261124"))


def resent_chats(database: Path) -> set[int]:
    """Subscribers whose delivery was in flight at a kill and was sent again."""
    book = AddressBook(bytes.fromhex(SUBSCRIBER_KEY))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute(
            "SELECT s.address, s.lookup FROM deliveries d JOIN subscribers s "
            "ON s.id = d.subscriber_id WHERE d.redelivered AND d.status = 'sent'"
        ).fetchall()
    return {int(book.open(address, lookup).removeprefix("tg:")) for address, lookup in rows}


def test_kill_9_at_random_points_of_a_broadcast_to_10000(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    kill_points = sorted(rng.sample(range(500, SUBSCRIBERS - 500), KILLS))
    data_dir = tmp_path / "data"
    database = data_dir / "tipline.db"
    log = tmp_path / "serve.log"
    prepare(data_dir, SUBSCRIBERS)
    in_flight: list[int] = []
    with in_a_thread(FakeTelegram()) as fake:
        fake.any_chat = True
        fake.limit_rates(per_bot=None, per_chat=1)
        fake.latency = 0.02  # so that every kill finds requests in flight
        env = {
            **os.environ,
            "TIPLINE_DATA_DIR": str(data_dir),
            "TIPLINE_DATABASE_URL": "",
            "TIPLINE_SUBSCRIBER_KEY_FILE": str(key_file(data_dir)),
            "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
            "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
            "TIPLINE_TELEGRAM_TOKEN": fake.token,
            "TIPLINE_TELEGRAM_API_BASE": fake.base_url,
            "TIPLINE_TELEGRAM_RATE_PER_SECOND": "2000",
            "TIPLINE_BROADCAST_BATCH": str(BATCH),
            "TIPLINE_BROADCAST_LEASE_SECONDS": "2",
            "TIPLINE_BROADCAST_POLL_SECONDS": "0.2",
        }
        for point in kill_points:
            kill_at(env, log, fake, point)
            in_flight.append(statuses(database).get("sending", 0))
        serve_until_resolved(env, log, database, 180)
        received = delivered(fake)

    final = statuses(database)
    resent = resent_chats(database)
    twice = sorted(chat for chat, count in received.items() if count > 1)
    missing = sorted(set(range(1, SUBSCRIBERS + 1)) - set(received))
    print(
        f"\nseed {SEED}: kill -9 after {kill_points} messages, {in_flight} rows in flight; "
        f"final {final}; received twice {len(twice)}, missing {len(missing)}, "
        f"resent {len(resent)}"
    )
    assert missing == [], "nobody misses the message"
    assert max(received.values()) <= 2
    assert set(twice) <= resent, "only a delivery in flight at a kill may arrive twice"
    assert len(resent) == sum(in_flight) <= KILLS * BATCH
    assert final == {"sent": SUBSCRIBERS}, "no delivery is left uncertain or failed"
    assert fake.rate_limited == 0
