"""The conversation: turns an :class:`Inbound` into the bot's replies, whatever the channel.

Commands and words that work everywhere (``/start``, ``/xoa``, ``/stop``, back, cancel,
help, menu) are handled here; each step's own logic lives in :mod:`handlers.menu`,
:mod:`handlers.report`, :mod:`handlers.followup` and :mod:`handlers.subscribe`.
"""

from __future__ import annotations

import logging
import time
import traceback
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers import followup, menu, report, subscribe  # noqa: F401  (registers the steps)
from handlers.content import Content
from handlers.flood import FloodControl, Verdict
from handlers.flow import STEPS, Input, Turn
from handlers.i18n import translator
from handlers.locks import KeyedLocks
from handlers.ports import Observer, StateRepository, Subscriptions, Throttle, TipDesk, Unobserved
from handlers.types import Inbound, Outbound
from storage.directory import Directory, normalize
from storage.epochs import Keyring
from storage.sealing import ReceiptKeys
from storage.state import ChatKeys, chat_keys

__all__ = ["Conversation", "FollowUp", "Limits"]

log = logging.getLogger(__name__)

LOCALES_KEPT = 10_000  # chats whose language is remembered in memory
SESSIONS_SWEPT_AT = 10_000  # in-memory sessions kept before the expired ones are swept

# Steps of a receipt check. Where a chat stands in one is kept in memory only: the stored
# state never says that a chat checked a receipt (the chat is at the menu on disk).
PRIVATE_STEPS = "check."
# How long that step is held after the receipt session itself closed, so the chat is told
# "type your receipt again" rather than sent back to the menu.
HELD_SECONDS = 3600

COMMANDS = {
    "/start": "start",
    "/menu": "menu",
    "/tobao": "report",
    "/report": "report",
    "/kiemtra": "check",
    "/check": "check",
    "/xoa": "wipe",
    "/delete": "wipe",
    "/dangky": "subscribe",
    "/subscribe": "subscribe",
    "/huy": "cancel",
    "/cancel": "cancel",
    "/help": "help",
    "/trogiup": "help",
    "/stop": "unsubscribe",
    "/unsubscribe": "unsubscribe",
    "/hoc": "learn",
    "/learn": "learn",
    "/khancap": "emergency",
    "/emergency": "emergency",
}

# Whole messages that act like a command at any step (compared without diacritics).
WORDS = {
    "back": "back",
    "quay lai": "back",
    "tro lai": "back",
    "cancel": "cancel",
    "huy": "cancel",
    "huy bo": "cancel",
    "help": "help",
    "tro giup": "help",
    "giup": "help",
    "menu": "menu",
}

PAYLOAD_ACTIONS = {
    "g:menu": "menu",
    "g:back": "back",
    "g:cancel": "cancel",
    "g:help": "help",
    "g:wipe": "wipe",
    "g:report": "report",
    "g:check": "check",
}


@dataclass(frozen=True, slots=True)
class Limits:
    max_text_chars: int = 3000
    max_description_chars: int = 12000
    max_photos: int = 5
    max_photo_bytes: int = 10 * 1024 * 1024
    receipt_attempts: int = 5
    receipt_window: timedelta = timedelta(minutes=15)
    receipt_checks_per_minute: int = 120
    followup_ttl: timedelta = timedelta(minutes=15)
    flood_per_second: float = 5.0
    flood_burst: int = 30


@dataclass(frozen=True, slots=True)
class Held:
    """The part of a state that is kept in memory only (the step of a receipt check)."""

    state: dict[str, Any]
    expires: float


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A reporter's open receipt session. Kept in memory only: never links a chat to a tip
    on disk. After a restart the reporter types the receipt again."""

    tip_id: str
    keys: ReceiptKeys
    expires: float


class Conversation:
    """Answers inbound messages. One per process; safe to call concurrently for
    different chats (each call loads and saves its own chat's state)."""

    def __init__(
        self,
        *,
        states: StateRepository,
        desk: TipDesk,
        subscriptions: Subscriptions,
        throttle: Throttle,
        directory: Directory,
        content: Content,
        keyring: Keyring,
        limits: Limits | None = None,
        default_locale: str = "vi",
        observer: Observer | None = None,
    ) -> None:
        self.states = states
        self.desk = desk
        self.subscriptions = subscriptions
        self.throttle = throttle
        self.directory = directory
        self.content = content
        self.limits = limits or Limits()
        self.default_locale = default_locale
        self.observer: Observer = observer or Unobserved()
        self.keyring = keyring
        self._followups: dict[bytes, FollowUp] = {}
        self._held: dict[bytes, Held] = {}
        self.flood = FloodControl(self.limits.flood_per_second, self.limits.flood_burst)
        # The language of chats seen lately, so that adapters and flood control can answer in
        # it without loading the state again. Bounded, least recently used first out.
        self._locales: OrderedDict[bytes, str] = OrderedDict()
        # One turn at a time per chat, so two quick messages cannot overwrite each other.
        self._locks: KeyedLocks[bytes] = KeyedLocks()

    # --- follow-up sessions (memory only) ------------------------------------------------

    def open_followup(self, chat: ChatKeys, tip_id: str, keys: ReceiptKeys) -> None:
        now = time.monotonic()
        if len(self._followups) >= SESSIONS_SWEPT_AT:
            self._followups = {k: v for k, v in self._followups.items() if v.expires > now}
        self._followups[chat.tag] = FollowUp(
            tip_id, keys, now + self.limits.followup_ttl.total_seconds()
        )

    def followup(self, chat: ChatKeys) -> FollowUp | None:
        session = self._followups.get(chat.tag)
        if session is None or session.expires < time.monotonic():
            self._followups.pop(chat.tag, None)
            return None
        return session

    def close_followup(self, chat: ChatKeys) -> None:
        self._followups.pop(chat.tag, None)

    # --- the turn ----------------------------------------------------------------------------

    async def chat_keys(self, chat: str) -> ChatKeys:
        """The keys of a chat's stored state in this epoch (and the previous one)."""
        return await chat_keys(self.keyring, chat)

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        """The bot's replies to one thing the user did."""
        chat = await self.chat_keys(inbound.chat)
        verdict = self.flood.check(chat.tag)
        if verdict is not Verdict.ALLOW:
            # Dropped unread: nothing is loaded or stored, the chat's lock is not queued on.
            self.observer.turn(inbound.chat, "throttled")
            return self._slow_down(chat, inbound) if verdict is Verdict.NOTIFY else []
        async with self._locks[chat.tag]:
            started = time.perf_counter()
            result = "failed"
            untimed = 0.0
            try:
                replies, answered, untimed = await self._turn(chat, inbound)
                result = "answered" if answered else "failed"
            finally:
                # Every turn is observed (a missing one would single it out), without the
                # receipt key derivation, whose seconds would tell a filing or a check apart.
                elapsed = max(0.0, time.perf_counter() - started - untimed)
                self.observer.turn(inbound.chat, result, elapsed)
            return replies

    def _slow_down(self, chat: ChatKeys, inbound: Inbound) -> list[Outbound]:
        locale = self._locales.get(chat.tag) or self.locale_for(inbound.locale)
        _ = translator(locale).gettext
        return [Outbound(text=_("You are sending messages very fast; please wait a moment."))]

    async def _turn(self, chat: ChatKeys, inbound: Inbound) -> tuple[list[Outbound], bool, float]:
        """The replies, whether the turn went as planned (not "something went wrong"), and
        the seconds it spent deriving receipt keys."""
        state = await self.states.load(chat)
        fresh = state is None
        if state is None:
            state = self._new_state(chat, inbound)
        else:
            state.update(self._take_held(chat))
        turn = Turn(self, chat, inbound, state)
        try:
            await self._dispatch(turn, fresh)
            if turn.next_step is not None:
                await STEPS[turn.next_step].prompt(turn)
        except Exception as error:
            # Type and place only: an exception's message may quote what the user wrote.
            frame = traceback.extract_tb(error.__traceback__)[-1]
            log.error(
                "conversation step %s failed: %s at %s:%s",
                turn.step_name,
                type(error).__name__,
                frame.filename,
                frame.lineno,
            )
            _ = turn._
            sorry = _(
                "Sorry, something went wrong on our side. What you entered so far is kept; "
                "please try again in a moment."
            )
            return [Outbound(text=sorry)], False, turn.untimed_seconds
        if turn.forgotten:
            self._locales.pop(chat.tag, None)
            self._held.pop(chat.tag, None)
        else:
            await self.states.save(chat, self._at_rest(chat, turn))
            self._remember_locale(chat.tag, turn.locale)
        return turn.replies, True, turn.untimed_seconds

    def _take_held(self, chat: ChatKeys) -> dict[str, Any]:
        held = self._held.get(chat.tag)
        if held is None or held.expires < time.monotonic():
            return {}
        return dict(held.state)

    def _at_rest(self, chat: ChatKeys, turn: Turn) -> dict[str, Any]:
        """What is stored of the turn's state: nothing that says a tip was filed or a
        receipt checked. The step of a receipt check is held in memory instead."""
        state = turn.state
        if turn.settled:
            self._held.pop(chat.tag, None)
            return {"locale": turn.locale, "step": "menu", "back": []}
        back = [name for name in state.get("back") or [] if not name.startswith(PRIVATE_STEPS)]
        if not turn.step_name.startswith(PRIVATE_STEPS):
            self._held.pop(chat.tag, None)
            return {**state, "back": back}
        now = time.monotonic()
        if len(self._held) >= SESSIONS_SWEPT_AT:
            self._held = {k: v for k, v in self._held.items() if v.expires > now}
        self._held[chat.tag] = Held(
            {"step": turn.step_name, "options": state.get("options"), "back": state.get("back")},
            now + self.limits.followup_ttl.total_seconds() + HELD_SECONDS,
        )
        return {**state, "step": "menu", "options": [], "back": back}

    def _remember_locale(self, tag: bytes, locale: str) -> None:
        self._locales[tag] = locale
        self._locales.move_to_end(tag)
        while len(self._locales) > LOCALES_KEPT:
            self._locales.popitem(last=False)

    def _new_state(self, chat: ChatKeys, inbound: Inbound) -> dict[str, Any]:
        locale = self._locales.get(chat.tag) or self.locale_for(inbound.locale)
        return {"locale": locale, "step": "menu", "back": []}

    def locale_for(self, hint: str | None) -> str:
        """The interface language for a platform's language hint such as ``"en-US"``."""
        short = (hint or "").lower()[:2]
        return short if short in ("vi", "en") else self.default_locale

    async def saved_locale(self, chat: str) -> str | None:
        """The language a chat chose, or None when the chat has no conversation state.

        For adapters that must answer on their own (a file refused before download). A chat
        that had a turn in this process lately is answered from memory."""
        keys = await self.chat_keys(chat)
        known = self._locales.get(keys.tag)
        if known is not None:
            return known
        state = await self.states.load(keys)
        return None if state is None else str(state.get("locale", self.default_locale))

    async def _dispatch(self, turn: Turn, fresh: bool) -> None:
        inbound = turn.inbound
        text = (inbound.text or "").strip() or None
        _ = turn._
        if text is not None and len(text) > self.limits.max_text_chars:
            turn.say(
                _(
                    "Your message is too long ({length} characters). Please send it in parts of "
                    "at most {limit} characters; nothing was saved from it."
                ).format(length=len(text), limit=self.limits.max_text_chars)
            )
            return
        action = self._global_action(turn, text, inbound.payload)
        if action == "unknown-command":
            turn.say(_("I don't know that command. Type /help (or /trogiup) to see what I can do."))
            turn.reprompt()
            return
        if action is not None:
            await self._run_global(turn, action)
            return
        if fresh and not inbound.payload and not inbound.attachments:
            # First contact: greet and offer the menu instead of guessing what was meant.
            await self._run_global(turn, "start")
            return
        payload = inbound.payload
        if payload is not None and not turn.offered(payload):
            turn.say(_("That choice is no longer available. Here is where we are:"))
            turn.reprompt()
            return
        if payload is None and text is not None:
            payload = turn.resolve_option(text)
            if payload is not None:
                text = None
        current = STEPS.get(turn.step_name) or STEPS["menu"]
        if inbound.attachments and not current.accepts_photos:
            turn.say(_("Photos can be added while you send a tip."))
            turn.reprompt()
            return
        if inbound.location and not current.accepts_location:
            turn.say(_("A location can be shared at the 'where exactly' step of a tip."))
            turn.reprompt()
            return
        await current.handle(
            turn,
            Input(
                payload=payload,
                text=text,
                attachments=inbound.attachments,
                location=inbound.location,
            ),
        )

    def _global_action(self, turn: Turn, text: str | None, payload: str | None) -> str | None:
        if payload is not None:
            return PAYLOAD_ACTIONS.get(payload)
        if text is None:
            return None
        if text.startswith("/"):
            command = text.split()[0].split("@")[0].lower()
            return COMMANDS.get(command, "unknown-command")
        if " ".join(unicodedata.normalize("NFC", text).casefold().split()) in subscribe.STOP_WORDS:
            return "unsubscribe"
        return WORDS.get(normalize(text))

    async def _run_global(self, turn: Turn, action: str) -> None:
        _ = turn._
        if action in ("start", "menu"):
            self.close_followup(turn.chat)
            turn.state["back"] = []
            turn.state.pop("options", None)
            turn.goto("language" if action == "start" else "menu", remember=False)
        elif action == "back":
            if turn.step_name == "menu":
                turn.reprompt()
            else:
                turn.go_back()
        elif action == "cancel":
            await report.cancel(turn)
        elif action == "unsubscribe":
            await subscribe.stop(turn)
        elif action == "help":
            turn.say(self.content.help_text("help", turn.locale))
            turn.reprompt()
        elif action == "wipe":
            await self.wipe(turn)
        elif action == "report":
            await report.start(turn)
        elif action == "check":
            self.close_followup(turn.chat)
            turn.goto("check.receipt")
        elif action == "subscribe":
            await subscribe.start(turn)
        elif action == "learn":
            turn.goto("learn")
        elif action == "emergency":
            turn.say(self.content.help_text("emergency", turn.locale))
            turn.reprompt()

    async def wipe(self, turn: Turn) -> None:
        """Forget everything about this chat and ask the channel to erase the messages."""
        self.close_followup(turn.chat)
        self._held.pop(turn.chat.tag, None)
        await self.states.forget(turn.chat)
        turn.forgotten = True
        _ = turn._
        turn.replies.append(
            Outbound(
                text=_(
                    "Tipline deleted its copy of this conversation. If your app still shows "
                    "the messages, delete them there too. Type /start to begin again."
                ),
                kind="wipe",
            )
        )
