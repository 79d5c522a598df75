"""Database tables. Tip content never appears here in plaintext: only sealed blobs.

Plaintext columns are what routing and statistics need (queue, area, category, status,
an hour-rounded time). No table holds a chat id, and nothing links a chat to a tip:
conversation state is keyed by a keyed hash of the chat and deleted when a tip is sent.
Subscribers of awareness messages live apart (``subscribers``): their chat address is
sealed, and no column of theirs refers to a tip or a tip to them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignMessage",
    "ConversationState",
    "Delivery",
    "DraftAttachment",
    "Installation",
    "Officer",
    "Queue",
    "QueueMember",
    "RecoveryKey",
    "Subscriber",
    "Throttle",
    "Tip",
    "TipAttachment",
    "TipMessage",
    "TipNote",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Installation(Base):
    """One row: installation-wide values that must never change once tips exist."""

    __tablename__ = "installation"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_salt: Mapped[bytes] = mapped_column(LargeBinary)
    receipt_kdf: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class RecoveryKey(Base):
    """A province's offline recovery key (public half only)."""

    __tablename__ = "recovery_keys"
    province_code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    # Signature by the installation's signing key over this row's identity and public key
    # (storage.keyring); NULL until certified, and then the key is not used.
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary)


class Queue(Base):
    """The inbox of one police unit: a commune police, or the province (commune_code NULL)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("province_code", "commune_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[int] = mapped_column(index=True)
    commune_code: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The queue's private key, wrapped for the province recovery key.
    recovery_wrap: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    # Signature by the installation's signing key over this row's identity and public key
    # (storage.keyring); NULL until certified, and then the key is not used.
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary)


class Officer(Base):
    """A console account: officer, supervisor (province), communicator or admin."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="officer")
    province_code: Mapped[int | None]
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # Private key under an Argon2id key from the officer's password: opening it is the
    # password check, so no separate password hash exists to attack.
    locked_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # TOTP secret wrapped for the officer's own public key: readable only after the password.
    totp_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int] = mapped_column(default=0)
    recovery_codes: Mapped[list[str] | None] = mapped_column(JSON)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Signature by the installation's signing key over this row's identity and public key
    # (storage.keyring); NULL until certified, and then the key is not used.
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary)


class QueueMember(Base):
    """An officer of a queue, holding the queue's private key wrapped for them."""

    __tablename__ = "queue_members"
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), primary_key=True)
    wrapped_queue_key: Mapped[bytes] = mapped_column(LargeBinary)


class Tip(Base):
    __tablename__ = "tips"
    __table_args__ = (Index("ix_tips_queue_status", "queue_id", "status"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"))
    province_code: Mapped[int]
    commune_code: Mapped[int | None]
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="new")
    # Rounded to the hour: enough for statistics, too coarse to match against other logs.
    received_at: Mapped[datetime]
    receipt_lookup: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    reporter_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Data key wrapped per recipient label ("queue:7", "recovery:1"), base64 values.
    key_wraps: Mapped[dict[str, Any]]
    unread_for_police: Mapped[int] = mapped_column(default=0)
    unread_for_reporter: Mapped[int] = mapped_column(default=0)
    acknowledged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(30))
    # Outcome figures for statistics: {"arrests": 2, "seizures_grams": 15.5}
    outcome: Mapped[dict[str, Any] | None]


class TipAttachment(Base):
    __tablename__ = "tip_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    mime: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TipMessage(Base):
    """One message of the anonymous dialogue between police and reporter, sealed."""

    __tablename__ = "tip_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))  # "police" or "reporter"
    created_at: Mapped[datetime]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    key_wraps: Mapped[dict[str, Any]]


class TipNote(Base):
    """An internal note on a tip, for officers only, sealed like the tip."""

    __tablename__ = "tip_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    tip_id: Mapped[str] = mapped_column(ForeignKey("tips.id", ondelete="CASCADE"), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    created_at: Mapped[datetime]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    key_wraps: Mapped[dict[str, Any]]


class AuditEvent(Base):
    """Append-only, hash-chained record of every officer action. Never tip content."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    tip_id: Mapped[str | None] = mapped_column(String(16), index=True)
    queue_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ApiToken(Base):
    """A token for a police case system; it unlocks its officer's key like a password."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    locked_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)


class ConversationState(Base):
    """Per-chat state, keyed by a keyed hash of the chat and sealed with a chat-derived key."""

    __tablename__ = "conversation_states"
    chat_tag: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DraftAttachment(Base):
    """A photo of a tip being written, sealed with the chat-derived key until the tip is sent."""

    __tablename__ = "draft_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_tag: Mapped[bytes] = mapped_column(
        ForeignKey("conversation_states.chat_tag", ondelete="CASCADE"), index=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Throttle(Base):
    """Attempt counters (wrong receipts), keyed by a purpose-specific hash of the chat."""

    __tablename__ = "throttles"
    key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    window_start: Mapped[datetime]
    attempts: Mapped[int]


class Subscriber(Base):
    """Someone who receives awareness messages. Never linked to a tip.

    ``address`` is the chat key (``tg:<id>``) sealed with a key derived from the subscriber
    key (outside the data directory), so the broadcaster can open it and a copy of the
    database cannot;
    ``lookup`` finds the row from the chat (a keyed hash, purpose ``"subscriber"``).
    Dates are kept to the day.
    """

    __tablename__ = "subscribers"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[bytes] = mapped_column(LargeBinary)
    lookup: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    province_code: Mapped[int]
    commune_code: Mapped[int | None]
    group: Mapped[str] = mapped_column("audience_group", String(40))
    locale: Mapped[str] = mapped_column(String(5))
    quiet_hours: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[date] = mapped_column(Date)
    deactivated_at: Mapped[date | None] = mapped_column(Date)
    # Why it stopped: "stopped" (the subscriber asked) or "blocked" (the platform said so).
    reason: Mapped[str | None] = mapped_column(String(20))


class Campaign(Base):
    """A campaign as loaded from its file (``content/campaigns/<slug>.yaml``)."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[dict[str, Any]]
    theme: Mapped[dict[str, Any]]
    period_start: Mapped[str] = mapped_column(String(5))
    period_end: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list[str]]
    audience_groups: Mapped[list[str]]
    loaded_at: Mapped[datetime]


class CampaignMessage(Base):
    """One message of a campaign and where it stands.

    The send rule is either ``yearly`` ("MM-DD HH:MM" local time in ``timezone``) or
    ``send_at`` (one UTC instant). ``due_at`` is the next occurrence (UTC) or None when
    nothing is left to send; ``occurrence`` is the year of the occurrence being sent, or
    last sent, held or missed. ``state`` is one of scheduled, sending, paused, cancelled,
    done, missed (see docs/campaigns.md).
    """

    __tablename__ = "campaign_messages"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    yearly: Mapped[str | None] = mapped_column(String(11))
    send_at: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64))
    # {"groups": ["all"] | [...], "areas": null | [{"province": 1, "communes": [4] | null}]}
    audience: Mapped[dict[str, Any]]
    bodies: Mapped[dict[str, Any]]
    image: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(
        String(12), default="scheduled", server_default="scheduled", index=True
    )
    due_at: Mapped[datetime | None]
    occurrence: Mapped[int | None]
    updated_at: Mapped[datetime]


class Delivery(Base):
    """One campaign message occurrence for one subscriber.

    Unique per (message, occurrence, subscriber), so materialising twice adds nothing.
    ``status``: pending, sending (claimed by ``claimed_by`` at ``claimed_at``), sent,
    failed, blocked, skipped, or uncertain (was being sent when its worker died: possibly
    sent, and not sent again because ``TIPLINE_BROADCAST_IN_FLIGHT=drop``). With the
    default ``resend`` such a row goes back to ``pending`` with ``redelivered`` set: once
    sent it is counted as ``resent`` (it may have arrived twice). ``province_code`` and
    ``audience_group`` are the subscriber's at materialisation, for figures that outlive a
    forgotten subscriber (whose id becomes NULL).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_message_id", "occurrence", "subscriber_id"),
        Index(
            "ix_deliveries_claim",
            "campaign_message_id",
            "occurrence",
            "channel",
            "status",
            "next_attempt_at",
        ),
        Index("ix_deliveries_subscriber", "subscriber_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_message_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_messages.id", ondelete="CASCADE")
    )
    occurrence: Mapped[int]
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[int]
    audience_group: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(40))
    redelivered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
