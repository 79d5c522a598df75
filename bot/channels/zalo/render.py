"""An :class:`~handlers.types.Outbound` as Zalo text messages.

The Zalo Bot has no buttons: choices become numbered lines under the text
(:func:`handlers.render.with_numbered_options`), and the conversation understands the
number or the words of an option. Texts are split at 2000 characters, Zalo's limit, at a
paragraph, line or sentence boundary. Zalo's servers are Java, so length is counted in UTF-16
code units, which is never less than the number of characters.
"""

from __future__ import annotations

from handlers.render import split_text, with_numbered_options
from handlers.types import Outbound

__all__ = ["MAX_TEXT", "render", "split"]

MAX_TEXT = 2000


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split(text: str) -> list[str]:
    """Parts of at most 2000 characters (UTF-16 units), in order."""
    parts: list[str] = []
    for part in split_text(text, MAX_TEXT):
        # Characters outside the BMP count twice; half the limit always fits.
        parts.extend([part] if _utf16_length(part) <= MAX_TEXT else split_text(part, MAX_TEXT // 2))
    return parts


def render(message: Outbound) -> list[str]:
    """The Zalo messages that show ``message``: its text, then its numbered choices."""
    return split(with_numbered_options(message))
