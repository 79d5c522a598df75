"""Send rules on the campaign clock (Asia/Ho_Chi_Minh, UTC+7) and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.campaigns.timing import SendRule, in_quiet_hours, quiet_hours_end
from tests.campaigns.helpers import vn

VIETNAM = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(VIETNAM)


def test_26_june_at_7_local_is_midnight_utc() -> None:
    rule = SendRule.local(VIETNAM, yearly="06-26 07:00")
    occurrence = rule.next_after(datetime(2026, 1, 1, tzinfo=UTC))
    assert occurrence is not None
    assert occurrence.due_at == datetime(2026, 6, 26, 0, 0, tzinfo=UTC)
    assert occurrence.year == 2026


def test_a_yearly_message_comes_back_every_year() -> None:
    rule = SendRule.local(VIETNAM, yearly="06-26 07:00")
    first = rule.next_after(vn(2026, 6, 26, 7, 0))  # strictly after: the next one
    assert first is not None and first.due_at == vn(2027, 6, 26, 7) and first.year == 2027
    second = rule.next_after(first.due_at)
    assert second is not None and second.due_at == vn(2028, 6, 26, 7)


def test_an_early_morning_message_belongs_to_the_local_year() -> None:
    # 1 January 06:30 in Vietnam is still 31 December in UTC.
    rule = SendRule.local(VIETNAM, yearly="01-01 06:30")
    occurrence = rule.next_after(datetime(2026, 12, 30, tzinfo=UTC))
    assert occurrence is not None
    assert occurrence.due_at == datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert occurrence.year == 2027


def test_29_february_waits_for_a_leap_year() -> None:
    rule = SendRule.local(VIETNAM, yearly="02-29 08:00")
    occurrence = rule.next_after(datetime(2026, 3, 1, tzinfo=UTC))
    assert occurrence is not None and occurrence.year == 2028


def test_a_one_off_message_happens_once() -> None:
    rule = SendRule.local(VIETNAM, at=datetime(2026, 6, 26, 19, 30))
    assert rule.at == datetime(2026, 6, 26, 12, 30, tzinfo=UTC)
    before = rule.next_after(datetime(2026, 6, 1, tzinfo=UTC))
    assert before is not None and before.due_at == rule.at and before.year == 2026
    assert rule.next_after(rule.at) is None


def test_send_now_stands_for_this_years_occurrence() -> None:
    rule = SendRule.local(VIETNAM, yearly="06-26 07:00")
    assert rule.current(vn(2026, 6, 20, 10)).year == 2026
    assert rule.current(vn(2026, 12, 31, 23)).year == 2026
    assert rule.current(vn(2027, 1, 1, 1)).year == 2027


def test_quiet_hours_run_from_21_to_7_local() -> None:
    assert not in_quiet_hours(vn(2026, 6, 26, 20, 59), ZONE)
    assert in_quiet_hours(vn(2026, 6, 26, 21, 0), ZONE)
    assert in_quiet_hours(vn(2026, 6, 27, 3, 0), ZONE)
    assert in_quiet_hours(vn(2026, 6, 27, 6, 59), ZONE)
    assert not in_quiet_hours(vn(2026, 6, 27, 7, 0), ZONE)


def test_quiet_hours_end_at_the_next_7_oclock() -> None:
    assert quiet_hours_end(vn(2026, 6, 26, 22, 15), ZONE) == vn(2026, 6, 27, 7)
    assert quiet_hours_end(vn(2026, 6, 27, 2, 0), ZONE) == vn(2026, 6, 27, 7)
    assert quiet_hours_end(vn(2026, 6, 27, 2, 0), ZONE) == datetime(2026, 6, 27, 0, tzinfo=UTC)
