"""A tiny chat client for dialog-table tests: talks to the real conversation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from bot.bootstrap import App
from handlers.render import with_numbered_options
from handlers.types import Attachment, Inbound, Location, Outbound

RECEIPT = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")


class Chat:
    """One user chatting with the bot; remembers the last replies."""

    def __init__(self, app: App, key: str | None = None) -> None:
        self.app = app
        self.key = key or f"web:{uuid.uuid4().hex}"
        self.replies: list[Outbound] = []

    async def send(
        self,
        text: str | None = None,
        *,
        payload: str | None = None,
        attachments: Sequence[Attachment] = (),
        location: Location | None = None,
    ) -> list[Outbound]:
        self.replies = await self.app.conversation.handle(
            Inbound(
                chat=self.key,
                text=text,
                payload=payload,
                attachments=tuple(attachments),
                location=location,
            )
        )
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(with_numbered_options(r) for r in self.replies)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [(b.label, b.payload) for r in self.replies for row in r.buttons for b in row]

    async def press(self, label: str) -> list[Outbound]:
        """Press the button whose label contains ``label`` (case-insensitive)."""
        found = [p for lab, p in self.buttons if label.casefold() in lab.casefold()]
        assert found, f"no button {label!r} among {[lab for lab, _ in self.buttons]}"
        return await self.send(payload=found[0])

    async def talk(self, table: Sequence[tuple[str, str]]) -> None:
        """Play a dialog table: ``[button label]`` presses a button, anything else is typed;
        the bot's answer must contain the expected text (case-insensitive)."""
        for said, expected in table:
            if said.startswith("[") and said.endswith("]"):
                await self.press(said[1:-1])
            else:
                await self.send(said)
            assert expected.casefold() in self.text.casefold(), (
                f"after {said!r} expected {expected!r} in:\n{self.text}"
            )

    def receipt(self) -> str:
        match = RECEIPT.search(self.text)
        assert match, f"no receipt in: {self.text}"
        return match.group(0)


async def english_chat(app: App) -> Chat:
    chat = Chat(app)
    await chat.send("/start")
    await chat.press("English")
    return chat
