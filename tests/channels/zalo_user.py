"""A Zalo user for dialog tests: types and sends photos through the fake Zalo Bot API, and
reads what the bot answered. Zalo bots have no buttons: everything is typed."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from tests.fakes.zalo_api import FakeZalo

RECEIPT = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


class ZaloUser:
    """One person in a private chat with the bot."""

    def __init__(self, fake: FakeZalo, chat_id: str | None = None, *, name: str = "Lan") -> None:
        self.fake = fake
        self.id = fake.user(chat_id, name)
        self._mark = 0

    @property
    def replies(self) -> list[str]:
        """The bot's messages since the user's last action."""
        return self.fake.texts(self.id)[self._mark :]

    @property
    def text(self) -> str:
        return "\n".join(self.replies)

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

    async def send_photo(self, data: bytes, **options: object) -> str:
        self._begin()
        await self._settle(await self.fake.send_photo(self.id, data, **options))
        return self.text

    async def talk(self, table: Sequence[tuple[str, str]]) -> None:
        """A dialog table: what the user types, and a text the bot's answer must contain."""
        for said, expected in table:
            await self.say(said)
            assert expected.casefold() in self.text.casefold(), (
                f"after {said!r} expected {expected!r} in:\n{self.text}"
            )

    def receipt(self) -> str:
        match = RECEIPT.search(self.text)
        assert match, f"no receipt in: {self.text}"
        return match.group(0)


# Vietnamese, typed without diacritics, as many people type on a phone.
TIP_UNTIL_WHERE = [
    ("xin chao", "Chọn ngôn ngữ"),
    ("1", "Bạn muốn làm gì?"),
    ("gui", "Trước khi bắt đầu"),
    ("tiep tuc", "về việc gì"),
    ("diem", "tỉnh, thành phố nào"),
    ("ha noi", "xã, phường nào"),
    ("ba dinh", "dưới đây"),
    ("1", "khi nào"),
    ("dang", "Cụ thể ở đâu"),
]

# The same in English, by numbers and words.
TIP_UNTIL_WHERE_EN = [
    ("hello", "Choose your language"),
    ("2", "What would you like to do?"),
    ("/tobao", "16-digit receipt"),
    ("continue", "what is the tip"),
    ("1", "province"),
    ("ha noi", "commune"),
    ("ba dinh", "which of these"),
    ("1", "when"),
    ("happening", "where"),
]


async def send_tip(user: ZaloUser, where: str, story: str) -> str:
    """A complete tip to Phường Ba Đình, typed in English; the receipt."""
    await user.talk(
        [
            *TIP_UNTIL_WHERE_EN,
            (where, "what happened"),
            (story, "added"),
            ("done", "photos"),
            ("done", "check your tip"),
            ("send", "receipt"),
        ]
    )
    return user.receipt()
