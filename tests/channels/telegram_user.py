"""A Telegram user for dialog tests: types, presses buttons and sends files through the fake
Bot API, and reads what the bot answered."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from tests.fakes.telegram_api import FakeTelegram, Stored

RECEIPT = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


class TelegramUser:
    """One person in a private chat with the bot (chat id = user id)."""

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        *,
        first_name: str = "Lan",
        username: str | None = None,
        language_code: str | None = "en",
    ) -> None:
        self.fake = fake
        self.id = user_id
        fake.user(user_id, first_name, username, language_code)
        self._mark = 0
        self.presses = 0

    @property
    def replies(self) -> list[Stored]:
        """The bot's messages since the user's last action."""
        return self.fake.sent(self.id)[self._mark :]

    @property
    def text(self) -> str:
        lines = []
        for stored in self.replies:
            lines.append(stored.message["text"])
            lines.extend(label for label, _ in buttons(stored))
        return "\n".join(lines)

    def _begin(self) -> None:
        self._mark = len(self.fake.sent(self.id))

    async def _settle(self, status: int | None) -> None:
        """Webhook: the bot answered before the POST returned. Polling: wait for its answer
        and then for a moment of quiet."""
        assert status in (None, 200), status
        if status is not None:
            return
        await self.fake.wait_for(lambda: len(self.fake.sent(self.id)) > self._mark)
        count, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 0.3:
            await asyncio.sleep(0.05)
            if len(self.fake.sent(self.id)) != count:
                count, quiet_since = len(self.fake.sent(self.id)), time.monotonic()

    async def say(self, text: str) -> str:
        self._begin()
        await self._settle(await self.fake.send_text(self.id, text))
        return self.text

    async def press(self, label: str) -> str:
        """Press the button (of the bot's latest keyboard) whose label contains ``label``."""
        offered = [
            (button, data)
            for stored in self.fake.sent(self.id)
            if not stored.deleted
            for button, data in buttons(stored)
        ]
        found = [
            data for button, data in reversed(offered) if label.casefold() in button.casefold()
        ]
        assert found, f"no button {label!r} among {[b for b, _ in offered[-8:]]}"
        self._begin()
        self.presses += 1
        await self._settle(await self.fake.press(self.id, found[0]))
        return self.text

    async def send_photo(self, data: bytes, **options: object) -> str:
        self._begin()
        await self._settle(await self.fake.send_photo(self.id, data, **options))  # type: ignore[arg-type]
        return self.text

    async def send_document(self, data: bytes, **options: object) -> str:
        self._begin()
        await self._settle(await self.fake.send_document(self.id, data, **options))  # type: ignore[arg-type]
        return self.text

    async def talk(self, table: Sequence[tuple[str, str]]) -> None:
        """A dialog table: ``[label]`` presses a button, anything else is typed."""
        for said, expected in table:
            if said.startswith("[") and said.endswith("]"):
                await self.press(said[1:-1])
            else:
                await self.say(said)
            assert expected.casefold() in self.text.casefold(), (
                f"after {said!r} expected {expected!r} in:\n{self.text}"
            )

    def receipt(self) -> str:
        match = RECEIPT.search(self.text)
        assert match, f"no receipt in: {self.text}"
        return match.group(0)


def buttons(stored: Stored) -> list[tuple[str, str]]:
    markup = stored.message.get("reply_markup") or {}
    return [
        (button["text"], button["callback_data"])
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


TIP_BY_TYPING = [
    ("/start", "Choose your language"),
    ("2", "What would you like to do?"),
    ("/tobao", "16-digit receipt"),
    ("1", "what is the tip"),
    ("1", "province"),
    ("ha noi", "commune"),
    ("ba dinh", "which of these"),
    ("1", "when"),
    ("1", "where"),
]


async def send_tip(user: TelegramUser, where: str, story: str) -> str:
    """A complete tip to Phường Ba Đình by typing; the receipt."""
    await user.talk(
        [
            *TIP_BY_TYPING,
            (where, "what happened"),
            (story, "added"),
            ("done", "photos"),
            ("done", "check your tip"),
            ("send", "receipt"),
        ]
    )
    return user.receipt()
