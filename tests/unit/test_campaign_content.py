"""Campaign files: every file in content/campaigns loads and passes the checks, the June
campaign has what the Action Month needs, and the checker catches each kind of problem."""

from __future__ import annotations

import copy
import re
import unicodedata
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.campaigns.schema import (
    CampaignFile,
    CampaignFileError,
    check_campaign,
    load_campaign_file,
    sent_text,
)
from storage.directory import Directory

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGNS = ROOT / "content" / "campaigns"
JUNE = CAMPAIGNS / "june-action-month.yaml"

HOUSE_LIMIT = 1500
"""Our own limit per body and language, below Zalo's 2,000."""

GROUPS = [
    "students",
    "parents",
    "workers",
    "business_owners",
    "families",
    "ethnic_minority_border",
    "officials",
    "general",
]
# Words that label people who use drugs; bodies must not use them.
STIGMA = ("con nghiện", "nghiện ngập", "đồ nghiện", "junkie", "druggie")
VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯ]|[àáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]")


def campaign_files() -> list[Path]:
    return sorted(CAMPAIGNS.glob("*.yaml"))


# --------------------------------------------------------------------------- the content


def test_the_june_campaign_exists() -> None:
    assert JUNE in campaign_files()


@pytest.mark.parametrize("path", campaign_files(), ids=lambda path: path.name)
def test_campaign_file_loads_and_has_no_problems(path: Path) -> None:
    campaign = load_campaign_file(path)
    assert check_campaign(campaign) == []


@pytest.mark.parametrize("path", campaign_files(), ids=lambda path: path.name)
def test_campaign_text_follows_the_house_rules(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", raw) == raw, "save the file as NFC"
    campaign = load_campaign_file(path)
    problems: list[str] = []
    for message in campaign.messages:
        for language, text in message.body.items():
            where = f"{message.id} [{language}]"
            length = len(sent_text(text))
            if length > HOUSE_LIMIT:
                problems.append(f"{where}: {length} characters, at most {HOUSE_LIMIT}")
            lowered = text.lower()
            problems += [f"{where}: uses '{word}'" for word in STIGMA if word in lowered]
            # The only phone numbers we give are 113 (police) and 115 (ambulance).
            for number in re.findall(r"(?<![\d/])\d{3}(?![\d/])|\d{5,}", text):
                if number not in ("113", "115"):
                    problems.append(f"{where}: mentions the number {number}")
            if language == "vi" and not VIETNAMESE_LETTERS.search(text):
                problems.append(f"{where}: has no Vietnamese diacritics")
        start = message.send.local_time
        if not time(7, 0) <= start <= time(20, 30):
            problems.append(f"{message.id}: sent at {start:%H:%M}, outside 07:00-20:30")
    assert problems == []


@pytest.fixture(scope="module")
def june() -> CampaignFile:
    return load_campaign_file(JUNE)


def _on(campaign: CampaignFile, month_day: str) -> list[tuple[str, str, list[str]]]:
    """(time, id, groups) of the messages sent on a month-day, by time."""
    found = []
    for message in campaign.messages:
        month, day = message.send.month_day
        if f"{month:02d}-{day:02d}" == month_day:
            at = f"{message.send.local_time:%H:%M}"
            found.append((at, message.id, message.audience.groups))
    return sorted(found)


def test_june_declares_every_audience_group(june: CampaignFile) -> None:
    assert june.period.start == "06-01" and june.period.end == "06-30"
    assert june.timezone == "Asia/Ho_Chi_Minh"
    assert june.languages == ["vi", "en"]
    assert sorted(june.audience_groups) == sorted(GROUPS)


def test_june_opens_on_the_first_and_closes_on_the_thirtieth(june: CampaignFile) -> None:
    first = _on(june, "06-01")
    assert first and first[0][2] == ["all"]
    last = _on(june, "06-30")
    assert last and last[-1][2] == ["all"]


def test_june_has_the_26_june_series(june: CampaignFile) -> None:
    series = {at: groups for at, _id, groups in _on(june, "06-26")}
    assert series == {"07:00": ["all"], "12:00": ["all"], "19:30": ["all"]}
    evening = next(m for m in june.messages if m.id == "june-26-evening-report")
    assert all("/tobao" in text for text in evening.body.values())


def test_june_gives_every_group_three_messages_a_week(june: CampaignFile) -> None:
    # Strictly within the four full weeks: 29-30 June is not needed to reach the minimum.
    counts = {(group, week): 0 for group in GROUPS for week in range(4)}
    for message in june.messages:
        _, day = message.send.month_day
        if day > 28 or not message.audience.everywhere:
            continue
        groups = GROUPS if message.audience.groups == ["all"] else message.audience.groups
        for group in groups:
            counts[group, (day - 1) // 7] += 1
    assert {key: n for key, n in counts.items() if n < 3} == {}


def test_june_tells_people_how_to_get_help_and_report(june: CampaignFile) -> None:
    everything = "\n".join(m.body["vi"] + m.body["en"] for m in june.messages)
    for needed in ("/tobao", "113", "115", "methadone", "cai nghiện tự nguyện", "/hoc"):
        assert needed in everything


# --------------------------------------------------------------------------- the checker


def _body(vi: str = "Gõ /tobao để báo tin.", en: str = "Type /tobao to report.") -> dict[str, str]:
    return {"vi": vi, "en": en}


def _message(message_id: str, when: str, groups: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": message_id,
        "send": {"yearly": when},
        "audience": {"groups": groups or ["all"], "areas": "all"},
        "body": _body(),
    }


def _base() -> dict[str, Any]:
    """A small June campaign with no problems: three messages to all in each full week."""
    days = [1, 3, 5, 8, 10, 12, 15, 17, 19, 22, 24, 26]
    return {
        "id": "test-campaign",
        "title": {"vi": "Chiến dịch thử", "en": "Test campaign"},
        "theme": {"vi": "Chủ đề thử", "en": "Test theme"},
        "period": {"start": "06-01", "end": "06-30"},
        "timezone": "Asia/Ho_Chi_Minh",
        "languages": ["vi", "en"],
        "audience_groups": ["students", "parents"],
        "messages": [_message(f"day-{day}", f"06-{day:02d} 09:00") for day in days],
    }


def _load(tmp_path: Path, data: dict[str, Any]) -> CampaignFile:
    path = tmp_path / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_campaign_file(path)


def _problems(tmp_path: Path, data: dict[str, Any], **options: Any) -> list[str]:
    return check_campaign(_load(tmp_path, data), **options)


def _one(problems: list[str], *fragments: str) -> str:
    """The single problem mentioning every fragment (and fail if there is not exactly one)."""
    matching = [p for p in problems if all(f in p for f in fragments)]
    assert len(matching) == 1, f"expected one problem with {fragments}, got {problems}"
    return matching[0]


def test_the_base_campaign_has_no_problems(tmp_path: Path) -> None:
    assert _problems(tmp_path, _base()) == []


def test_duplicate_message_ids(tmp_path: Path) -> None:
    data = _base()
    data["messages"].append(_message("day-1", "06-29 09:00"))
    _one(_problems(tmp_path, data), "'day-1'", "2 times", "unique")


def test_yearly_send_outside_the_period(tmp_path: Path) -> None:
    data = _base()
    data["messages"].append(_message("late", "07-01 09:00"))
    _one(_problems(tmp_path, data), "message 'late'", "07-01 09:00", "outside the period")


def test_one_off_send_inside_and_outside_the_period(tmp_path: Path) -> None:
    data = _base()
    inside, outside = _message("inside", ""), _message("outside", "")
    inside["send"] = {"at": "2026-06-29T10:00"}
    outside["send"] = {"at": "2026-05-31T10:00"}
    data["messages"] += [inside, outside]
    problems = _problems(tmp_path, data)
    _one(problems, "message 'outside'", "2026-05-31T10:00", "outside the period")
    assert not any("'inside'" in p for p in problems)


def test_sends_in_quiet_hours(tmp_path: Path) -> None:
    data = _base()
    data["messages"] += [_message("night", "06-02 21:00"), _message("dawn", "06-02 06:59")]
    data["messages"].append(_message("evening", "06-02 20:30"))
    problems = _problems(tmp_path, data)
    _one(problems, "message 'night'", "quiet hours")
    _one(problems, "message 'dawn'", "quiet hours")
    assert not any("'evening'" in p for p in problems)


def test_send_time_skipped_by_daylight_saving(tmp_path: Path) -> None:
    data = _base()
    data["timezone"] = "Europe/Berlin"  # clocks jump from 02:00 to 03:00 in late March
    data["period"] = {"start": "03-01", "end": "03-31"}
    data["messages"] = [_message("gap", "03-29 08:00"), _message("yearly-gap", "03-29 02:30")]
    data["messages"][0]["send"] = {"at": "2026-03-29T02:30"}
    data["messages"].append(_message("fine", "03-29 08:00"))
    data["audience_groups"] = ["students"]
    problems = _problems(tmp_path, data)
    _one(problems, "message 'gap'", "does not exist on the local clock", "2026-03-29 02:30")
    # Some year within the next twelve has its last Sunday of March on the 29th.
    _one(problems, "message 'yearly-gap'", "does not exist on the local clock")
    # Such a gap is always at night, so it is in the quiet hours as well.
    assert len(problems) == 4 and not any("'fine'" in p for p in problems)


def test_timezone_must_be_an_iana_zone(tmp_path: Path) -> None:
    data = _base()
    data["timezone"] = "Asia/Hanoi"
    _one(_problems(tmp_path, data), "timezone 'Asia/Hanoi'", "IANA")


def test_languages_must_match_every_text(tmp_path: Path) -> None:
    data = _base()
    data["title"] = {"vi": "Thử", "en": "Test", "fr": "Essai"}
    data["messages"][0]["body"] = {"vi": "Chỉ có tiếng Việt."}
    data["languages"] = ["vi", "en", "vi"]
    problems = _problems(tmp_path, data)
    _one(problems, "title", "'fr'", "not in languages")
    _one(problems, "message 'day-1'", "body", "'en' text is missing")
    _one(problems, "languages lists 'vi' 2 times")


def test_body_length_per_platform(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["body"]["vi"] = "a" * 2100
    data["messages"][1]["body"]["en"] = "b" * 4200
    # 1,999 characters once the ** markers are stripped: fine everywhere.
    data["messages"][2]["body"]["vi"] = "**" + "c" * 1999 + "**"
    problems = _problems(tmp_path, data)
    _one(problems, "message 'day-1'", "body.vi", "2100 characters", "Zalo", "2000")
    _one(problems, "message 'day-3'", "body.en", "4200 characters", "Zalo")
    _one(problems, "message 'day-3'", "body.en", "4200 characters", "Telegram", "4096")
    assert len(problems) == 3


def test_groups_must_be_declared(tmp_path: Path) -> None:
    data = _base()
    data["audience_groups"] = ["students", "parents", "officials"]
    data["messages"] += [
        _message("typo", "06-02 09:00", ["studnets"]),
        _message("mixed", "06-02 10:00", ["all", "parents"]),
        _message("both", "06-02 11:00", ["students", "parents"]),
    ]
    problems = _problems(tmp_path, data)
    _one(problems, "message 'typo'", "'studnets'", "not declared")
    _one(problems, "message 'mixed'", "'all' and other groups")
    assert not any("'officials'" in p for p in problems)  # messages to all use every group


def test_declared_group_without_messages(tmp_path: Path) -> None:
    data = _base()
    data["audience_groups"] = ["students", "parents"]
    for message in data["messages"]:
        message["audience"]["groups"] = ["students"]
    problems = _problems(tmp_path, data, weekly_rule=False)
    assert problems == [_one(problems, "'parents'", "no message uses it")]


def test_reserved_group_name_all(tmp_path: Path) -> None:
    data = _base()
    data["audience_groups"] = ["students", "all"]
    _one(_problems(tmp_path, data), "audience_groups must not list 'all'")


def test_provinces_and_communes_must_be_current(tmp_path: Path) -> None:
    directory = Directory.load()
    saigon_commune = directory.communes_of(79)[0]
    data = _base()
    data["messages"][0]["audience"]["areas"] = [
        1,
        99,
        {"province": 1, "communes": [4, 70]},
        {"province": 1, "communes": [saigon_commune.code, 99999999]},
    ]
    problems = _problems(tmp_path, data, weekly_rule=False)
    _one(problems, "message 'day-1'", "99 is not a current province")
    _one(problems, f"commune {saigon_commune.code}", "is not in province 1")
    _one(problems, "99999999 is not a current commune")
    assert len(problems) == 3


def test_commands_must_be_the_bots_own(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["body"] = _body(
        vi="Ngày 26/6, gõ /TOBAO hoặc /hoc; bar/karaoke và 1/7/2025 không phải lệnh.",
        en="Type /baocao to report.",
    )
    problems = _problems(tmp_path, data)
    assert problems == [_one(problems, "body.en", "/baocao", "not a bot command")]


def test_no_urls(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["body"] = _body(
        vi="Xem https://example.vn/tin để biết thêm.", en="See www.example.com."
    )
    problems = _problems(tmp_path, data)
    _one(problems, "body.vi", "https://example.vn/tin", "must not have URLs")
    _one(problems, "body.en", "www.example.com", "must not have URLs")


def test_weekly_minimum_per_group(tmp_path: Path) -> None:
    data = _base()
    data["messages"] = [m for m in data["messages"] if m["id"] != "day-10"]
    data["messages"].append(_message("students-only", "06-11 09:00", ["students"]))
    problems = _problems(tmp_path, data)
    message = _one(problems, "'parents'", "week 2", "06-08 to 06-14")
    assert "gets 2 message(s)" in message and "at least 3" in message
    assert problems == [message]


def test_weekly_minimum_counts_the_short_last_days_in_the_last_week(tmp_path: Path) -> None:
    data = _base()
    data["messages"] = [m for m in data["messages"] if m["id"] not in ("day-22", "day-24")]
    data["messages"] += [_message("day-29", "06-29 09:00"), _message("day-30", "06-30 09:00")]
    assert _problems(tmp_path, data) == []
    data["messages"] = [m for m in data["messages"] if m["id"] != "day-30"]
    _one(_problems(tmp_path, data), "'students'", "week 4", "06-22 to 06-30")


def test_weekly_minimum_ignores_messages_to_some_areas(tmp_path: Path) -> None:
    data = _base()
    data["messages"][3]["audience"]["areas"] = [80, 82]
    problems = _problems(tmp_path, data)
    assert len(problems) == 2 and all("week 2" in p for p in problems)


def test_weekly_minimum_is_a_parameter_and_applies_to_june_only(tmp_path: Path) -> None:
    data = _base()
    problems = _problems(tmp_path, data, min_per_week=4)
    assert len(problems) == 2 * 4  # two groups, four weeks
    assert _problems(tmp_path, data, min_per_week=0) == []
    data["period"] = {"start": "06-01", "end": "06-29"}
    assert _problems(tmp_path, data, min_per_week=4) == []
    # Generic when asked for: 10 days make one full week, the rest joins it.
    data["period"] = {"start": "12-28", "end": "01-06"}
    data["messages"] = [_message("new-year", "01-02 09:00"), _message("eve", "12-31 09:00")]
    problems = _problems(tmp_path, data, weekly_rule=True)
    assert len(problems) == 2
    _one(problems, "'students'", "gets 2 message(s) in week 1 (12-28 to 01-06)")


def test_images_must_exist_inside_the_images_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "poster.png").write_bytes(b"\x89PNG")
    data = _base()
    data["messages"][0]["image"] = "images/poster.png"
    data["messages"][1]["image"] = "../secret.png"
    data["messages"][2]["image"] = "images/missing.jpg"
    data["messages"][3]["image"] = "images/poster.gif"
    problems = _problems(tmp_path, data)
    _one(problems, "message 'day-3'", "must be a path inside images/")
    _one(problems, "message 'day-5'", "does not exist")
    _one(problems, "message 'day-8'", ".png")
    assert not any("'day-1'" in p for p in problems)


def test_markdown_beyond_paragraphs_bullets_and_bold(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["body"] = _body(vi="**Chú ý: gõ /tobao.\n\n- Một ý.", en="# Title\n\n* x")
    problems = _problems(tmp_path, data)
    _one(problems, "body.vi", "unbalanced **")
    _one(problems, "body.en", "headings")
    _one(problems, "body.en", "'* ' or '+ ' bullets")


def test_text_must_be_nfc_and_not_blank(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["body"]["vi"] = unicodedata.normalize("NFD", "Gõ /tobao để báo tin.")
    data["messages"][1]["body"]["en"] = "   \n"
    problems = _problems(tmp_path, data)
    _one(problems, "message 'day-1'", "body.vi", "NFC")
    _one(problems, "message 'day-3'", "body.en is empty")


def test_id_must_match_the_file_name(tmp_path: Path) -> None:
    data = _base()
    path = tmp_path / "other-name.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    problems = check_campaign(load_campaign_file(path))
    assert problems == [_one(problems, "'test-campaign'", "other-name.yaml")]


def test_leap_day_yearly_send(tmp_path: Path) -> None:
    data = _base()
    data["period"] = {"start": "02-01", "end": "02-29"}
    data["messages"] = [_message("leap", "02-29 09:00")]
    data["audience_groups"] = ["students"]
    _one(_problems(tmp_path, data), "message 'leap'", "leap years")


# --------------------------------------------------------------------------- the loader


def _load_error(tmp_path: Path, data: Any) -> CampaignFileError:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CampaignFileError) as caught:
        load_campaign_file(path)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    return caught.value


def test_send_needs_exactly_one_of_yearly_and_at(tmp_path: Path) -> None:
    data = _base()
    data["messages"][0]["send"] = {"yearly": "06-01 09:00", "at": "2026-06-01T09:00"}
    data["messages"][1]["send"] = {}
    problems = _load_error(tmp_path, data).problems
    _one(problems, "message 'day-1'", "send", "not both")
    _one(problems, "message 'day-3'", "send", "give 'yearly'")


def test_missing_fields_and_wrong_types_name_the_message_and_field(tmp_path: Path) -> None:
    data = _base()
    del data["messages"][0]["body"]
    data["messages"][1]["audience"]["groups"] = "students"
    data["messages"][2]["audience"]["areas"] = ["Hà Nội"]
    del data["messages"][3]["id"]
    del data["timezone"]
    data["messages"][4]["colour"] = "red"
    problems = _load_error(tmp_path, data).problems
    _one(problems, "message 'day-1'", "body", "is required")
    _one(problems, "message 'day-3'", "audience.groups")
    _one(problems, "message 'day-5'", "audience.areas", "'Hà Nội'")
    _one(problems, "message #4", "id", "is required")
    _one(problems, "campaign", "timezone", "is required")
    _one(problems, "message 'day-10'", "colour", "not a known field")


@pytest.mark.parametrize(
    ("send", "fragment"),
    [
        ({"yearly": "06-31 09:00"}, "not a real month-day"),
        ({"yearly": "06-01 24:00"}, "no valid time of day"),
        ({"yearly": "6-1 9:00"}, "MM-DD HH:MM"),
        ({"at": "2026-06-01T09:00+07:00"}, "without a UTC offset"),
        ({"at": "2026-06-01T09:00:30"}, "to the minute"),
    ],
)
def test_bad_send_values(tmp_path: Path, send: dict[str, str], fragment: str) -> None:
    data = _base()
    data["messages"][0]["send"] = send
    _one(_load_error(tmp_path, data).problems, "message 'day-1'", "send.", fragment)


def test_bad_identifiers_and_period(tmp_path: Path) -> None:
    data = copy.deepcopy(_base())
    data["id"] = "June Campaign"
    data["messages"][0]["id"] = "Day_1"
    data["period"]["end"] = "13-01"
    data["audience_groups"] = ["Students"]
    problems = _load_error(tmp_path, data).problems
    _one(problems, "campaign: id", "lowercase")
    _one(problems, "message 'Day_1': id", "lowercase")
    _one(problems, "period.end", "not a real month-day")
    _one(problems, "audience_groups[1]", "underscores")


def test_files_that_are_not_campaigns(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CampaignFileError, match="not valid YAML"):
        load_campaign_file(path)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(CampaignFileError, match="YAML mapping"):
        load_campaign_file(path)
    with pytest.raises(CampaignFileError, match="cannot be read"):
        load_campaign_file(tmp_path / "missing.yaml")
