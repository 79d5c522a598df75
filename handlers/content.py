"""The one loader of ``content/``: tip categories, learn topics, help texts and the audience
groups subscribers choose from.

A help or learn text may include a help text by name, ``{{ who_reads }}`` for
``help/who_reads.<locale>.md``: a sentence every text must tell the same way (who can read
a tip) is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

import content

__all__ = ["AudienceGroup", "Category", "Content", "LearnTopic"]

ROOT = Path(content.__file__).parent
INCLUDE = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    urgent: bool
    label: dict[str, str]
    hint: dict[str, str]


@dataclass(frozen=True, slots=True)
class LearnTopic:
    id: str
    title: dict[str, str]
    body: dict[str, str]


@dataclass(frozen=True, slots=True)
class AudienceGroup:
    id: str
    label: dict[str, str]


class Content:
    """Read-only access to the content files, loaded once."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        data = yaml.safe_load((root / "categories.yaml").read_text(encoding="utf-8"))
        self.categories: list[Category] = [
            Category(id=c["id"], urgent=bool(c["urgent"]), label=c["label"], hint=c["hint"])
            for c in data["categories"]
        ]
        self._by_id = {c.id: c for c in self.categories}
        index = yaml.safe_load((root / "learn" / "index.yaml").read_text(encoding="utf-8"))
        self.topics: list[LearnTopic] = [self._topic(name) for name in index["topics"]]
        groups = yaml.safe_load((root / "audiences.yaml").read_text(encoding="utf-8"))
        self.audience_groups: list[AudienceGroup] = [
            AudienceGroup(id=g["id"], label=g["label"]) for g in groups["groups"]
        ]

    def audience_group(self, group_id: str) -> AudienceGroup | None:
        return next((g for g in self.audience_groups if g.id == group_id), None)

    def category(self, category_id: str) -> Category | None:
        return self._by_id.get(category_id)

    def _topic(self, name: str) -> LearnTopic:
        titles: dict[str, str] = {}
        bodies: dict[str, str] = {}
        for locale in ("vi", "en"):
            text = (self.root / "learn" / f"{name}.{locale}.md").read_text(encoding="utf-8")
            first, _, rest = text.partition("\n")
            titles[locale] = first.removeprefix("#").strip()
            bodies[locale] = self._include(rest.strip(), locale)
        return LearnTopic(id=name, title=titles, body=bodies)

    def topic(self, topic_id: str) -> LearnTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def help_text(self, name: str, locale: str) -> str:
        """The help text ``name`` in ``locale``, with the help texts it includes."""
        return self._include(_read(self.root / "help" / f"{name}.{locale}.md"), locale)

    def _include(self, text: str, locale: str, depth: int = 0) -> str:
        if depth > 3:
            raise ValueError("help texts include each other in a loop")

        def replace(match: re.Match[str]) -> str:
            included = _read(self.root / "help" / f"{match[1]}.{locale}.md")
            return self._include(included, locale, depth + 1)

        return INCLUDE.sub(replace, text)


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()
