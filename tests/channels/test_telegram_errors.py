"""When Telegram says no: rate limits, blocked users, server errors, files too large or not
photos. The user's input is never lost and the logs name no one."""

from __future__ import annotations

import logging

import pytest

from tests.channels.conftest import Served
from tests.channels.telegram_user import TIP_BY_TYPING, TelegramUser
from tests.conftest import Police
from tests.unit.test_media import encode, two_colour


async def test_429_waits_retry_after_and_the_message_arrives_once(served: Served) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552001)
    fake.fail("sendMessage", 429, retry_after=1)
    assert "Choose your language" in await user.say("/start")
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [429, 200]
    assert len(fake.sent(user.id)) == 1


async def test_a_user_who_blocked_the_bot_is_dropped_without_a_crash(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = served.fake
    blocked = TelegramUser(fake, 5552002, first_name="Blocked", username="blocked_user")
    fake.fail("sendMessage", 403, chat_id=blocked.id, times=5)
    await blocked.say("/start")
    assert fake.sent(blocked.id) == []
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [403]  # no retry
    assert "blocked the bot" in caplog.text
    for private in ("5552002", "Blocked", "blocked_user"):
        assert private not in caplog.text
    other = TelegramUser(fake, 5552003)  # the channel still works for everyone else
    assert "Choose your language" in await other.say("/start")


async def test_server_errors_are_retried_with_backoff(served: Served) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552004)
    fake.fail("sendMessage", 500, times=2)
    assert "Choose your language" in await user.say("/start")
    assert [c.status for c in fake.calls_of("sendMessage", status=None)] == [500, 500, 200]


async def test_a_failed_send_does_not_lose_what_the_user_wrote(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552005)
    await user.talk([*TIP_BY_TYPING, ("skip", "what happened")])
    fake.fail("sendMessage", 500, times=10)  # more than the retries
    assert await user.say("Two men unload boxes at night") == ""
    fake.recover()
    await user.talk([("done", "photos"), ("done", "Two men unload boxes at night")])


async def test_a_photo_over_the_limit_is_refused_in_the_users_language_without_download(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552006, language_code="en")
    await user.talk(
        [("/start", "Chọn ngôn ngữ"), ("1", "Bạn muốn làm gì?"), ("/tobao", "16 chữ số")]
    )
    limit = served.app.settings.max_photo_bytes
    reply = await user.send_photo(encode(two_colour(), "JPEG"), declared_size=limit + 1)
    assert "quá lớn" in reply  # Vietnamese, as chosen, although Telegram is in English
    assert fake.calls_of("getFile", status=None) == []


async def test_an_image_sent_as_a_file_is_a_photo(served: Served, police: Police) -> None:
    user = TelegramUser(served.fake, 5552007)
    await user.talk([*TIP_BY_TYPING, ("skip", "what happened")])
    png = encode(two_colour(), "PNG")
    reply = await user.send_document(png, mime="image/png", file_name="IMG_Nguyen.png")
    assert "Photo 1 added" in reply


async def test_a_document_that_is_not_a_photo_is_refused_politely(
    served: Served, police: Police
) -> None:
    user = TelegramUser(served.fake, 5552008)
    await user.talk([*TIP_BY_TYPING, ("skip", "what happened")])
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    reply = await user.send_document(pdf, mime="application/pdf", file_name="list.pdf")
    assert "Only photos (JPEG, PNG, WebP or GIF) can be added" in reply


async def test_a_voice_message_gets_a_hint_to_type(served: Served) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552009)
    voice = {"file_id": "voice1", "file_unique_id": "v1", "duration": 3}
    await fake.push({"message": fake._user_message(user.id, None, voice=voice)})
    [answer] = fake.sent(user.id)
    assert "I can read text, photos and locations" in answer.message["text"]
    assert fake.calls_of("getFile", status=None) == []


async def test_a_location_is_taken_at_the_where_step(served: Served, police: Police) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5552010)
    await user.talk(TIP_BY_TYPING)
    await fake.send_location(user.id, 21.0333, 105.8333)
    assert "Location noted" in fake.sent(user.id)[-2].message["text"]
