"""Helpers for campaign tests (and bench/broadcast.py): campaigns built in code, a clock
that moves when told, subscribers inserted in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.bootstrap import App
from bot.campaigns.broadcaster import Broadcaster, ChannelLimits, RetryPolicy
from bot.campaigns.schema import CampaignFile
from bot.campaigns.sending import Sender
from bot.campaigns.service import CampaignService
from storage.models import Subscriber


@dataclass
class Clock:
    """A clock tests move by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Vietnamese local time (UTC+7) as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def message(
    key: str,
    *,
    yearly: str | None = None,
    at: str | None = None,
    groups: Sequence[str] = ("all",),
    areas: Any = "all",
    vi: str | None = None,
    en: str | None = None,
) -> dict[str, Any]:
    send: dict[str, str] = {"yearly": yearly} if yearly else {"at": at or "2030-06-26T07:00"}
    return {
        "id": key,
        "send": send,
        "audience": {"groups": list(groups), "areas": areas},
        "body": {
            "vi": vi or f"**{key}**: tin tiếng Việt",
            "en": en or f"**{key}**: English text",
        },
    }


def campaign(*messages: dict[str, Any], slug: str = "test-campaign") -> CampaignFile:
    return CampaignFile.model_validate(
        {
            "id": slug,
            "title": {"vi": "Chiến dịch thử", "en": "Test campaign"},
            "theme": {"vi": "Chủ đề", "en": "Theme"},
            "period": {"start": "06-01", "end": "06-30"},
            "timezone": "Asia/Ho_Chi_Minh",
            "languages": ["vi", "en"],
            "audience_groups": ["students", "parents", "workers", "general"],
            "messages": list(messages),
        }
    )


def service(app: App, clock: Clock, *, grace_hours: float = 6) -> CampaignService:
    return CampaignService(
        app.campaigns.campaigns,
        app.campaigns.deliveries,
        grace=timedelta(hours=grace_hours),
        clock=clock,
    )


def broadcaster(
    app: App,
    senders: dict[str, Sender],
    clock: Clock | None = None,
    *,
    per_second: float | None = None,
    chat_interval: float | None = None,
    max_attempts: int = 3,
    backoff_seconds: float = 60,
    batch: int = 50,
    workers: int = 1,
    resend_in_flight: bool = True,
) -> Broadcaster:
    extra: dict[str, Any] = {"clock": clock} if clock is not None else {}
    return Broadcaster(
        app.campaigns.campaigns,
        app.campaigns.deliveries,
        app.subscriptions.addresses,
        senders,
        limits={
            name: ChannelLimits(per_second=per_second, chat_interval=chat_interval)
            for name in senders
        },
        retry=RetryPolicy(max_attempts=max_attempts, backoff=timedelta(seconds=backoff_seconds)),
        batch=batch,
        workers=workers,
        poll_seconds=0.2,
        resend_in_flight=resend_in_flight,
        **extra,
    )


async def add_subscribers(
    app: App,
    chats: Iterable[int],
    *,
    group: str = "general",
    province: int = 1,
    commune: int | None = None,
    locale: str = "vi",
    quiet_hours: bool = False,
    prefix: str = "tg",
    batch: int = 5000,
) -> int:
    """Insert subscribers straight into the table (sealed like the real ones); how many."""
    book = app.subscriptions.addresses
    rows: list[dict[str, Any]] = []
    total = 0

    async def flush() -> None:
        async with app.db.sessions.begin() as session:
            await session.execute(insert(Subscriber), rows)
        rows.clear()

    for chat_id in chats:
        chat = f"{prefix}:{chat_id}"
        lookup = book.lookup(chat)
        rows.append(
            {
                "channel": "telegram" if prefix == "tg" else "zalo",
                "address": book.seal(chat, lookup),
                "lookup": lookup,
                "province_code": province,
                "commune_code": commune,
                "group": group,
                "locale": locale,
                "quiet_hours": quiet_hours,
                "active": True,
                "created_at": date(2026, 5, 1),
            }
        )
        total += 1
        if len(rows) >= batch:
            await flush()
    if rows:
        await flush()
    return total


class RecordingSender:
    """A sender in memory: records what it sent; ``answers`` scripts outcomes per address
    (consumed one per send), e.g. ``{"tg:7": [SendOutcome("transient", "5xx")]}``."""

    def __init__(self, channel: str = "telegram") -> None:
        from bot.campaigns.sending import SendOutcome

        self._channel = channel
        self.sent: list[tuple[str, str]] = []
        self.answers: dict[str, list[SendOutcome]] = {}
        self._ok = SendOutcome("sent")

    @property
    def channel(self) -> str:
        return self._channel

    def parts(self, markdown: str) -> list[str]:
        return [markdown]

    async def send(self, address: str, part: str) -> Any:
        scripted = self.answers.get(address)
        if scripted:
            return scripted.pop(0)
        self.sent.append((address, part))
        return self._ok

    async def close(self) -> None:
        return None

    def count(self, address: str) -> int:
        return sum(1 for a, _ in self.sent if a == address)
