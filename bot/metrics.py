"""Operational metrics in Prometheus' text format, served at ``GET /metrics``.

Counts and timings only. Labels are channel names, outcomes and delivery statuses, never
anything about a person: no chat, no place, no category. Nothing here can single out the
moment a tip is filed or a receipt checked: there is no count of tips (the console shows
them by the hour), and every message is timed without the receipt key derivation (Argon2id),
whose seconds would otherwise stand out. The endpoint is off (404) unless
``TIPLINE_METRICS_TOKEN`` is set; scrapers then send it as a bearer token
(``authorization: {credentials: ...}`` in Prometheus' scrape config).

One :class:`Metrics` per :class:`~bot.bootstrap.App`, with a registry of its own: nothing is
registered globally at import time, and two apps in one process (the tests) do not mix.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
CHANNELS = {"web": "webchat", "tg": "telegram", "zalo": "zalo"}


class Metrics:
    """The counters and histograms of one Tipline process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages = Counter(
            "tipline_messages",
            "Messages from users, by channel and result (answered, throttled, failed).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "tipline_turn_seconds",
            "Time to answer one message: load the state, decide, save the state (without "
            "deriving receipt keys, which would single out filings and receipt checks).",
            ["channel"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.deliveries = Counter(
            "tipline_deliveries",
            "Campaign deliveries handled, by channel and outcome (sent, retry, failed, "
            "blocked, skipped).",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "tipline_rate_limited",
            "Platform answers asking the broadcaster to slow down (429), by channel.",
            ["channel"],
            registry=self.registry,
        )

    # --- what the conversation and the broadcaster report ------------------------------------

    def turn(self, chat: str, result: str, seconds: float | None = None) -> None:
        """One message handled; ``chat`` is only read for its channel prefix."""
        channel = CHANNELS.get(chat.partition(":")[0], "other")
        self.messages.labels(channel, result).inc()
        if seconds is not None:
            self.turn_seconds.labels(channel).observe(seconds)

    def delivery(self, channel: str, outcome: str, *, rate_limited: bool = False) -> None:
        self.deliveries.labels(channel, outcome).inc()
        if rate_limited:
            self.rate_limited.labels(channel).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
