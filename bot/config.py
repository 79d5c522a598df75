"""Typed settings, read from ``TIPLINE_*`` environment variables and an optional ``.env``.

Nothing is read at import time: :func:`load_settings` builds a :class:`Settings` when the
composition root asks for one, and tests pass values directly (``Settings(database_url=...)``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.roles import Role
from storage import sealing
from storage.sealing import KdfParams

__all__ = ["Settings", "SigningKeyProblem", "load_settings", "write_signing_key"]

# What Telegram accepts as a webhook secret token.
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Zalo asks for 8-256 characters; the same safe alphabet keeps it a valid header value.
ZALO_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{8,256}$")


class Settings(BaseSettings):
    """Everything an operator can set. Every field maps to ``TIPLINE_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="TIPLINE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # Errors must not print tokens or secrets back.
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(
        Path("data"), description="Where the SQLite file lives (no key of chats or subscribers)."
    )
    database_url: str = Field(
        "", description="SQLAlchemy async URL; empty means SQLite in data_dir/tipline.db."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    role: Role = Field(
        "all",
        description="What `tipline serve` runs: bot (internet-facing), console (police network) "
        "or all (both in one process: the demo and small sites; weaker).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis (without persistence) holding the rotating keys of conversation "
        "state, shared by all bot processes; unset keeps them in memory (a restart loses "
        "unsent drafts).",
    )
    redis_key_prefix: str = Field(
        "tipline:", description="Prefix of Tipline's keys in Redis (one per deployment)."
    )
    state_key_hours: float = Field(
        24,
        description="How long one key of conversation state is current; a draft untouched "
        "for one to two such periods can no longer be read.",
    )
    subscriber_key_file: Path | None = Field(
        None,
        description="File of the key sealing subscribers' addresses, outside data_dir; "
        "unset: $XDG_CONFIG_HOME/tipline/subscriber.key (~/.config/tipline/), made once.",
    )
    legacy_state_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("legacy_state_secret", "TIPLINE_STATE_SECRET"),
        description="The state secret of older versions: only read to upgrade, then unset it.",
    )
    signing_key_file: Path | None = Field(
        None,
        description="The Ed25519 signing key that certifies queue, officer and recovery keys "
        "(police side only); unset means data_dir/signing.key, generated when no key is pinned.",
    )
    trusted_signing_key: str | None = Field(
        None,
        description="The pinned signing public key (ed25519:<base64>, from 'tipline keys pin') "
        "that every key must be certified by; unset trusts the signing key file's own.",
    )
    log_level: str = "INFO"
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token for GET /metrics (Prometheus); unset turns the endpoint off.",
    )

    default_locale: Literal["vi", "en"] = "vi"
    max_text_chars: int = 3000
    max_description_chars: int = 12000
    max_photos: int = 5
    max_photo_bytes: int = 10 * 1024 * 1024
    draft_ttl_hours: int = 48
    followup_ttl_minutes: int = 15
    receipt_attempts: int = 5
    receipt_window_minutes: int = 15
    receipt_checks_per_minute: int = Field(
        120, description="All chats together: web chat sessions are cheap to renew."
    )

    flood_per_second: float = Field(
        5, description="Messages a second one chat may send on average; 0 turns flood control off."
    )
    flood_burst: int = Field(
        30, description="Messages one chat may send at once before flood control slows it down."
    )

    kdf_memory_kib: int = Field(65536, description="Argon2id memory for receipts and passwords.")
    kdf_iterations: int = 5

    telegram_token: SecretStr | None = Field(
        None, description="Bot token from @BotFather; the Telegram channel runs when set."
    )
    telegram_api_base: str = Field(
        "https://api.telegram.org", description="Bot API server (a local fake in tests and demos)."
    )
    telegram_webhook_url: str | None = Field(
        None, description="Public HTTPS URL of /telegram/webhook; unset means long polling."
    )
    telegram_webhook_secret: SecretStr | None = Field(
        None, description="Secret Telegram sends with each webhook call (1-256 of A-Z a-z 0-9 _ -)."
    )

    @model_validator(mode="after")
    def _telegram_webhook(self) -> Self:
        if self.telegram_webhook_url:
            if not self.telegram_webhook_url.startswith(("https://", "http://")):
                raise ValueError("TIPLINE_TELEGRAM_WEBHOOK_URL must be an http(s) URL")
            if self.telegram_webhook_secret is None:
                raise ValueError(
                    "webhook mode needs TIPLINE_TELEGRAM_WEBHOOK_SECRET "
                    "(1-256 characters of A-Z a-z 0-9 _ -)"
                )
        secret = self.telegram_webhook_secret
        if secret is not None and not WEBHOOK_SECRET.match(secret.get_secret_value()):
            raise ValueError(
                "TIPLINE_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -"
            )
        return self

    zalo_token: SecretStr | None = Field(
        None,
        description="Token of the Zalo bot (Zalo Bot Creator); the Zalo channel runs when set.",
    )
    zalo_api_base: str = Field(
        "https://bot-api.zaloplatforms.com",
        description="Zalo Bot API server (a local fake in tests and demos).",
    )
    zalo_webhook_url: str | None = Field(
        None, description="Public HTTPS URL of /zalo/webhook; unset means long polling."
    )
    zalo_webhook_secret: SecretStr | None = Field(
        None, description="Secret Zalo sends with each webhook call (8-256 of A-Z a-z 0-9 _ -)."
    )
    zalo_rate_per_second: float = Field(
        5,
        description="Campaign messages a second on Zalo (Zalo publishes no limit; 429s slow "
        "it down further); 0 means no limit of its own.",
    )

    @model_validator(mode="after")
    def _zalo_webhook(self) -> Self:
        if self.zalo_webhook_url:
            if not self.zalo_webhook_url.startswith(("https://", "http://")):
                raise ValueError("TIPLINE_ZALO_WEBHOOK_URL must be an http(s) URL")
            if self.zalo_webhook_secret is None:
                raise ValueError(
                    "webhook mode needs TIPLINE_ZALO_WEBHOOK_SECRET "
                    "(8-256 characters of A-Z a-z 0-9 _ -)"
                )
        secret = self.zalo_webhook_secret
        if secret is not None and not ZALO_WEBHOOK_SECRET.match(secret.get_secret_value()):
            raise ValueError(
                "TIPLINE_ZALO_WEBHOOK_SECRET must be 8-256 characters of A-Z a-z 0-9 _ -"
            )
        return self

    console_idle_minutes: int = Field(30, description="Console sessions end after this idle time.")
    console_max_hours: int = Field(10, description="Console sessions end after this long anyway.")
    console_secure_cookies: bool = Field(
        True, description="Send console cookies over HTTPS only (browsers allow localhost)."
    )
    ack_timeout_hours: int = Field(
        24, description="A new tip nobody acknowledged in this time moves to the province queue."
    )

    campaign_timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="The clock of the scheduler and of quiet hours."
    )
    campaign_grace_hours: float = Field(
        6,
        description="A message that fell due while the service was down is still sent if "
        "at most this late; later, it is recorded as missed.",
    )
    telegram_rate_per_second: float = Field(
        25,
        description="Campaign messages a second on Telegram (the bot's limit is ~30, "
        "shared with replies); 0 means no limit.",
    )
    telegram_chat_interval_seconds: float = Field(
        1.0, description="Least time between two campaign messages to one chat; 0: none."
    )
    broadcast_workers: int = Field(
        4, description="Sending workers per channel on PostgreSQL (SQLite uses one)."
    )
    broadcast_batch: int = Field(100, description="Most deliveries a worker claims at once.")
    broadcast_max_attempts: int = Field(
        5, description="Tries of a delivery that meets 5xx or network errors before it fails."
    )
    broadcast_backoff_seconds: float = Field(
        30, description="Wait after the first failed try; doubles with each one."
    )
    broadcast_lease_seconds: float = Field(
        120,
        description="A delivery left 'sending' this long was in flight when its worker "
        "died; TIPLINE_BROADCAST_IN_FLIGHT says what becomes of it.",
    )
    broadcast_in_flight: Literal["resend", "drop"] = Field(
        "resend",
        description="Deliveries in flight when a worker died may or may not have arrived: "
        "'resend' sends them again (nobody misses the message, a few may get it twice; counted "
        "as 'resent'), 'drop' never does (nobody gets it twice, a few may miss it; counted as "
        "'uncertain').",
    )
    broadcast_poll_seconds: float = Field(
        1.0, description="How often idle workers look for deliveries another process added."
    )

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tipline.db').resolve()}"

    def kdf(self) -> KdfParams:
        return KdfParams(memory_kib=self.kdf_memory_kib, iterations=self.kdf_iterations)

    def subscriber_key_path(self) -> Path:
        """Where the subscriber key is: the setting, or the per-user configuration folder.

        Raises ValueError when it lies inside ``data_dir``: the key must not be copied with
        the database."""
        if self.subscriber_key_file is not None:
            path = self.subscriber_key_file.expanduser()
        else:
            config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
            path = Path(config) / "tipline" / "subscriber.key"
        if path.resolve().is_relative_to(self.data_dir.resolve()):
            raise ValueError(
                f"the subscriber key ({path}) must not be inside the data directory "
                f"({self.data_dir}): set TIPLINE_SUBSCRIBER_KEY_FILE to a path outside it"
            )
        return path

    def subscriber_key_bytes(self) -> bytes:
        """The key sealing subscribers' addresses; made once (mode 0600) when missing."""
        path = self.subscriber_key_path()
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"the subscriber key in {path} is shorter than 16 bytes")
        return key

    def pinned_signing_key(self) -> bytes:
        """The pinned signing public key alone, for a process that must never hold or make the
        private key (the bot role)."""
        if not self.trusted_signing_key:
            raise SigningKeyProblem(
                "set TIPLINE_TRUSTED_SIGNING_KEY to the pinned signing public key "
                "(print it on the police side with 'tipline keys pin')"
            )
        try:
            return sealing.parse_signing_key(self.trusted_signing_key)
        except sealing.SealingError as error:
            raise SigningKeyProblem(
                f"TIPLINE_TRUSTED_SIGNING_KEY is not a signing key: {error}"
            ) from None

    def signing_keys(self) -> tuple[bytes, bytes | None]:
        """The pinned signing public key and, where this process has it, the private key.

        * Nothing set (the all-in-one setup, the demo, the tests): ``data_dir/signing.key``
          is generated once and its public key is trusted. Weaker: the key that certifies
          keys sits next to the database the bot writes.
        * ``trusted_signing_key`` only (a bot-only process): no private key, unless
          ``data_dir/signing.key`` exists, which must then be the pinned key's.
        * ``signing_key_file`` (with or without a pin): that file must exist and, when a key
          is pinned, be the pinned key's.
        """
        pinned = self.pinned_signing_key() if self.trusted_signing_key else None
        path = self.signing_key_file or self.data_dir / "signing.key"
        if not path.exists():
            if self.signing_key_file is not None:
                raise SigningKeyProblem(
                    f"the signing key file {path} does not exist "
                    "(create one with 'tipline keys signing-init')"
                )
            if pinned is not None:
                return pinned, None
            # Another process starting at the same moment may have written it first.
            with contextlib.suppress(FileExistsError):
                write_signing_key(path, sealing.new_signing_key())
        try:
            private = sealing.import_signing_key(path.read_bytes())
        except (OSError, sealing.SealingError) as error:
            raise SigningKeyProblem(f"cannot read the signing key file {path}: {error}") from None
        public = sealing.signing_public_key(private)
        if pinned is not None and public != pinned:
            raise SigningKeyProblem(
                f"the signing key file {path} (fingerprint "
                f"{sealing.signing_key_fingerprint(public)}) is not the pinned signing key "
                f"TIPLINE_TRUSTED_SIGNING_KEY (fingerprint "
                f"{sealing.signing_key_fingerprint(pinned)})"
            )
        return public, private


def write_signing_key(path: Path, private: bytes) -> None:
    """Write a signing key file readable by its owner only; never overwrites one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once must not each write a different key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(sealing.export_signing_key(private))


class SigningKeyProblem(ValueError):
    """The signing key settings cannot work (a missing file, a key that is not the pinned
    one); the message says what to fix."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``.env``, with explicit overrides on top."""
    return Settings(**overrides)
