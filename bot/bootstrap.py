"""The composition root: builds storage, services and the conversation from settings.

Tests call :func:`bootstrap` with their own :class:`~bot.config.Settings` (a temporary
SQLite file or PostgreSQL URL, a cheap key-derivation cost) and get the real thing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.campaigns.service import CampaignService
from bot.config import Settings, load_settings
from bot.metrics import Metrics
from bot.upgrade import retire_state_secret
from handlers.content import Content
from handlers.conversation import Conversation, Limits
from storage.accounts import Accounts
from storage.audit import AuditLog
from storage.campaigns import CampaignStore
from storage.casework import Casework
from storage.db import Database
from storage.deliveries import DeliveryStore
from storage.directory import Directory
from storage.epochs import Keyring, MemoryKeyring, RedisKeyring, check_not_persistent
from storage.police import PoliceDesk
from storage.state import StateStore
from storage.stats import Stats
from storage.subscriptions import SubscriberStore
from storage.throttle import MemoryThrottle, RedisThrottle
from storage.vault import TipVault, installation

__all__ = ["App", "bootstrap"]

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    vault: TipVault
    police: PoliceDesk
    casework: Casework
    accounts: Accounts
    stats: Stats
    audit: AuditLog
    states: StateStore
    keyring: Keyring
    subscriptions: SubscriberStore
    campaigns: CampaignService
    directory: Directory
    content: Content
    conversation: Conversation
    metrics: Metrics

    async def close(self) -> None:
        await self.keyring.close()
        await self.db.dispose()


async def bootstrap(settings: Settings | None = None, *, migrate: bool = True) -> App:
    """Wire everything; applies migrations first unless ``migrate`` is False."""
    settings = settings or load_settings()
    db = Database(settings.sqlalchemy_url())
    try:
        return await _wire(settings, db, migrate)
    except BaseException:
        await db.dispose()
        raise


async def _wire(settings: Settings, db: Database, migrate: bool) -> App:
    if migrate:
        await db.upgrade()
    kdf = settings.kdf()
    states = StateStore(db, ttl=timedelta(hours=settings.draft_ttl_hours))
    vault = TipVault(db, kdf)
    # Made now rather than at the first receipt: its created_at would be the exact time of
    # the installation's first tip.
    await installation(db, kdf)
    subscriptions = SubscriberStore(db, settings.subscriber_key_bytes())
    await retire_state_secret(settings, db, subscriptions.addresses)
    keyring, throttle = await _keys_of_state(settings)
    directory = Directory.load()
    content = Content()
    metrics = Metrics()
    conversation = Conversation(
        states=states,
        desk=vault,
        subscriptions=subscriptions,
        throttle=throttle,
        directory=directory,
        content=content,
        keyring=keyring,
        limits=Limits(
            max_text_chars=settings.max_text_chars,
            max_description_chars=settings.max_description_chars,
            max_photos=settings.max_photos,
            max_photo_bytes=settings.max_photo_bytes,
            receipt_attempts=settings.receipt_attempts,
            receipt_window=timedelta(minutes=settings.receipt_window_minutes),
            receipt_checks_per_minute=settings.receipt_checks_per_minute,
            followup_ttl=timedelta(minutes=settings.followup_ttl_minutes),
            flood_per_second=settings.flood_per_second,
            flood_burst=settings.flood_burst,
        ),
        default_locale=settings.default_locale,
        observer=metrics,
    )
    return App(
        settings=settings,
        db=db,
        vault=vault,
        police=PoliceDesk(db, kdf),
        casework=Casework(db),
        accounts=Accounts(db, kdf),
        stats=Stats(db),
        audit=AuditLog(db),
        states=states,
        keyring=keyring,
        subscriptions=subscriptions,
        campaigns=CampaignService(
            CampaignStore(db),
            DeliveryStore(db),
            grace=timedelta(hours=settings.campaign_grace_hours),
        ),
        directory=directory,
        content=content,
        conversation=conversation,
        metrics=metrics,
    )


async def _keys_of_state(settings: Settings) -> tuple[Keyring, MemoryThrottle | RedisThrottle]:
    """The epoch keyring and the receipt throttle: in Redis when configured, else in memory."""
    period = settings.state_key_hours * 3600
    if not settings.redis_url:
        keyring = MemoryKeyring(period)
        return keyring, MemoryThrottle(keyring)
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        await check_not_persistent(client)
    except BaseException:
        await client.aclose()
        raise
    prefix = settings.redis_key_prefix
    shared = RedisKeyring(client, period, prefix=prefix)
    return shared, RedisThrottle(client, shared, prefix=prefix)
