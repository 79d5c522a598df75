"""What the conversation needs from the outside world, as small protocols.

The storage layer provides the real implementations; the conversation never sees SQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from storage.sealing import ReceiptKeys
from storage.state import ChatKeys
from storage.subscriptions import Subscription
from storage.vault import ReporterView, TipDraft

__all__ = ["Observer", "StateRepository", "Subscriptions", "Throttle", "TipDesk", "Unobserved"]


class StateRepository(Protocol):
    async def load(self, chat: ChatKeys) -> dict[str, Any] | None: ...
    async def save(self, chat: ChatKeys, state: dict[str, Any]) -> None: ...
    async def forget(self, chat: ChatKeys) -> None: ...
    async def add_photo(self, chat: ChatKeys, image: bytes) -> None: ...
    async def photo_count(self, chat: ChatKeys) -> int: ...
    async def photos(self, chat: ChatKeys) -> list[bytes]: ...
    async def clear_photos(self, chat: ChatKeys) -> None: ...


class Throttle(Protocol):
    async def allow(
        self, chat: str, purpose: str, limit: int, window: timedelta
    ) -> tuple[bool, timedelta]: ...

    async def reset(self, chat: str, purpose: str) -> None: ...


class TipDesk(Protocol):
    async def has_queue(self, province_code: int) -> bool: ...
    async def submit(self, draft: TipDraft) -> str: ...
    async def check(self, receipt_digits: str) -> ReporterView | None: ...
    async def reply(self, tip_id: str, keys: ReceiptKeys, text: str) -> None: ...


class Subscriptions(Protocol):
    """Awareness-message subscriptions, by chat key (never linked to a tip)."""

    async def get(self, chat: str) -> Subscription | None: ...
    async def save(self, chat: str, subscription: Subscription) -> None: ...
    async def stop(self, chat: str) -> bool: ...
    async def forget(self, chat: str) -> bool: ...


class Observer(Protocol):
    """Operational counts (bot/metrics.py). Told a chat key only for its channel prefix."""

    def turn(self, chat: str, result: str, seconds: float | None = None) -> None: ...


class Unobserved:
    """An :class:`Observer` that keeps nothing."""

    def turn(self, chat: str, result: str, seconds: float | None = None) -> None:
        pass
