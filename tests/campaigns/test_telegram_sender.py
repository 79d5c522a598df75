"""Campaign bodies as Telegram messages: Markdown to escaped HTML, split at 4096."""

from __future__ import annotations

from pydantic import SecretStr

from bot.campaigns.runtime import telegram_sender
from bot.channels.telegram.campaign import markdown_html, markdown_parts
from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram, visible_text


def test_bold_becomes_b_and_everything_else_is_escaped() -> None:
    assert markdown_html("**Chú ý:** 1 < 2 & <script>") == (
        "<b>Chú ý:</b> 1 &lt; 2 &amp; &lt;script&gt;"
    )
    assert markdown_html("- gõ /tobao\n- gọi 113") == "- gõ /tobao\n- gọi 113"


def test_a_long_body_is_split_with_bold_kept_balanced() -> None:
    paragraph = "Một đoạn văn về phòng, chống ma túy. " * 40
    body = f"**{paragraph}\n\n{paragraph}\n\n{paragraph}**\n\n" + paragraph * 2
    parts = markdown_parts(body)
    assert len(parts) > 1
    for part in parts:
        text = visible_text(part, "HTML")  # parses: every <b> is closed
        assert len(text.encode("utf-16-le")) // 2 <= 4096
        assert part.count("<b>") == part.count("</b>")
    assert parts[0].startswith("<b>") and parts[1].startswith("<b>")
    assert "**" not in "".join(parts)


async def test_the_sender_speaks_to_the_bot_api(settings: Settings, fake: FakeTelegram) -> None:
    sender = telegram_sender(
        settings.model_copy(
            update={"telegram_token": SecretStr(fake.token), "telegram_api_base": fake.base_url}
        )
    )
    try:
        body = "**Tháng hành động** " + "chữ " * 2000
        parts = sender.parts(body)
        assert len(parts) == 2
        for part in parts:
            assert (await sender.send("tg:77", part)).kind == "sent"
        fake.fail("sendMessage", 403, times=1)
        assert (await sender.send("tg:77", "x")).kind == "blocked"
        fake.fail("sendMessage", 429, times=1, retry_after=7)
        limited = await sender.send("tg:77", "x")
        assert (limited.kind, limited.retry_after) == ("retry_after", 7.0)
        fake.fail("sendMessage", 502, times=1)
        assert (await sender.send("tg:77", "x")).kind == "transient"
        assert (await sender.send("zalo:77", "x")).kind == "rejected"
    finally:
        await sender.close()
    assert len(fake.sent(77)) == 2
    assert fake.sent(77)[0].html is not None and fake.sent(77)[0].html.startswith("<b>")
