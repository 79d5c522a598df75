"""Console accounts: login with lockout, TOTP second factor, recovery codes, API tokens.

The password opens the officer's private key (Argon2id); there is no other password hash.
The TOTP secret is wrapped for the officer's own public key, so it can only be checked
after the password has opened the private key, and a database copy does not reveal it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select

from storage import sealing
from storage.audit import record
from storage.db import Database
from storage.models import ApiToken, Officer
from storage.police import UnlockedOfficer, unlocked_officer

__all__ = ["UNKNOWN_ACTOR", "Accounts", "LoginFailed", "TotpEnrolment"]

_TOTP_CONTEXT = b"totp"
_TOKEN_CONTEXT = b"api-token"
_STEP = 30
FREE_ATTEMPTS = 5
MAX_LOCK = timedelta(hours=1)
# The audit actor of a login that named no account.
UNKNOWN_ACTOR = "unknown"


class LoginFailed(Exception):
    """Why a login did not succeed. ``credentials`` covers unknown users, wrong passwords
    and wrong second factors alike, so the page never tells which was wrong."""

    def __init__(
        self,
        reason: Literal["credentials", "locked", "totp_required"],
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: bytes
    uri: str


def _totp(secret: bytes) -> TOTP:
    # RFC 6238 with SHA-1: what every authenticator app implements.
    return TOTP(secret, 6, SHA1(), _STEP, enforce_key_length=False)  # noqa: S303


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def lock_delay(failures: int) -> timedelta:
    """How long an account stays locked after ``failures`` wrong logins in a row."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    delay: timedelta = timedelta(minutes=1) * 2 ** min(failures - FREE_ATTEMPTS, 10)
    return min(MAX_LOCK, delay)


class Accounts:
    def __init__(self, db: Database, kdf: sealing.KdfParams) -> None:
        self._db = db
        self._kdf = kdf
        self._decoy: bytes | None = None

    async def login(
        self,
        username: str,
        password: str,
        second_factor: str | None = None,
        *,
        now: datetime | None = None,
    ) -> UnlockedOfficer:
        """Check password and second factor; returns the unlocked officer or raises
        :class:`LoginFailed`. Failures count towards a growing lock of the account."""
        now = now or datetime.now(UTC)
        failure: LoginFailed | None = None
        # Failures are committed before raising: a rolled-back counter would never lock.
        async with self._db.sessions.begin() as session:
            officer = await session.scalar(
                select(Officer)
                .where(Officer.username == username, Officer.active.is_(True))
                .with_for_update()
            )
            if officer is None:
                await self._decoy_work(password)
                # A deactivated account is named; anything else is "unknown", never the
                # typed text: a password typed into the username box would stay in the
                # audit log for good.
                inactive = await session.scalar(
                    select(Officer.username).where(
                        Officer.username == username, Officer.active.is_(False)
                    )
                )
                if inactive is not None:
                    await record(session, inactive, "login_failed", inactive=True)
                else:
                    await record(session, UNKNOWN_ACTOR, "login_failed")
                failure = LoginFailed("credentials")
            elif (
                officer.locked_until is not None and officer.locked_until.replace(tzinfo=UTC) > now
            ):
                failure = LoginFailed("locked", officer.locked_until.replace(tzinfo=UTC) - now)
            else:
                try:
                    private = await asyncio.to_thread(
                        sealing.unlock_private_key, officer.locked_private_key, password
                    )
                except sealing.WrongPassword:
                    private = None
                if private is not None and officer.totp_wrapped is not None:
                    if not second_factor:
                        failure = LoginFailed("totp_required")
                    elif not self._second_factor_ok(officer, private, second_factor, now):
                        private = None
                if failure is None and private is None:
                    officer.failed_logins += 1
                    delay = lock_delay(officer.failed_logins)
                    officer.locked_until = now + delay if delay else None
                    await record(
                        session, officer.username, "login_failed", failures=officer.failed_logins
                    )
                    failure = LoginFailed("credentials")
                elif failure is None and private is not None:
                    officer.failed_logins = 0
                    officer.locked_until = None
                    await record(session, officer.username, "login")
                    return await unlocked_officer(session, officer, private)
        assert failure is not None
        raise failure

    async def _decoy_work(self, password: str) -> None:
        """The same Argon2id work as a real password check, so timing tells nothing."""
        if self._decoy is None:
            self._decoy = sealing.lock_private_key(
                sealing.new_data_key(), secrets.token_hex(8), self._kdf
            )
        with contextlib.suppress(sealing.WrongPassword):
            await asyncio.to_thread(sealing.unlock_private_key, self._decoy, password)

    def _second_factor_ok(
        self, officer: Officer, private: bytes, given: str, now: datetime
    ) -> bool:
        code = given.replace(" ", "").replace("-", "")
        if code.isdigit() and len(code) == 6 and officer.totp_wrapped is not None:
            secret = sealing.unwrap_key(officer.totp_wrapped, private, _TOTP_CONTEXT)
            step = int(now.timestamp()) // _STEP
            for candidate in (step - 1, step, step + 1):
                if candidate <= officer.totp_last_step:
                    continue  # a code is good once
                try:
                    _totp(secret).verify(code.encode(), candidate * _STEP)
                except InvalidToken:
                    continue
                officer.totp_last_step = candidate
                return True
            return False
        hashed = _code_hash(given)
        codes = list(officer.recovery_codes or [])
        for stored in codes:
            if hmac.compare_digest(stored, hashed):
                codes.remove(stored)
                officer.recovery_codes = codes
                return True
        return False

    @staticmethod
    def totp_enrolment(username: str) -> TotpEnrolment:
        """A new TOTP secret and its otpauth URI (for the QR code); nothing is stored yet."""
        secret = secrets.token_bytes(20)
        uri = _totp(secret).get_provisioning_uri(username, "Tipline")
        return TotpEnrolment(secret=secret, uri=uri)

    async def confirm_totp(
        self, officer: UnlockedOfficer, secret: bytes, code: str, *, now: datetime | None = None
    ) -> list[str]:
        """Turn TOTP on once the officer typed a valid code; returns 10 recovery codes,
        shown once."""
        now = now or datetime.now(UTC)
        step = int(now.timestamp()) // _STEP
        totp = _totp(secret)
        valid = False
        for candidate in (step - 1, step, step + 1):
            try:
                totp.verify(code.strip().encode(), candidate * _STEP)
                valid = True
                break
            except InvalidToken:
                continue
        if not valid:
            raise LoginFailed("credentials")
        codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(10)]
        async with self._db.sessions.begin() as session:
            row = await session.get(Officer, officer.officer_id)
            if row is None:
                raise LookupError("officer gone")
            row.totp_wrapped = sealing.wrap_key(secret, row.public_key, _TOTP_CONTEXT)
            row.totp_last_step = step
            row.recovery_codes = [_code_hash(c) for c in codes]
            await record(session, row.username, "totp_enrolled")
        return codes

    async def has_totp(self, officer_id: int) -> bool:
        async with self._db.sessions() as session:
            row = await session.get(Officer, officer_id)
            return row is not None and row.totp_wrapped is not None

    async def logout(self, officer: UnlockedOfficer, reason: str = "logout") -> None:
        async with self._db.sessions.begin() as session:
            await record(session, officer.username, reason)

    # --- API tokens -------------------------------------------------------------------------

    async def create_token(self, officer: UnlockedOfficer, name: str) -> str:
        """A token for a police case system with the officer's permissions; shown once.

        The token carries a secret that opens a copy of the officer's private key, the way
        the password does; the database keeps only that locked copy."""
        token_id = secrets.token_hex(8)
        secret = secrets.token_bytes(32)
        key = hashlib.sha256(_TOKEN_CONTEXT + secret).digest()
        locked = sealing.seal(key, officer.private_key, _TOKEN_CONTEXT + token_id.encode())
        async with self._db.sessions.begin() as session:
            session.add(
                ApiToken(
                    id=token_id,
                    officer_id=officer.officer_id,
                    name=name[:120],
                    locked_private_key=locked,
                    created_at=datetime.now(UTC),
                )
            )
            await record(session, officer.username, "token_created", token=token_id)
        return f"tl_{token_id}_{secret.hex()}"

    async def token_login(self, token: str) -> UnlockedOfficer:
        """The officer a token stands for; raises ``LoginFailed("credentials")``."""
        parts = token.split("_")
        if len(parts) != 3 or parts[0] != "tl" or len(parts[2]) != 64:
            raise LoginFailed("credentials")
        token_id, secret_hex = parts[1], parts[2]
        try:
            secret = bytes.fromhex(secret_hex)
        except ValueError:
            raise LoginFailed("credentials") from None
        async with self._db.sessions.begin() as session:
            row = await session.get(ApiToken, token_id)
            if row is None or row.revoked:
                raise LoginFailed("credentials")
            officer = await session.get(Officer, row.officer_id)
            if officer is None or not officer.active:
                raise LoginFailed("credentials")
            key = hashlib.sha256(_TOKEN_CONTEXT + secret).digest()
            try:
                private = sealing.open_sealed(
                    key, row.locked_private_key, _TOKEN_CONTEXT + token_id.encode()
                )
            except sealing.CannotOpen:
                raise LoginFailed("credentials") from None
            row.last_used_at = datetime.now(UTC)
            return await unlocked_officer(session, officer, private)

    async def revoke_token(self, officer: UnlockedOfficer, token_id: str) -> None:
        async with self._db.sessions.begin() as session:
            row = await session.get(ApiToken, token_id)
            if row is None or (row.officer_id != officer.officer_id and officer.role != "admin"):
                raise LookupError("no such token")
            row.revoked = True
            await record(session, officer.username, "token_revoked", token=token_id)
