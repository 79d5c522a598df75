"""The composition root: builds storage, services and the conversation from settings.

Tests call :func:`bootstrap` with their own :class:`~bot.config.Settings` (a temporary
SQLite file or PostgreSQL URL, a cheap key-derivation cost) and get the real thing.

The police side (officers, their keys, casework, the audit log, statistics) is built only for
the ``console`` and ``all`` roles (:mod:`bot.roles`): a ``bot``-role app does not even import
it, and asking it for :attr:`App.police` raises :class:`~bot.roles.RoleError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.campaigns.service import CampaignService
from bot.config import Settings, load_settings
from bot.metrics import Metrics
from bot.roles import Role, RoleError
from bot.upgrade import retire_state_secret
from handlers.content import Content
from handlers.conversation import Conversation, Limits
from storage.campaigns import CampaignStore
from storage.db import Database
from storage.deliveries import DeliveryStore
from storage.directory import Directory
from storage.epochs import Keyring, MemoryKeyring, RedisKeyring, check_not_persistent
from storage.keyring import KeySigner, KeyVerifier
from storage.state import StateStore
from storage.subscriptions import SubscriberStore
from storage.throttle import MemoryThrottle, RedisThrottle
from storage.vault import TipVault, installation

if TYPE_CHECKING:
    from storage.accounts import Accounts
    from storage.audit import AuditLog
    from storage.casework import Casework
    from storage.police import PoliceDesk
    from storage.stats import Stats

__all__ = ["App", "PoliceSide", "bootstrap"]

log = logging.getLogger(__name__)


@dataclass
class PoliceSide:
    """What only the console role (and the operator's CLI) holds: it unlocks private keys."""

    police: PoliceDesk
    casework: Casework
    accounts: Accounts
    stats: Stats
    audit: AuditLog


@dataclass
class App:
    settings: Settings
    db: Database
    vault: TipVault
    states: StateStore
    keyring: Keyring
    subscriptions: SubscriberStore
    campaigns: CampaignService
    directory: Directory
    content: Content
    conversation: Conversation
    metrics: Metrics
    # The pinned signing public key: every queue, officer and recovery key is checked
    # against it before anything is sealed or wrapped for it.
    verifier: KeyVerifier
    # Certifies new keys; None in a process without the signing key (a bot-only process),
    # where whatever must certify a key raises NoSigningKey.
    signer: KeySigner | None
    role: Role = "all"
    police_side: PoliceSide | None = None

    def _police(self) -> PoliceSide:
        if self.police_side is None:
            raise RoleError(f"the {self.role} role holds no police keys or casework")
        return self.police_side

    @property
    def police(self) -> PoliceDesk:
        return self._police().police

    @property
    def casework(self) -> Casework:
        return self._police().casework

    @property
    def accounts(self) -> Accounts:
        return self._police().accounts

    @property
    def stats(self) -> Stats:
        return self._police().stats

    @property
    def audit(self) -> AuditLog:
        return self._police().audit

    async def close(self) -> None:
        await self.keyring.close()
        await self.db.dispose()


def police_side(
    db: Database, settings: Settings, verifier: KeyVerifier, signer: KeySigner | None
) -> PoliceSide:
    """The police side of the app, imported only when a role needs it."""
    from storage.accounts import Accounts
    from storage.audit import AuditLog
    from storage.casework import Casework
    from storage.police import PoliceDesk
    from storage.stats import Stats

    kdf = settings.kdf()
    return PoliceSide(
        police=PoliceDesk(db, kdf, verifier, signer),
        casework=Casework(db, verifier),
        accounts=Accounts(db, kdf),
        stats=Stats(db),
        audit=AuditLog(db),
    )


async def bootstrap(
    settings: Settings | None = None, *, migrate: bool = True, role: Role | None = None
) -> App:
    """Wire everything for ``role`` (default: the settings' role); applies migrations first
    unless ``migrate`` is False.

    Raises :class:`~bot.config.SigningKeyProblem` when the signing key settings cannot work
    (for instance a signing key file that is not the pinned key's), and
    :class:`~bot.roles.RoleError` for a bot role without a pinned signing key."""
    settings = settings or load_settings()
    role = role or settings.role
    if role == "bot":
        # Never the signing key, never generated: the pinned public key only.
        verifier, signer = KeyVerifier(settings.pinned_signing_key()), None
    else:
        trusted, signing_private = settings.signing_keys()
        verifier = KeyVerifier(trusted)
        signer = KeySigner(signing_private) if signing_private is not None else None
        del signing_private
    db = Database(settings.sqlalchemy_url())
    try:
        return await _wire(settings, db, migrate, role, verifier, signer)
    except BaseException:
        await db.dispose()
        raise


async def _wire(
    settings: Settings,
    db: Database,
    migrate: bool,
    role: Role,
    verifier: KeyVerifier,
    signer: KeySigner | None,
) -> App:
    if migrate:
        await db.upgrade()
    kdf = settings.kdf()
    states = StateStore(db, ttl=timedelta(hours=settings.draft_ttl_hours))
    vault = TipVault(db, kdf, verifier)
    if migrate:
        # Made now rather than at the first receipt: its created_at would be the exact time
        # of the installation's first tip. A process that does not migrate (the bot role)
        # finds it made by the one that did.
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
        verifier=verifier,
        signer=signer,
        role=role,
        police_side=None if role == "bot" else police_side(db, settings, verifier, signer),
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
