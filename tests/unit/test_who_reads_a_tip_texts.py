"""Every text a reporter (or someone who repeats it to citizens) can read tells the truth
about who can read a tip, and tells it the same way.

A tip is sealed for the commune police queue it was routed to, the province queue (the drug
police, PC04) and the province's offline recovery key (``storage/vault.py``); forwarding adds
the receiving unit. A text that says "only the police of the area you choose can read it"
promises a reporter more than the system keeps, and a reporter decides what to write on
that promise. The canonical sentence is ``content/help/who_reads.<locale>.md``; help and
learn texts include it through the content loader, campaign bodies carry it word for word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po

from handlers.content import Content

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("vi", "en")

# Claims that a tip is readable by the chosen area's police alone.
FALSE_CLAIMS = [
    re.compile(r"\bonly\b[^.;:]{0,40}\b(commune|ward|police)\b[^.;]{0,80}\bcan read\b", re.I),
    re.compile(r"\barea you (choose|chose)\b[^.;]{0,20}\bcan read\b", re.I),
    re.compile(r"\bcan only be (read|opened) by\b[^.;]{0,40}\b(commune|ward|police)\b", re.I),
    re.compile(r"\bread by the (commune|ward|local) police (alone|only)\b", re.I),
    re.compile(r"\bchỉ\b[^.;:]{0,10}công an[^.;]{0,60}\bđọc được\b", re.I),
    re.compile(r"\bnơi (bạn|được) chọn\b[^.;]{0,10}\b(mới )?đọc được\b", re.I),
]

# A text speaks of who can read a tip when it says a tip is encrypted, or who can read it.
SPEAKS_OF_READERS = [
    re.compile(r"\btips?\b[^.;]{0,20}\b(is|are)\b[^.;]{0,10}\bencrypted\b", re.I),
    re.compile(r"\b(tin báo|nội dung)\b[^.;]{0,25}\b(được|đã) mã hóa\b", re.I),
    re.compile(r"\b(can|could|may)\b (read|open) (it|the tip|your tip)\b", re.I),
    re.compile(r"\b(tip|it) (can|may) (only )?be (read|opened) by\b", re.I),
    re.compile(r"\bđọc được (tin(?! nhắn)|nội dung)\b", re.I),
]

# The three readers every such text must name, in either language.
READERS = {
    "the commune or ward police": re.compile(r"\bcommune\b|công an xã", re.I),
    "the province's drug police (PC04)": re.compile(r"\bPC04\b"),
    "the province's recovery key": re.compile(r"\brecovery key\b|khóa khôi phục", re.I),
}


def canonical(locale: str) -> str:
    return Content().help_text("who_reads", locale)


def units(text: str) -> Iterator[str]:
    """Paragraphs and list items of ``text``, each on one line."""
    for block in re.split(r"\n\s*\n", text):
        item: list[str] = []
        for line in block.splitlines():
            stripped = line.strip().lstrip(">").strip()
            if re.match(r"([-*+]|\d+\.)\s", stripped) and item:
                yield " ".join(item)
                item = []
            if stripped:
                item.append(stripped)
        if item:
            yield " ".join(item)


def markdown_sources() -> Iterator[tuple[str, str]]:
    """Help and learn texts as a reporter sees them, with the texts they include."""
    content = Content()
    for path in sorted((ROOT / "content" / "help").glob("*.md")):
        name, locale = path.stem.rsplit(".", 1)
        yield f"help {path.name}", content.help_text(name, locale)
    for topic in content.topics:
        for locale in LOCALES:
            yield f"learn {topic.id}.{locale}", topic.body[locale]


def campaign_bodies() -> Iterator[tuple[str, str, str]]:
    """(where, locale, body) of every campaign message."""
    for path in sorted((ROOT / "content" / "campaigns").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for number, message in enumerate(data.get("messages") or [], start=1):
            for locale, body in (message.get("body") or {}).items():
                where = f"{path.name} message {message.get('id', f'#{number}')} body.{locale}"
                yield where, locale, str(body)


def catalog_sources() -> Iterator[tuple[str, str]]:
    locale_dir = ROOT / "content" / "locale"
    for path in sorted([*locale_dir.glob("*.pot"), *locale_dir.glob("*/LC_MESSAGES/*.po")]):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else message.string
            for text in [*ids, *(s for s in strings if s)]:
                yield f"{path.relative_to(ROOT)} {ids[0][:40]!r}", text


def page_sources() -> Iterator[tuple[str, str]]:
    """The web chat page, the console templates, the README and the docs."""
    paths = [
        *sorted((ROOT / "bot" / "channels" / "webchat_static").glob("*.*")),
        *sorted((ROOT / "bot" / "console" / "templates").glob("*.html")),
        ROOT / "README.md",
        ROOT / "content" / "campaigns" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
    ]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        yield str(path.relative_to(ROOT)), re.sub(r"<[^>]+>", " ", text)


def every_text() -> Iterator[tuple[str, str]]:
    yield from markdown_sources()
    for where, _, body in campaign_bodies():
        yield where, body
    yield from catalog_sources()
    yield from page_sources()


def speaks_of_readers(unit: str) -> bool:
    return any(pattern.search(unit) for pattern in SPEAKS_OF_READERS)


def test_the_canonical_sentence_names_every_reader_in_both_languages() -> None:
    for locale in LOCALES:
        text = canonical(locale)
        assert speaks_of_readers(text), locale
        for reader, pattern in READERS.items():
            assert pattern.search(text), f"who_reads.{locale}.md does not name {reader}"
    assert "PC04" in canonical("vi") and "PC04" in canonical("en")


def test_no_text_says_only_the_chosen_area_can_read_a_tip() -> None:
    found = [
        f"{where}: {unit}"
        for where, text in every_text()
        for unit in units(text)
        if any(claim.search(unit) for claim in FALSE_CLAIMS)
    ]
    assert not found, "texts promise that only the local police can read a tip:\n" + "\n".join(
        found
    )


def test_every_text_that_speaks_of_who_reads_a_tip_names_all_three_readers() -> None:
    missing = []
    for where, text in every_text():
        for unit in units(text):
            if speaks_of_readers(unit):
                absent = [name for name, pattern in READERS.items() if not pattern.search(unit)]
                if absent:
                    missing.append(f"{where}: {unit!r} does not name {', '.join(absent)}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_tip_notice_and_the_safety_page_tell_the_canonical_sentence(locale: str) -> None:
    content = Content()
    assert canonical(locale) in content.help_text("anonymity", locale)
    safety = content.topic("safety")
    assert safety is not None and canonical(locale) in safety.body[locale]


def test_campaign_bodies_that_speak_of_who_reads_a_tip_carry_the_canonical_sentence() -> None:
    speaking = 0
    for where, locale, body in campaign_bodies():
        flat = " ".join(body.split())
        if any(speaks_of_readers(unit) for unit in units(body)):
            speaking += 1
            assert canonical(locale) in flat, f"{where} does not carry who_reads.{locale}.md"
    assert speaking > 0


@pytest.mark.parametrize(
    "claim",
    [
        "Your tip is encrypted; only the commune or ward police of the area you choose can "
        "read it.",
        "Only the police responsible for the area you choose can read the tip.",
        "Your tip can only be read by the commune police.",
        "Nội dung được mã hóa; chỉ công an xã, phường nơi bạn chọn mới đọc được.",
        "Chỉ công an phụ trách nơi bạn chọn mới đọc được tin.",
    ],
)
def test_the_checks_catch_the_claims_the_texts_used_to_make(claim: str) -> None:
    assert any(pattern.search(claim) for pattern in FALSE_CLAIMS)
    assert speaks_of_readers(claim)
    assert not all(pattern.search(claim) for pattern in READERS.values())


@pytest.mark.parametrize("locale", LOCALES)
def test_the_canonical_sentence_is_not_mistaken_for_the_old_claim(locale: str) -> None:
    assert not any(pattern.search(canonical(locale)) for pattern in FALSE_CLAIMS)
