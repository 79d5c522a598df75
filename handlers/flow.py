"""The machinery every conversation step uses: the turn, the step registry, options.

A step is a name with two coroutines: ``prompt`` says what the bot asks there (text and
choices) and ``handle`` reacts to what the user sent. Choices offered by the last prompt
are kept in the state, so typing a number or an option's words works like a button.
"""

from __future__ import annotations

import gettext
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from handlers.i18n import translator
from handlers.types import Attachment, Button, Inbound, Location, Outbound
from storage.directory import normalize

if TYPE_CHECKING:
    from handlers.conversation import Conversation
    from storage.state import ChatKeys

__all__ = ["STEPS", "Input", "Step", "Turn", "step"]

# Payloads valid at any step, whatever the last prompt offered.
GLOBAL_PAYLOADS = frozenset(
    {"g:menu", "g:back", "g:cancel", "g:help", "g:wipe", "g:report", "g:check"}
)


@dataclass(frozen=True, slots=True)
class Input:
    """What the user sent, after options were resolved: a payload, text, files or a place."""

    payload: str | None = None
    text: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None


Handler = Callable[["Turn", Input], Awaitable[None]]
Prompt = Callable[["Turn"], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    prompt: Prompt
    handle: Handler
    accepts_photos: bool = False
    accepts_location: bool = False
    # Free-text steps store what is typed: a receipt typed there is refused.
    stores_text: bool = False


STEPS: dict[str, Step] = {}


def step(
    name: str,
    *,
    prompt: Prompt,
    accepts_photos: bool = False,
    accepts_location: bool = False,
    stores_text: bool = False,
) -> Callable[[Handler], Handler]:
    """Register a step's input handler under ``name`` with its prompt."""

    def register(handle: Handler) -> Handler:
        STEPS[name] = Step(name, prompt, handle, accepts_photos, accepts_location, stores_text)
        return handle

    return register


@dataclass
class Turn:
    """One inbound message being answered: the state, the user's language, the replies."""

    conversation: Conversation
    chat: ChatKeys
    inbound: Inbound
    state: dict[str, Any]
    replies: list[Outbound] = field(default_factory=list)
    next_step: str | None = None
    forgotten: bool = False
    # A tip was filed: only a neutral state (language, menu) is kept after this turn.
    settled: bool = False
    # Seconds spent deriving receipt keys (Argon2id): left out of the turn's timing.
    untimed_seconds: float = 0.0

    @property
    def locale(self) -> str:
        return str(self.state.get("locale", "vi"))

    @property
    def _(self) -> Callable[[str], str]:
        return self.translations.gettext

    @property
    def translations(self) -> gettext.NullTranslations:
        return translator(self.locale)

    @property
    def step_name(self) -> str:
        return str(self.state.get("step", "menu"))

    @property
    def draft(self) -> dict[str, Any]:
        draft: dict[str, Any] = self.state.setdefault("draft", {})
        return draft

    def say(self, text: str, **kwargs: Any) -> None:
        """Add a message without choices (the last prompt's choices stay valid)."""
        self.replies.append(Outbound(text=text, **kwargs))

    def ask(self, text: str, options: Sequence[Sequence[Button]], **kwargs: Any) -> None:
        """Add a message with choices and remember them for typed answers."""
        rows = tuple(tuple(row) for row in options if row)
        self.state["options"] = [[b.label, b.payload] for row in rows for b in row]
        self.replies.append(Outbound(text=text, buttons=rows, **kwargs))

    def goto(self, name: str, *, remember: bool = True) -> None:
        """Move to step ``name`` after this turn; its prompt is shown then."""
        if remember and self.step_name != name:
            back: list[str] = self.state.setdefault("back", [])
            back.append(self.step_name)
            del back[:-20]
        self.state["step"] = name
        self.next_step = name

    def go_back(self) -> None:
        back: list[str] = self.state.setdefault("back", [])
        previous = back.pop() if back else "menu"
        self.state["step"] = previous
        self.next_step = previous

    def reprompt(self) -> None:
        self.next_step = self.step_name

    def resolve_option(self, text: str) -> str | None:
        """The payload of the option a typed text names, by number or by words."""
        options: list[list[str]] = self.state.get("options") or []
        stripped = text.strip().rstrip(".)")
        if stripped.isdigit():
            index = int(stripped) - 1
            return options[index][1] if 0 <= index < len(options) else None
        wanted = normalize(text)
        if not wanted:
            return None
        labels = [(normalize(label), payload) for label, payload in options]
        for label, payload in labels:
            if label == wanted:
                return payload
        # A distinctive beginning is enough: "send" for "Send the tip", "gui" for "Gửi tin".
        starting = {payload for label, payload in labels if label.startswith(wanted + " ")}
        if len(wanted) >= 3 and len(starting) == 1:
            return starting.pop()
        return None

    def offered(self, payload: str) -> bool:
        options: list[list[str]] = self.state.get("options") or []
        return payload in GLOBAL_PAYLOADS or any(p == payload for _, p in options)
