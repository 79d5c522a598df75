"""When campaign messages are due, and when quiet hours end.

A send rule is either yearly ("MM-DD HH:MM" on the campaign's local clock, every year) or
one instant. Each due time is an :class:`Occurrence`: the UTC instant and the local year it
belongs to. The year is the occurrence's identity: a subscriber gets a yearly message once
per year, however often it is woken, sent by hand or retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.subscriptions import QUIET_END, QUIET_START

__all__ = [
    "Occurrence",
    "SendRule",
    "in_quiet_hours",
    "quiet_hours_end",
    "utc",
]

# How far ahead a yearly rule looks for its next occurrence (02-29 waits up to 8 years).
_YEARS_AHEAD = 9


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive UTC values)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One due time of a message: the UTC instant and the local year it belongs to."""

    due_at: datetime
    year: int


@dataclass(frozen=True, slots=True)
class SendRule:
    """``yearly`` ("MM-DD HH:MM", local time in ``timezone``) or ``at`` (a UTC instant)."""

    timezone: str
    yearly: str | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.yearly is None) == (self.at is None):
            raise ValueError("a send rule is either yearly or at one instant")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def local(
        cls, timezone: str, *, yearly: str | None = None, at: datetime | None = None
    ) -> SendRule:
        """A rule from a campaign file: ``at`` is a naive local date-time in ``timezone``."""
        if at is not None:
            at = utc(at.replace(tzinfo=ZoneInfo(timezone)))
        return cls(timezone=timezone, yearly=yearly, at=at)

    def in_year(self, year: int) -> Occurrence | None:
        """The occurrence in local ``year``, if there is one."""
        zone = self.zone
        if self.at is not None:
            at = utc(self.at)
            local_year = at.astimezone(zone).year
            return Occurrence(at, local_year) if local_year == year else None
        assert self.yearly is not None
        month_day, _, clock = self.yearly.partition(" ")
        month, day = (int(part) for part in month_day.split("-"))
        hour, minute = (int(part) for part in clock.split(":"))
        try:
            local = datetime.combine(date(year, month, day), time(hour, minute), tzinfo=zone)
        except ValueError:  # 02-29 outside a leap year
            return None
        return Occurrence(utc(local), year)

    def next_after(self, moment: datetime) -> Occurrence | None:
        """The first occurrence strictly after ``moment``, or None when there is none."""
        moment = utc(moment)
        first_year = moment.astimezone(self.zone).year
        for year in range(first_year - 1, first_year + _YEARS_AHEAD):
            occurrence = self.in_year(year)
            if occurrence is not None and occurrence.due_at > moment:
                return occurrence
        return None

    def current(self, moment: datetime) -> Occurrence:
        """The occurrence a manual "send now" at ``moment`` stands for: this local year's
        (for a one-off message, its only one)."""
        if self.at is not None:
            at = utc(self.at)
            return Occurrence(at, at.astimezone(self.zone).year)
        year = utc(moment).astimezone(self.zone).year
        return self.in_year(year) or Occurrence(utc(moment), year)

    def short(self) -> str:
        """``yearly 06-26 07:00`` or ``at 2026-06-26 19:30``, on the rule's own clock."""
        if self.yearly is not None:
            return f"yearly {self.yearly}"
        assert self.at is not None
        return f"at {utc(self.at).astimezone(self.zone):%Y-%m-%d %H:%M}"

    def __str__(self) -> str:
        return f"{self.short()} ({self.timezone})"


def in_quiet_hours(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` falls in the quiet hours (21:00 to 07:00) on the local clock."""
    local = utc(moment).astimezone(zone).time()
    if QUIET_START <= QUIET_END:
        return QUIET_START <= local < QUIET_END
    return local >= QUIET_START or local < QUIET_END


def quiet_hours_end(moment: datetime, zone: ZoneInfo) -> datetime:
    """The end of the quiet hours ``moment`` falls in (the next 07:00 local), in UTC."""
    local = utc(moment).astimezone(zone)
    end = datetime.combine(local.date(), QUIET_END, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), QUIET_END, tzinfo=zone)
    return utc(end)
