"""Rendering helpers shared by adapters: numbered options and safe splitting of long texts."""

from __future__ import annotations

from handlers.types import Outbound

__all__ = ["numbered_options", "split_text", "with_numbered_options"]


def numbered_options(message: Outbound) -> list[str]:
    """The message's choices as ``"1. label"`` lines, numbered across rows in order."""
    labels = [button.label for row in message.buttons for button in row]
    return [f"{number}. {label}" for number, label in enumerate(labels, 1)]


def with_numbered_options(message: Outbound) -> str:
    """The text a platform without buttons shows: the message, then its numbered choices."""
    options = numbered_options(message)
    return message.text if not options else message.text + "\n\n" + "\n".join(options)


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters, at a paragraph, line,
    sentence or word boundary when there is one, never inside a word otherwise avoidable."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " "):
            position = window.rfind(separator)
            if position >= limit // 3:
                cut = position + len(separator.rstrip())
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts
