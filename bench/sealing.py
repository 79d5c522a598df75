"""Sealing figures: tips sealed per second on one core, officer unlock time, tip open time.

    .venv/bin/python bench/sealing.py [--seconds 3]

Targets (2-core machine): ≥ 2,000 tips/s sealed per core for a 2 KB tip; officer unlock
0.2–1 s (a deliberate Argon2id cost); opening a tip well under a millisecond.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from storage import sealing


def per_second(work: object, seconds: float) -> tuple[float, float]:
    """Calls per second of ``work`` over about ``seconds``, and the median call in ms."""
    assert callable(work)
    timings: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        work()
        timings.append(time.perf_counter() - start)
    return len(timings) / sum(timings), statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    tip = os.urandom(1024).hex().encode()  # 2 KB
    _, queue_public = sealing.new_keypair()
    _, province_public = sealing.new_keypair()
    recovery_private, recovery_public = sealing.new_keypair()
    recipients = {
        "queue:1": queue_public,
        "queue:2": province_public,
        "recovery:1": recovery_public,
    }
    context = b"tip:BENCH:content"
    rate, median = per_second(lambda: sealing.seal_for(tip, recipients, context), args.seconds)
    print(
        f"seal a 2 KB tip for 3 recipients: {rate:,.0f} tips/s on one core "
        f"(median {median:.3f} ms; target ≥ 2,000/s)"
    )

    box, _ = sealing.seal_for(tip, recipients, context)
    wrapped = box.wraps["recovery:1"]
    rate, median = per_second(
        lambda: sealing.open_box(box.ciphertext, wrapped, recovery_private, context), args.seconds
    )
    print(f"open a 2 KB tip: {rate:,.0f}/s (median {median:.3f} ms)")

    params = sealing.KdfParams()
    locked = sealing.lock_private_key(sealing.new_data_key(), "a password", params)
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        sealing.unlock_private_key(locked, "a password")
        timings.append(time.perf_counter() - start)
    print(
        f"officer unlock (Argon2id {params.memory_kib // 1024} MiB, {params.iterations} "
        f"passes): median {statistics.median(timings):.3f} s (target 0.2–1 s)"
    )
    salt = os.urandom(16)
    start = time.perf_counter()
    sealing.derive_receipt_keys(sealing.new_receipt(), salt, params)
    print(f"receipt derivation: {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
