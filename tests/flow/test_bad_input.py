"""Bad input gets a clear answer and changes nothing it should not."""

from __future__ import annotations

import io

from PIL import Image

from bot.bootstrap import App
from handlers.types import Attachment, Location
from tests.conftest import OFFICER, OFFICER_PASSWORD, Police
from tests.dialog import Chat, english_chat
from tests.unit.test_media import CAMERA_MODEL, GPS_DATUM, encode, revealing_exif, two_colour


async def state_of(app: App, chat: Chat) -> dict:
    state = await app.states.load(await app.conversation.chat_keys(chat.key))
    assert state is not None
    return state


async def at_description(app: App) -> Chat:
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
            ("Near the market", "what happened"),
            ("First part", "added"),
        ]
    )
    return chat


async def test_an_oversized_message_is_refused_and_the_draft_is_kept(
    app: App, police: Police
) -> None:
    chat = await at_description(app)
    await chat.send("x" * 5000)
    assert "too long (5000 characters)" in chat.text
    state = await state_of(app, chat)
    assert state["draft"]["description"] == ["First part"]
    assert state["step"] == "tip.what"


async def test_a_receipt_pasted_into_the_description_is_not_stored(
    app: App, police: Police
) -> None:
    from tests.flow.helpers import send_tip

    _, receipt = await send_tip(app)
    chat = await at_description(app)
    await chat.send(f"my old receipt is {receipt} please link them")
    assert "looks like a receipt" in chat.text
    state = await state_of(app, chat)
    assert state["draft"]["description"] == ["First part"]


async def test_unknown_commands_and_stale_buttons_are_explained(app: App, police: Police) -> None:
    chat = await at_description(app)
    await chat.send("/hack")
    assert "don't know that command" in chat.text
    assert "write more" in chat.text.casefold()
    await chat.send(payload="cat:trading")  # a button from an earlier question
    assert "no longer available" in chat.text
    await chat.send(payload="\x00garbage" * 3)
    assert "no longer available" in chat.text
    assert (await state_of(app, chat))["draft"]["description"] == ["First part"]


async def test_a_commune_that_does_not_exist_is_explained(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("Xyzzy Qwerty", "could not find"),
            ("ba dinh", "which of these"),
        ]
    )


async def test_a_photo_is_stripped_of_gps_and_camera_before_an_officer_sees_it(
    app: App, police: Police
) -> None:
    chat = await at_description(app)
    photo = encode(two_colour(64, 48), "JPEG", exif=revealing_exif())
    assert CAMERA_MODEL.encode() in photo
    await chat.talk([("done", "photos")])
    await chat.send(attachments=[Attachment(photo, "image/jpeg", "IMG_0001.jpg")])
    assert "photo 1 added" in chat.text.casefold()
    await chat.send(attachments=[Attachment(b"%PDF-1.4 not an image", "application/pdf")])
    assert "only photos" in chat.text.casefold()
    await chat.talk([("done", "photos: 1"), ("send", "receipt")])
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    opened = await app.casework.open_tip(officer, summary.tip_id)
    [stored] = opened.photos
    assert CAMERA_MODEL.encode() not in stored and GPS_DATUM.encode() not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and len(image.getexif()) == 0
    assert image.size == (64, 48)


async def test_too_many_photos_are_refused_politely(app: App, police: Police) -> None:
    chat = await at_description(app)
    await chat.send("done")
    photo = encode(two_colour(), "PNG")
    for _ in range(app.conversation.limits.max_photos):
        await chat.send(attachments=[Attachment(photo)])
    await chat.send(attachments=[Attachment(photo)])
    assert "already added 5 photos" in chat.text


async def test_a_photo_outside_a_tip_is_explained(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.send(attachments=[Attachment(encode(two_colour(), "PNG"))])
    assert "while you send a tip" in chat.text


async def test_a_shared_location_is_kept_with_the_tip(app: App, police: Police) -> None:
    chat = await english_chat(app)
    await chat.talk(
        [
            ("/tobao", "16-digit"),
            ("1", "what is the tip"),
            ("1", "province"),
            ("ha noi", "commune"),
            ("ba dinh", "which of these"),
            ("1", "when"),
            ("1", "where"),
        ]
    )
    await chat.send(location=Location(21.0345678912, 105.8123456789))
    assert "location noted" in chat.text.casefold()
    await chat.talk(
        [
            ("skip", "what happened"),
            ("Deal at the corner", "added"),
            ("done", "photos"),
            ("done", "location shared"),
            ("send", "receipt"),
        ]
    )
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    opened = await app.casework.open_tip(officer, summary.tip_id)
    assert opened.content["location"] == [21.034568, 105.812346]
