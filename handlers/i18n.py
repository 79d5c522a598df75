"""Translations of the interface through gettext catalogs in ``content/locale``.

Message ids are English; ``vi`` is the default locale. Catalogs are read from the
``.po`` files with Babel and compiled in memory, so there is no build step and no
binary file in the repository.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import content

__all__ = ["DOMAIN", "LOCALES", "translator"]

DOMAIN = "tipline"
LOCALES = ("vi", "en")
LOCALE_DIR = Path(content.__file__).parent / "locale"


@cache
def translator(locale: str) -> gettext.NullTranslations:
    """The translations for ``locale`` (English, the message ids, when there is no catalog)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
