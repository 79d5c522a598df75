"""Every interface text has a Vietnamese translation with the same placeholders."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LOCALE_DIR, translator

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")
TEMPLATES = ROOT / "bot" / "console" / "templates"


def code_messages() -> set[str]:
    found: set[str] = set()
    for folder in ("handlers", "bot"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords={"_": None}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def template_messages() -> set[str]:
    """Messages of the console's Jinja templates (``_()`` and ``{% trans %}``)."""
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        TEMPLATES,
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog() -> dict[str, str]:
    with (LOCALE_DIR / "vi" / "LC_MESSAGES" / "tipline.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and not m.fuzzy}


def test_every_message_in_the_code_is_translated_to_vietnamese() -> None:
    missing = sorted(code_messages() - {k for k, v in catalog().items() if v})
    assert missing == [], "run the translation update described in docs/translations.md"


def test_every_message_in_the_console_templates_is_translated_to_vietnamese() -> None:
    messages = template_messages()
    assert "Sign in" in messages  # the extractor really read the templates
    missing = sorted(messages - {k for k, v in catalog().items() if v})
    assert missing == [], "run the translation update described in docs/translations.md"


def test_translations_keep_placeholders_and_are_nfc() -> None:
    for english, vietnamese in catalog().items():
        assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(vietnamese))
        assert unicodedata.is_normalized("NFC", vietnamese), english


def test_the_vietnamese_interface_is_really_vietnamese() -> None:
    assert translator("vi").gettext("Main menu") == "Menu chính"
    assert translator("en").gettext("Main menu") == "Main menu"
