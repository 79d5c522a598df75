from __future__ import annotations

from bot.bootstrap import App
from tests.dialog import Chat, english_chat


async def tip_to_review(app: App, description: str = "A dealer near the school gate") -> Chat:
    """Type a tip to Phường Ba Đình up to its review, in English; returns the chat."""
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit receipt"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("ba dinh", "which of these"),
            ("1", "when"),
            ("1", "where"),
            ("Cổng trường", "what happened"),
            (description, "added"),
            ("done", "photos"),
            ("done", "check your tip"),
        ]
    )
    return chat


async def send_tip(
    app: App, description: str = "A dealer near the school gate"
) -> tuple[Chat, str]:
    """Send a complete tip to Phường Ba Đình by typing; returns the chat and its receipt."""
    chat = await tip_to_review(app, description)
    await chat.talk([("send", "receipt")])
    return chat, chat.receipt()
