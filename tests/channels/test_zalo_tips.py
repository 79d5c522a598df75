"""Tips on Zalo, over real HTTP against the fake Zalo Bot API: everything typed (numbers and
words, with or without diacritics), photos, the receipt check and the answer to the police."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.bootstrap import App
from bot.config import Settings
from storage.police import UnlockedOfficer
from storage.vault import OpenedTip
from tests.channels.conftest import ZaloServed, zalo_webhook
from tests.channels.zalo_user import TIP_UNTIL_WHERE, TIP_UNTIL_WHERE_EN, ZaloUser, send_tip
from tests.conftest import BA_DINH, OFFICER, OFFICER_PASSWORD, Police
from tests.fakes.zalo_api import FakeZalo
from tests.unit.test_media import CAMERA_MODEL, GPS_DATUM, encode, revealing_exif, two_colour


async def officer(app: App) -> UnlockedOfficer:
    return await app.police.unlock(OFFICER, OFFICER_PASSWORD)


async def opened_tips(app: App) -> list[OpenedTip]:
    unlocked = await officer(app)
    return [
        await app.casework.open_tip(unlocked, t.tip_id)
        for t in await app.casework.list_tips(unlocked)
    ]


async def test_a_tip_typed_in_vietnamese_without_diacritics_reaches_the_commune_queue(
    zalo_served: ZaloServed, police: Police
) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    await user.talk(
        [
            *TIP_UNTIL_WHERE,
            ("Quan nuoc dau ngo 12", "Chuyện gì đã xảy ra"),
            ("Mot nguoi ban ma tuy tu xe may do", "Đã thêm"),
            ("xong", "ảnh"),
            ("xong", "kiểm tra lại tin báo"),
            ("gui", "Mã biên nhận"),
        ]
    )
    receipt = user.receipt()
    [tip] = await opened_tips(zalo_served.app)
    assert tip.queue_id == police.queues[BA_DINH]
    assert tip.category == "hotspot"
    assert tip.content["where"] == "Quan nuoc dau ngo 12"
    assert tip.content["description"] == ["Mot nguoi ban ma tuy tu xe may do"]
    # Choices are numbered lines in the text: there are no buttons on Zalo.
    menu = next(t for t in fake.texts(user.id) if "Bạn muốn làm gì?" in t)
    assert "\n1. Gửi tin báo ẩn danh\n2. " in menu
    # The receipt is shown once, and every message fits Zalo's limit.
    assert sum(receipt in t for t in fake.texts(user.id)) == 1
    assert all(1 <= len(t) <= 2000 for t in fake.texts(user.id))
    assert fake.calls_of("sendMessage", status=None) == fake.calls_of("sendMessage")


async def test_the_reporter_reads_the_question_and_answers_with_the_receipt(
    zalo_served: ZaloServed, police: Police
) -> None:
    fake = zalo_served.fake
    reporter = ZaloUser(fake)
    receipt = await send_tip(reporter, "Cho Ngoc Ha", "Someone sells pills")
    unlocked = await officer(zalo_served.app)
    [summary] = await zalo_served.app.casework.list_tips(unlocked)
    await zalo_served.app.casework.ask_reporter(unlocked, summary.tip_id, "What colour is the car?")

    later = ZaloUser(fake)  # another phone, days later
    await later.talk(
        [
            ("hi", "Choose your language"),
            ("english", "What would you like to do?"),
            ("/kiemtra", "16-digit receipt"),
            (receipt.replace(" ", ""), "What colour is the car?"),
            ("write", "Write your answer"),
            ("A white van", "sent to the police anonymously"),
        ]
    )
    texts = fake.texts(later.id)
    # The receipt is never shown back; Zalo cannot delete the typed one, so the user is asked to.
    assert all(receipt not in t and receipt.replace(" ", "") not in t for t in texts)
    assert any("delete the message with your receipt yourself" in t for t in texts)
    opened = await zalo_served.app.casework.open_tip(unlocked, summary.tip_id)
    assert [m.text for m in opened.messages] == ["What colour is the car?", "A white van"]


async def test_a_photo_loses_its_gps_and_camera_before_it_is_stored(
    zalo_served: ZaloServed, police: Police
) -> None:
    fake = zalo_served.fake
    user = ZaloUser(fake)
    await user.talk(
        [*TIP_UNTIL_WHERE_EN, ("skip", "what happened"), ("Packets at the gate", "added")]
    )
    original = encode(two_colour(640, 480), "JPEG", exif=revealing_exif().tobytes())
    assert CAMERA_MODEL.encode() in original and GPS_DATUM.encode() in original
    reply = await user.send_photo(original)
    assert "Photo 1 added" in reply
    assert fake.calls_of("sendChatAction")  # "typing…" while it downloads
    await user.talk([("done", "photos"), ("done", "Photos: 1"), ("send", "receipt")])

    [tip] = await opened_tips(zalo_served.app)
    [photo] = tip.photos
    assert CAMERA_MODEL.encode() not in photo and GPS_DATUM.encode() not in photo
    picture = Image.open(io.BytesIO(photo))
    assert not picture.getexif()
    assert picture.size == (640, 480)


async def test_a_caption_is_added_to_the_description(
    zalo_served: ZaloServed, police: Police
) -> None:
    user = ZaloUser(zalo_served.fake)
    await user.talk([*TIP_UNTIL_WHERE_EN, ("skip", "what happened")])
    reply = await user.send_photo(encode(two_colour(), "PNG"), caption="Seen on Monday night")
    assert "Photo 1 added" in reply and "Added." in reply
    await user.talk([("done", "photos"), ("done", "Seen on Monday night")])


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_a_photo_over_the_limit_is_refused_politely(
    app: App, zalo_fake: FakeZalo, settings: Settings, police: Police, declared: bool
) -> None:
    small = settings.model_copy(update={"max_photo_bytes": 100_000})
    async with zalo_webhook(app, zalo_fake, small) as served:
        user = ZaloUser(served.fake)
        await user.talk([("xin chao", "Chọn ngôn ngữ"), ("1", "Bạn muốn làm gì?")])
        await user.talk([("gui", "Trước khi"), ("tiep tuc", "về việc gì")])
        big = encode(Image.effect_noise((700, 700), 80).convert("RGB"), "PNG")
        assert len(big) > 100_000
        reply = await user.send_photo(big, declare_length=declared)
        assert "quá lớn" in reply  # in the user's language
        assert "Ảnh 1" not in reply
        await user.talk([("1", "tỉnh, thành phố nào")])  # the conversation goes on


async def test_a_photo_whose_link_expired_is_asked_again(
    zalo_served: ZaloServed, police: Police
) -> None:
    user = ZaloUser(zalo_served.fake)
    await user.talk([*TIP_UNTIL_WHERE_EN, ("skip", "what happened")])
    reply = await user.send_photo(encode(two_colour(), "JPEG"), status=404)
    assert "could not be received from Zalo" in reply
