"""Awareness-campaign files (``content/campaigns/*.yaml``): the format, its loader and checks.

A campaign file is written by communicators, not programmers, so it is checked in two
layers. :func:`load_campaign_file` turns the YAML into a :class:`CampaignFile` and raises
:class:`CampaignFileError` for anything structurally wrong (a missing field, a wrong type,
a send time given both as ``yearly`` and ``at``). :func:`check_campaign` then lists what is
wrong with the content of a well-formed file (a send time outside the period, a body too
long for Zalo, an unknown province, too few messages for a group in a week...), each as
one sentence a communicator can act on. ``content/campaigns/README.md`` documents the
format for them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from handlers.conversation import COMMANDS
from storage.directory import Directory
from storage.subscriptions import QUIET_END, QUIET_START

__all__ = [
    "ALL",
    "IMAGE_DIR",
    "PLATFORM_LIMITS",
    "QUIET_HOURS",
    "Audience",
    "CampaignFile",
    "CampaignFileError",
    "Message",
    "Period",
    "ProvinceArea",
    "Send",
    "check_campaign",
    "is_action_month",
    "load_campaign_file",
    "sent_text",
]

ALL: Final = "all"
"""The word that stands for every group (in ``audience.groups``) or every area (``areas``)."""

PLATFORM_LIMITS: Final[Mapping[str, int]] = {"Zalo": 2000, "Telegram": 4096}
"""The longest message each platform delivers, in characters of the text as sent."""

QUIET_HOURS: Final = (QUIET_START, QUIET_END)
"""No campaign message is sent from the first time (inclusive) to the second (exclusive)."""

IMAGE_DIR: Final = "images"
"""Images live in this folder beside the campaign files; ``image`` paths start with it."""

IMAGE_SUFFIXES: Final = frozenset({".png", ".jpg", ".jpeg", ".webp"})

ACTION_MONTH: Final = ("06-01", "06-30")
"""The Drug Prevention Action Month, 1–30 June every year."""

# A leap year, so that "02-29" is a month-day like any other when days are counted.
_REFERENCE_YEAR: Final = 2000
_DAYS_IN_REFERENCE_YEAR: Final = 366
# Years over which a yearly send time must exist on the local clock (daylight-saving gaps).
_YEARS_CHECKED: Final = 12

_MONTH_DAY = re.compile(r"(\d{2})-(\d{2})")
_YEARLY = re.compile(r"(\d{2})-(\d{2}) (\d{2}):(\d{2})")
_COMMAND = re.compile(r"(?<![\w/])/([A-Za-z][A-Za-z0-9_]*)")
_URL = re.compile(r"\b(?:https?://|www\.)\S*", re.IGNORECASE)
_BOLD = "**"
_UNSUPPORTED_MARKDOWN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s{0,3}#", re.MULTILINE), "headings (#)"),
    (re.compile(r"^\s*[*+] ", re.MULTILINE), "'* ' or '+ ' bullets (use '- ')"),
    (re.compile(r"\[[^\]]*\]\([^)]*\)"), "links [text](...)"),
    (re.compile(r"`"), "code (`)"),
    (re.compile(r"^\s*>", re.MULTILINE), "quotes (>)"),
)

Slug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=64)
]
"""Stable identifiers: lowercase ASCII letters and digits, words joined by single dashes."""

GroupId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
"""An audience group: lowercase ASCII letters, digits and underscores."""

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
"""A language code such as ``vi`` or ``en``."""

Text = Annotated[str, StringConstraints(min_length=1)]

Localized = dict[LanguageCode, Text]
"""One text per language, keyed by language code."""


class CampaignFileError(Exception):
    """A campaign file that cannot be read as a campaign; ``problems`` says why, one per line."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{path}: not a valid campaign file:\n{lines}")


def _parse_month_day(text: str) -> tuple[int, int]:
    match = _MONTH_DAY.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a month-day; write it as MM-DD, e.g. \"06-01\"")
    month, day = int(match[1]), int(match[2])
    try:
        date(_REFERENCE_YEAR, month, day)
    except ValueError:
        raise ValueError(f"'{text}' is not a real month-day") from None
    return month, day


def _valid_month_day(text: str) -> str:
    _parse_month_day(text)
    return text


def _parse_yearly(text: str) -> tuple[int, int, time]:
    match = _YEARLY.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a yearly time; write it as \"MM-DD HH:MM\"")
    month, day = _parse_month_day(f"{match[1]}-{match[2]}")
    hour, minute = int(match[3]), int(match[4])
    if hour > 23 or minute > 59:
        raise ValueError(f"'{text}' has no valid time of day (00:00 to 23:59)")
    return month, day, time(hour, minute)


def _valid_yearly(text: str) -> str:
    _parse_yearly(text)
    return text


MonthDay = Annotated[str, AfterValidator(_valid_month_day)]
YearlyTime = Annotated[str, AfterValidator(_valid_yearly)]


def _naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError(
            "write a local date-time without a UTC offset (the campaign's timezone applies)"
        )
    if value.second or value.microsecond:
        raise ValueError("give the time to the minute, without seconds")
    return value


LocalDateTime = Annotated[datetime, AfterValidator(_naive)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Period(_Model):
    """The days of the year the campaign runs, recurring every year (may cross New Year)."""

    start: MonthDay
    end: MonthDay

    def offset(self, month: int, day: int) -> int:
        """Days from the period's start to this month-day, counting forward (0 = the start)."""
        start = date(_REFERENCE_YEAR, *_parse_month_day(self.start))
        days = (date(_REFERENCE_YEAR, month, day) - start).days
        return days % _DAYS_IN_REFERENCE_YEAR

    @property
    def length(self) -> int:
        """How many days the period has (counted on a leap-year calendar)."""
        return self.offset(*_parse_month_day(self.end)) + 1

    def contains(self, month: int, day: int) -> bool:
        """Whether this month-day falls inside the period."""
        return self.offset(month, day) < self.length

    def __str__(self) -> str:
        return f"{self.start} to {self.end}"


class Send(_Model):
    """When a message goes out: every year at ``yearly``, or once at ``at`` (local time)."""

    yearly: YearlyTime | None = None
    at: LocalDateTime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if self.yearly is not None and self.at is not None:
            raise ValueError("give either 'yearly' or 'at', not both")
        if self.yearly is None and self.at is None:
            raise ValueError("give 'yearly' (\"MM-DD HH:MM\") or 'at' (\"YYYY-MM-DDTHH:MM\")")
        return self

    @property
    def month_day(self) -> tuple[int, int]:
        """The month and day the message is sent on."""
        if self.at is not None:
            return self.at.month, self.at.day
        month, day, _ = _parse_yearly(self.yearly or "")
        return month, day

    @property
    def local_time(self) -> time:
        """The local time of day the message is sent at."""
        if self.at is not None:
            return self.at.time()
        return _parse_yearly(self.yearly or "")[2]

    def local_datetime(self, year: int) -> datetime | None:
        """The naive local date-time of the sending in ``year``, if it is sent that year."""
        if self.at is not None:
            return self.at if self.at.year == year else None
        month, day, at = _parse_yearly(self.yearly or "")
        try:
            return datetime.combine(date(year, month, day), at)
        except ValueError:  # 02-29 outside a leap year
            return None

    def __str__(self) -> str:
        if self.at is not None:
            return f"at {self.at:%Y-%m-%dT%H:%M}"
        return f"yearly {self.yearly}"


class ProvinceArea(_Model):
    """A province, or only some of its communes (current 2025 codes)."""

    province: StrictInt
    communes: list[StrictInt] | None = Field(default=None, min_length=1)


def _areas(value: Any) -> Any:
    """``all`` becomes None; a bare province code becomes ``{province: code}``."""
    if value == ALL:
        return None
    if isinstance(value, list):
        areas: list[Any] = []
        for position, item in enumerate(value, start=1):
            if isinstance(item, int) and not isinstance(item, bool):
                areas.append({"province": item})
            elif isinstance(item, dict):
                areas.append(item)
            else:
                raise ValueError(
                    f"item {position} ({item!r}) is neither a province code nor "
                    "{province: ..., communes: [...]}"
                )
        return areas
    raise ValueError(
        "must be 'all' or a list of province codes or {province: ..., communes: [...]}"
    )


class Audience(_Model):
    """Who receives a message: groups (or ``all``) and areas (``all`` or a list)."""

    groups: list[GroupId] = Field(min_length=1)
    areas: Annotated[list[ProvinceArea] | None, BeforeValidator(_areas)] = Field(min_length=1)

    @property
    def everywhere(self) -> bool:
        """Whether the message goes to every area."""
        return self.areas is None


class Message(_Model):
    """One message of a campaign, in every language of the campaign."""

    id: Slug
    send: Send
    audience: Audience
    image: str | None = None
    body: Localized


class CampaignFile(_Model):
    """A whole campaign file, as read from YAML."""

    id: Slug
    title: Localized
    theme: Localized
    period: Period
    timezone: str
    languages: list[LanguageCode] = Field(min_length=1)
    audience_groups: list[GroupId] = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file the campaign was loaded from, if it came from a file."""
        return self._source


def load_campaign_file(path: Path) -> CampaignFile:
    """Read and validate the structure of one campaign file.

    Raises :class:`CampaignFileError` listing every structural problem, each naming the
    message id (when inside a message) and the field. Content problems are left to
    :func:`check_campaign`.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CampaignFileError(path, [f"cannot be read: {error.strerror or error}"]) from None
    except UnicodeDecodeError:
        raise CampaignFileError(path, ["is not UTF-8 text"]) from None
    except yaml.YAMLError as error:
        raise CampaignFileError(path, [f"is not valid YAML: {error}"]) from None
    if not isinstance(data, dict):
        raise CampaignFileError(path, ["must be a YAML mapping with id, title, messages..."])
    try:
        campaign = CampaignFile.model_validate(data)
    except ValidationError as error:
        problems = [_describe(detail, data) for detail in error.errors()]
        raise CampaignFileError(path, problems) from None
    campaign._source = path
    return campaign


def _describe(detail: ErrorDetails, data: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence naming the message and the field."""
    loc = list(detail["loc"])
    where = "campaign"
    if len(loc) >= 2 and loc[0] == "messages" and isinstance(loc[1], int):
        index = loc[1]
        messages = data.get("messages")
        raw = messages[index] if isinstance(messages, list) and index < len(messages) else None
        message_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(message_id, str) and message_id:
            where = f"message '{message_id}'"
        else:
            where = f"message #{index + 1}"
        loc = loc[2:]
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part + 1}]"  # positions count from 1, as people count
        elif part != "[key]":
            field += f".{part}" if field else str(part)
    field = field or "(the entry itself)"
    kind = detail["type"]
    if kind == "missing":
        text = "is required"
    elif kind == "too_short":
        text = "must not be empty"
    elif kind == "extra_forbidden":
        text = "is not a known field (check the spelling and the indentation)"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "[key]":
        text = "language codes are 2 or 3 lowercase letters, e.g. vi, en"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "id":
        text = "must be lowercase ASCII letters and digits joined by dashes, e.g. week1-launch"
    elif kind == "string_pattern_mismatch":
        text = "must be lowercase ASCII letters, digits and underscores, e.g. business_owners"
    else:
        text = detail["msg"].removeprefix("Value error, ")
        shown = "input" in detail and not isinstance(detail["input"], dict | list)
        if shown and kind != "value_error":
            text += f" (got {detail['input']!r})"
    return f"{where}: {field}: {text}"


def sent_text(text: str) -> str:
    """A body as the platforms receive it: NFC, without ``**`` markers or outer blank space."""
    return unicodedata.normalize("NFC", text).replace(_BOLD, "").strip()


def is_action_month(period: Period) -> bool:
    """Whether the period is the Drug Prevention Action Month (1–30 June)."""
    return (period.start, period.end) == ACTION_MONTH


def check_campaign(
    campaign: CampaignFile,
    *,
    min_per_week: int = 3,
    weekly_rule: bool | None = None,
    directory: Directory | None = None,
) -> list[str]:
    """List the content problems of a campaign, each a sentence saying what to fix.

    An empty list means the campaign is fine. ``min_per_week`` is the number of messages
    each declared audience group must get in every full 7-day window from the period's
    start (a final window shorter than 7 days belongs to the window before it). The rule
    applies when ``weekly_rule`` is true, or, when it is None, only to the Action Month
    (1–30 June). Only messages sent to every area count towards it.
    """
    problems: list[str] = []
    problems += _check_identity(campaign)
    problems += _check_languages(campaign)
    zone = _check_timezone(campaign, problems)
    problems += _check_sends(campaign, zone)
    problems += _check_audiences(campaign, directory or Directory.load())
    problems += _check_texts(campaign)
    problems += _check_images(campaign)
    apply_weekly = is_action_month(campaign.period) if weekly_rule is None else weekly_rule
    if apply_weekly and min_per_week > 0:
        problems += _check_weekly(campaign, min_per_week)
    return problems


def _name(message: Message) -> str:
    return f"message '{message.id}'"


def _check_identity(campaign: CampaignFile) -> Iterator[str]:
    if campaign.source is not None and campaign.source.stem != campaign.id:
        yield (
            f"campaign: id '{campaign.id}' differs from the file name "
            f"'{campaign.source.name}'; name the file {campaign.id}.yaml"
        )
    counts = Counter(message.id for message in campaign.messages)
    for message_id, count in counts.items():
        if count > 1:
            yield f"message id '{message_id}' is used {count} times; every id must be unique"


def _texts(campaign: CampaignFile) -> Iterator[tuple[str, dict[str, str]]]:
    """Every localized text with a label saying where it is."""
    yield "campaign: title", campaign.title
    yield "campaign: theme", campaign.theme
    for message in campaign.messages:
        yield f"{_name(message)}: body", message.body


def _check_languages(campaign: CampaignFile) -> Iterator[str]:
    declared = campaign.languages
    for code, count in Counter(declared).items():
        if count > 1:
            yield f"campaign: languages lists '{code}' {count} times"
    for where, texts in _texts(campaign):
        for code in declared:
            if code not in texts:
                yield f"{where}: the '{code}' text is missing"
        for code in texts:
            if code not in declared:
                yield (
                    f"{where}: has a '{code}' text, but '{code}' is not in languages "
                    f"({', '.join(declared)})"
                )


def _check_timezone(campaign: CampaignFile, problems: list[str]) -> ZoneInfo | None:
    try:
        return ZoneInfo(campaign.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"campaign: timezone '{campaign.timezone}' is not an IANA time zone; "
            "Vietnam is Asia/Ho_Chi_Minh"
        )
        return None


def _exists_locally(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether a naive local date-time exists on the clock of ``zone`` (not in a DST gap)."""
    aware = moment.replace(tzinfo=zone)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back == moment


def _in_quiet_hours(at: time) -> bool:
    start, end = QUIET_HOURS
    if start <= end:
        return start <= at < end
    return at >= start or at < end


def _check_sends(campaign: CampaignFile, zone: ZoneInfo | None) -> Iterator[str]:
    period = campaign.period
    quiet = f"{QUIET_HOURS[0]:%H:%M}–{QUIET_HOURS[1]:%H:%M}"
    this_year = datetime.now(UTC).year
    for message in campaign.messages:
        send = message.send
        if not period.contains(*send.month_day):
            yield f"{_name(message)}: send {send} is outside the period {period}"
        if _in_quiet_hours(send.local_time):
            yield (
                f"{_name(message)}: send {send} falls in the quiet hours {quiet}; "
                f"pick a time from {QUIET_HOURS[1]:%H:%M} to before {QUIET_HOURS[0]:%H:%M}"
            )
        if send.at is None and send.month_day == (2, 29):
            yield f"{_name(message)}: send {send} happens only in leap years; pick another day"
        if zone is None:
            continue
        years = (
            [send.at.year] if send.at is not None else range(this_year, this_year + _YEARS_CHECKED)
        )
        for year in years:
            moment = send.local_datetime(year)
            if moment is not None and not _exists_locally(moment, zone):
                yield (
                    f"{_name(message)}: send {send} does not exist on the local clock in "
                    f"{campaign.timezone} ({moment:%Y-%m-%d %H:%M} is skipped by daylight saving)"
                )
                break


def _check_audiences(campaign: CampaignFile, directory: Directory) -> Iterator[str]:
    declared = set(campaign.audience_groups)
    if ALL in declared:
        yield f"campaign: audience_groups must not list '{ALL}'; it always means every group"
    for group, count in Counter(campaign.audience_groups).items():
        if count > 1:
            yield f"campaign: audience_groups lists '{group}' {count} times"
    used: set[str] = set()
    for message in campaign.messages:
        groups = message.audience.groups
        used.update(groups)
        if ALL in groups and len(groups) > 1:
            yield (
                f"{_name(message)}: audience.groups has '{ALL}' and other groups; keep only '{ALL}'"
            )
        for group in groups:
            if group != ALL and group not in declared:
                yield (
                    f"{_name(message)}: audience.groups has '{group}', which is not declared "
                    "in audience_groups"
                )
        for area in message.audience.areas or ():
            yield from _check_area(message, area, directory)
    if ALL not in used:
        for group in campaign.audience_groups:
            if group not in used and group != ALL:
                yield f"campaign: audience group '{group}' is declared but no message uses it"


def _check_area(message: Message, area: ProvinceArea, directory: Directory) -> Iterator[str]:
    province = directory.province(area.province)
    if province is None:
        yield (
            f"{_name(message)}: audience.areas: {area.province} is not a current province "
            "code (34 provinces since 1 July 2025)"
        )
        return
    for code in area.communes or ():
        commune = directory.commune(code)
        if commune is None:
            yield f"{_name(message)}: audience.areas: {code} is not a current commune code"
        elif commune.province_code != area.province:
            yield (
                f"{_name(message)}: audience.areas: commune {code} ({commune.name}) is not in "
                f"province {area.province} ({province.name})"
            )


def _check_texts(campaign: CampaignFile) -> Iterator[str]:
    for where, texts in _texts(campaign):
        for code, text in texts.items():
            label = f"{where}.{code}"
            if not text.strip():
                yield f"{label} is empty"
                continue
            if unicodedata.normalize("NFC", text) != text:
                yield f"{label} is not in Unicode NFC form; re-save it as NFC (composed accents)"
            for match in _URL.finditer(text):
                yield f"{label} contains a link ({match[0]}); campaign texts must not have URLs"
            for match in _COMMAND.finditer(text):
                if f"/{match[1].lower()}" not in COMMANDS:
                    yield (
                        f"{label} mentions /{match[1]}, which is not a bot command "
                        f"(known: {', '.join(sorted(COMMANDS))})"
                    )
            yield from _check_markdown(label, text)
    for message in campaign.messages:
        for code, text in message.body.items():
            length = len(sent_text(text))
            for platform, limit in PLATFORM_LIMITS.items():
                if length > limit:
                    yield (
                        f"{_name(message)}: body.{code} is {length} characters as sent; "
                        f"{platform} allows at most {limit}"
                    )


def _check_markdown(label: str, text: str) -> Iterator[str]:
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.count(_BOLD) % 2:
            first = paragraph.strip().splitlines()[0][:40]
            yield f"{label}: unbalanced ** in the paragraph starting '{first}'"
    for pattern, what in _UNSUPPORTED_MARKDOWN:
        if pattern.search(text):
            yield f"{label} uses {what}; only paragraphs, '- ' bullets and **bold** are supported"


def _check_images(campaign: CampaignFile) -> Iterator[str]:
    for message in campaign.messages:
        if message.image is None:
            continue
        path = PurePosixPath(message.image)
        inside = (
            not path.is_absolute()
            and len(path.parts) >= 2
            and path.parts[0] == IMAGE_DIR
            and ".." not in path.parts
            and "\\" not in message.image
        )
        if not inside:
            yield (
                f"{_name(message)}: image '{message.image}' must be a path inside {IMAGE_DIR}/ "
                f"beside the campaign file, e.g. {IMAGE_DIR}/poster.png"
            )
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            yield (
                f"{_name(message)}: image '{message.image}' must be one of "
                f"{', '.join(sorted(IMAGE_SUFFIXES))}"
            )
        source = campaign.source
        if source is not None and not (source.parent / path).is_file():
            yield f"{_name(message)}: image '{message.image}' does not exist"


def _check_weekly(campaign: CampaignFile, minimum: int) -> Iterator[str]:
    period = campaign.period
    full_weeks = period.length // 7
    if full_weeks == 0:
        return
    counts: Counter[tuple[str, int]] = Counter()
    for message in campaign.messages:
        if not message.audience.everywhere or not period.contains(*message.send.month_day):
            continue
        week = min(period.offset(*message.send.month_day) // 7, full_weeks - 1)
        groups = message.audience.groups
        for group in campaign.audience_groups if ALL in groups else groups:
            counts[group, week] += 1
    start = date(_REFERENCE_YEAR, *_parse_month_day(period.start))
    for group in campaign.audience_groups:
        if group == ALL:
            continue
        for week in range(full_weeks):
            got = counts[group, week]
            if got < minimum:
                first = _add_days(start, 7 * week)
                last = _add_days(
                    start, 7 * week + 6 if week < full_weeks - 1 else period.length - 1
                )
                yield (
                    f"audience group '{group}' gets {got} message(s) in week {week + 1} "
                    f"({first:%m-%d} to {last:%m-%d}); at least {minimum} are needed"
                )


def _add_days(start: date, days: int) -> date:
    """The month-day ``days`` after ``start`` in the reference year, wrapping over New Year."""
    first = date(_REFERENCE_YEAR, 1, 1).toordinal()
    return date.fromordinal(first + (start.toordinal() - first + days) % _DAYS_IN_REFERENCE_YEAR)
