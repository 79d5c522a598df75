"""The one loader of ``content/``: tip categories, learn topics, help texts and the audience
groups subscribers choose from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

import content

__all__ = ["AudienceGroup", "Category", "Content", "LearnTopic"]

ROOT = Path(content.__file__).parent


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
            bodies[locale] = rest.strip()
        return LearnTopic(id=name, title=titles, body=bodies)

    def topic(self, topic_id: str) -> LearnTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def help_text(self, name: str, locale: str) -> str:
        return _read(self.root / "help" / f"{name}.{locale}.md")


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()
