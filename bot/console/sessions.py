"""Console sessions: server-side, in memory, keyed by a random token in a cookie.

A session holds the officer's unlocked keys, so it lives only in this process's memory:
nothing about it is written to disk or logged, and restarting the process logs every
officer out. The cookie carries 32 random bytes; the store keys sessions by a hash of
them, so the store itself never holds a usable cookie value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from storage.accounts import TotpEnrolment
from storage.police import UnlockedOfficer

__all__ = [
    "LANG_COOKIE",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "ConsoleSession",
    "LoginGuard",
    "SessionStore",
    "same_secret",
]

SESSION_COOKIE = "tipline_console"
LOGIN_COOKIE = "tipline_login"
LANG_COOKIE = "tipline_lang"
COOKIE_PATH = "/console"


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(eq=False)
class ConsoleSession:
    """One signed-in officer in one browser."""

    officer: UnlockedOfficer
    csrf: str = field(repr=False)
    created_at: float
    last_seen: float
    # After a first login without TOTP the officer must enrol before anything else.
    needs_totp: bool = False
    enrolment: TotpEnrolment | None = field(default=None, repr=False)
    # Recovery codes wait here between enrolment and the one page that shows them.
    recovery_codes: list[str] | None = field(default=None, repr=False)
    flashes: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def flash(self, kind: str, message: str) -> None:
        """A message shown once on the next page (``kind`` is "ok" or "error")."""
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken


class SessionStore:
    """Sessions by token, with an idle limit and an absolute limit."""

    def __init__(
        self,
        *,
        idle: timedelta,
        max_age: timedelta,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle = idle.total_seconds()
        self.max_age = max_age.total_seconds()
        self.clock = clock
        self._sessions: dict[bytes, ConsoleSession] = {}

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode()).digest()

    def __len__(self) -> int:
        return len(self._sessions)

    def live(self) -> list[ConsoleSession]:
        """Every session held right now, expired or not yet swept."""
        return list(self._sessions.values())

    def officers(self) -> list[UnlockedOfficer]:
        """Everyone signed in (for tests and operators: who holds keys right now)."""
        return [s.officer for s in self._sessions.values()]

    def create(self, officer: UnlockedOfficer, *, needs_totp: bool) -> tuple[str, ConsoleSession]:
        """A new session; returns the cookie token (shown to no one else) and the session."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        session = ConsoleSession(
            officer=officer,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            needs_totp=needs_totp,
        )
        self._sessions[self._key(token)] = session
        return token, session

    def expired(self, session: ConsoleSession) -> bool:
        now = self.clock()
        return now - session.last_seen >= self.idle or now - session.created_at >= self.max_age

    def get(self, token: str | None) -> ConsoleSession | None:
        """The live session of a token (expired ones are left for :meth:`sweep`)."""
        if not token:
            return None
        return self._sessions.get(self._key(token))

    def touch(self, session: ConsoleSession) -> None:
        session.last_seen = self.clock()

    def forget(self, token: str) -> ConsoleSession | None:
        """Drop a session and with it the only reference to the officer's keys."""
        return self._sessions.pop(self._key(token), None)

    def of_officer(self, officer_id: int) -> list[ConsoleSession]:
        """Every session of one account (it may be signed in from several browsers)."""
        return [s for s in self._sessions.values() if s.officer.officer_id == officer_id]

    def end_officer(self, officer_id: int) -> list[ConsoleSession]:
        """End every session of one account at once (deactivated, two-step login reset)."""
        gone = [k for k, s in self._sessions.items() if s.officer.officer_id == officer_id]
        return [self._sessions.pop(key) for key in gone]

    def sweep(self) -> list[ConsoleSession]:
        """Remove every expired session; returns them so the caller can record it."""
        gone = [key for key, s in self._sessions.items() if self.expired(s)]
        return [self._sessions.pop(key) for key in gone]


class LoginGuard:
    """CSRF protection of the login form, before any session exists.

    The login page sets a random cookie and puts an HMAC of it (under a key that lives
    only in this process) in the form; a forged cross-site form can neither read the
    cookie nor compute the field.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def form_token(self, cookie: str) -> str:
        return hmac.new(self._key, b"login:" + cookie.encode(), hashlib.sha256).hexdigest()

    def check(self, cookie: str | None, given: str | None) -> bool:
        if not cookie:
            return False
        return same_secret(given, self.form_token(cookie))
