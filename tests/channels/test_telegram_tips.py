"""Tips on Telegram, through aiogram, real HTTP and the fake Bot API: buttons, typing, photos,
the receipt check and the answer to the police."""

from __future__ import annotations

import io

from PIL import Image

from bot.bootstrap import App
from storage.police import UnlockedOfficer
from tests.channels.conftest import Served
from tests.channels.telegram_user import TelegramUser, buttons, send_tip
from tests.conftest import BA_DINH, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, Police
from tests.unit.test_media import CAMERA_MODEL, GPS_DATUM, encode, revealing_exif, two_colour


async def officer(app: App) -> UnlockedOfficer:
    return await app.police.unlock(OFFICER, OFFICER_PASSWORD)


async def opened_tips(app: App) -> list:
    unlocked = await officer(app)
    return [
        await app.casework.open_tip(unlocked, t.tip_id)
        for t in await app.casework.list_tips(unlocked)
    ]


async def test_a_tip_by_buttons_reaches_the_commune_queue(served: Served, police: Police) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5550001)
    await user.talk(
        [
            ("/start", "Choose your language"),
            ("[English]", "What would you like to do?"),
            ("[Send an anonymous tip]", "16-digit receipt"),
            ("[Continue]", "what is the tip about"),
            ("[hotspot]", "in which province"),
            ("[Hà Nội]", "which commune"),
            ("Hoan Kiem", "which of these"),
            ("[Phường Hoàn Kiếm]", "when did it happen"),
            ("[Happening now]", "where exactly"),
            ("[Skip]", "what happened"),
            ("People gather behind the market", "added"),
            ("[Done]", "photos"),
            ("[Done]", "check your tip"),
            ("[Send the tip]", "your receipt"),
        ]
    )
    [tip] = await opened_tips(served.app)
    assert tip.queue_id == police.queues[HOAN_KIEM]
    assert tip.category == "hotspot"
    # Every press was answered, so no spinner keeps turning.
    answered = fake.calls_of("answerCallbackQuery")
    assert len(answered) == user.presses == 11
    # Choices are numbered on the buttons themselves, so typing the number works too.
    menu = [s for s in fake.sent(user.id) if "What would you like to do?" in s.message["text"]]
    labels = [label for label, _ in buttons(menu[0])]
    assert labels[0] == "1. Send an anonymous tip" and labels[1].startswith("2. ")


async def test_a_tip_by_typing_numbers_and_words(served: Served, police: Police) -> None:
    user = TelegramUser(served.fake, 5550002)
    receipt = await send_tip(user, "Quán nước đầu ngõ 12", "A man sells meth from a red scooter")
    [tip] = await opened_tips(served.app)
    assert tip.queue_id == police.queues[BA_DINH]
    assert tip.content["where"] == "Quán nước đầu ngõ 12"
    assert tip.content["description"] == ["A man sells meth from a red scooter"]
    assert receipt.replace(" ", "") not in str(tip.content)
    sent = [s for s in served.fake.sent(user.id) if receipt in s.message["text"]]
    assert len(sent) == 1  # shown once


async def test_a_photo_loses_its_gps_and_camera_before_it_is_stored(
    served: Served, police: Police
) -> None:
    fake = served.fake
    user = TelegramUser(fake, 5550003)
    await user.talk(
        [
            *[(said, expected) for said, expected in _until_what()],
            ("Packets change hands at the gate", "added"),
        ]
    )
    original = encode(two_colour(640, 480), "JPEG", exif=revealing_exif().tobytes())
    assert CAMERA_MODEL.encode() in original and GPS_DATUM.encode() in original
    thumbnail = encode(two_colour(90, 67), "JPEG")
    reply = await user.send_photo(original, size=(640, 480), thumbnail=thumbnail)
    assert "Photo 1 added" in reply
    # Only the largest size was fetched.
    [asked] = fake.calls_of("getFile")
    full = [f for f, stored in fake.files.items() if stored.data == original]
    assert asked.params["file_id"] == full[0]
    await user.talk([("done", "photos"), ("done", "Photos: 1"), ("send", "receipt")])

    [tip] = await opened_tips(served.app)
    [photo] = tip.photos
    assert CAMERA_MODEL.encode() not in photo and GPS_DATUM.encode() not in photo
    picture = Image.open(io.BytesIO(photo))
    assert not picture.getexif()
    assert picture.size == (640, 480)


async def test_a_caption_is_added_to_the_description(served: Served, police: Police) -> None:
    user = TelegramUser(served.fake, 5550004)
    await user.talk(_until_what())
    reply = await user.send_photo(encode(two_colour(), "PNG"), caption="Seen on Monday night")
    assert "Photo 1 added" in reply and "Added." in reply
    await user.talk([("done", "photos"), ("done", "Seen on Monday night")])


async def test_the_reporter_reads_the_question_and_answers_with_the_receipt(
    served: Served, police: Police
) -> None:
    fake = served.fake
    reporter = TelegramUser(fake, 5550005)
    receipt = await send_tip(reporter, "Chợ Ngọc Hà", "Someone sells pills")
    unlocked = await officer(served.app)
    [summary] = await served.app.casework.list_tips(unlocked)
    await served.app.casework.ask_reporter(unlocked, summary.tip_id, "What colour is the car?")

    later = TelegramUser(fake, 5550006)
    await later.talk(
        [
            ("/start", "Choose your language"),
            ("2", "What would you like to do?"),
            ("/kiemtra", "16-digit receipt"),
            (receipt, "What colour is the car?"),
            ("[Write an answer]", "Write your answer"),
            ("A white van", "sent to the police anonymously"),
        ]
    )
    # The receipt is never shown back, and the typed one is taken off the user's screen.
    assert all(receipt not in s.message["text"] for s in fake.sent(later.id))
    typed = [
        s
        for s in fake.history[later.id].values()
        if not s.by_bot and s.message.get("text") == receipt
    ]
    assert typed and all(s.deleted for s in typed)
    opened = await served.app.casework.open_tip(unlocked, summary.tip_id)
    assert [m.text for m in opened.messages] == ["What colour is the car?", "A white van"]


def _until_what() -> list[tuple[str, str]]:
    return [
        ("/start", "Choose your language"),
        ("2", "What would you like to do?"),
        ("/tobao", "16-digit receipt"),
        ("1", "what is the tip"),
        ("1", "province"),
        ("ha noi", "commune"),
        ("ba dinh", "which of these"),
        ("1", "when"),
        ("1", "where"),
        ("skip", "what happened"),
    ]
