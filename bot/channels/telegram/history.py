"""Which messages of a private chat the bot could delete when the user asks for the wipe.

In memory only, on purpose: a list of chat and message ids on disk or in a log would link a
chat to the moment a tip was sent. The price is that messages from before a restart are
unknown; the wipe then says so (see :attr:`Collected.missed`). Bounded in every direction:
a deque per chat, a number of chats (least recently active dropped first), and an age
(Telegram lets bots delete messages for 48 hours only).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DELETE_WINDOW_SECONDS", "Collected", "MessageLog"]

# Telegram's limit is 48 hours; keep a margin for clock skew and slow requests.
DELETE_WINDOW_SECONDS = 48 * 3600 - 15 * 60


@dataclass(slots=True)
class _Chat:
    messages: deque[tuple[int, float]]
    # False when messages may exist that are not in ``messages`` (too old, dropped, or from
    # before this process knew the chat).
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Collected:
    """The ids to delete, and whether older messages are known or feared to remain."""

    ids: list[int] = field(default_factory=list)
    missed: bool = False


class MessageLog:
    """Message ids per private chat, user's and bot's alike, for :meth:`collect`."""

    def __init__(
        self,
        *,
        per_chat: int = 300,
        chats: int = 20_000,
        window: float = DELETE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._per_chat = per_chat
        self._max_chats = chats
        self._window = window
        self._clock = clock
        self._chats: OrderedDict[int, _Chat] = OrderedDict()

    def __len__(self) -> int:
        return len(self._chats)

    def knows(self, chat_id: int) -> bool:
        return chat_id in self._chats

    def begin(self, chat_id: int, *, complete: bool) -> None:
        """Start following a chat; ``complete`` says nothing came before in that chat."""
        if chat_id not in self._chats:
            self._chats[chat_id] = _Chat(deque(), complete)
            while len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)

    def add(self, chat_id: int, message_id: int) -> None:
        """Remember one message of the chat (the user's or the bot's)."""
        self.begin(chat_id, complete=False)
        chat = self._chats[chat_id]
        self._chats.move_to_end(chat_id)
        self._prune(chat)
        if len(chat.messages) >= self._per_chat:
            chat.messages.popleft()
            chat.complete = False
        chat.messages.append((message_id, self._clock()))

    def collect(self, chat_id: int) -> Collected:
        """The chat's deletable message ids; the chat is forgotten (:meth:`begin` it again)."""
        chat = self._chats.pop(chat_id, None)
        if chat is None:
            return Collected(missed=True)
        self._prune(chat)
        return Collected(ids=sorted({m for m, _ in chat.messages}), missed=not chat.complete)

    def _prune(self, chat: _Chat) -> None:
        oldest = self._clock() - self._window
        while chat.messages and chat.messages[0][1] < oldest:
            chat.messages.popleft()
            chat.complete = False
