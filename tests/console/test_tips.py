"""An officer's work in the console: the queue, a tip, the dialogue, triage, notes,
forwarding and photos. Every action lands in the audit log through Casework."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import update

from bot.bootstrap import App
from bot.console.core import local_time
from handlers.types import Attachment
from storage.models import Tip
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, Police
from tests.console.conftest import PASSWORD, Browsers, ConsoleClient
from tests.dialog import english_chat
from tests.flow.helpers import send_tip
from tests.unit.test_media import CAMERA_MODEL, GPS_DATUM, encode, revealing_exif, two_colour

TIP_ID = re.compile(r'href="/console/tips/([0-9A-F]{12})"')


async def only_tip(app: App) -> str:
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    return summary.tip_id


async def tip_with_photo(app: App) -> str:
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
            ("Photo of the stash", "added"),
            ("done", "photos"),
        ]
    )
    photo = encode(two_colour(), "JPEG", exif=revealing_exif().tobytes())
    await chat.send(attachments=[Attachment(data=photo, mime="image/jpeg", filename=None)])
    await chat.talk([("done", "check your tip"), ("send", "receipt")])
    return await only_tip(app)


async def test_the_queue_shows_each_tip_with_its_labels_and_the_counts(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    await send_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get("/console/")
    assert page.status_code == 200
    assert len(set(TIP_ID.findall(page.text))) == 2
    commune = app.directory.commune(BA_DINH)
    assert commune is not None
    assert commune.name in page.text
    assert "Mua bán, bán lẻ ma túy" in page.text  # the category in Vietnamese
    assert re.search(r"<strong>2</strong>\s*Mới", page.text)  # two new tips
    assert re.search(r"<strong>0</strong>\s*Đang xem xét", page.text)
    [summary] = (await app.casework.list_tips(officer))[:1]
    assert local_time(summary.received_at) in page.text  # Vietnam time, day first


async def test_filters_and_order_come_from_the_address(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    await send_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    first, second = await app.casework.list_tips(officer, newest_first=False)
    await app.casework.set_status(officer, first.tip_id, "in_review")
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)

    in_review = await browser.get("/console/", params={"status": "in_review"})
    assert TIP_ID.findall(in_review.text) == [first.tip_id]
    other_category = await browser.get("/console/", params={"category": "growing"})
    assert TIP_ID.findall(other_category.text) == []
    other_commune = await browser.get("/console/", params={"commune": str(HOAN_KIEM)})
    assert TIP_ID.findall(other_commune.text) == []
    here = await browser.get("/console/", params={"commune": str(BA_DINH), "sort": "oldest"})
    assert TIP_ID.findall(here.text) == [first.tip_id, second.tip_id]
    newest = await browser.get("/console/", params={"sort": "newest"})
    assert TIP_ID.findall(newest.text)[0] in (first.tip_id, second.tip_id)
    nonsense = await browser.get("/console/", params={"status": "<b>", "commune": "x"})
    assert nonsense.status_code == 200
    assert len(TIP_ID.findall(nonsense.text)) == 2


async def test_an_old_unacknowledged_tip_is_marked_overdue_and_an_escalated_one_so(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    async with app.db.sessions.begin() as session:
        await session.execute(
            update(Tip)
            .where(Tip.id == tip_id)
            .values(received_at=datetime.now(UTC) - timedelta(hours=30))
        )
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get("/console/")
    assert "Quá hạn" in page.text
    assert "Đã chuyển lên tỉnh" not in page.text
    assert await app.casework.escalate_overdue(timedelta(hours=24)) == [tip_id]
    page = await browser.get("/console/")
    assert "Đã chuyển lên tỉnh" in page.text


async def test_an_officer_opens_a_tip_and_reads_what_the_reporter_sent(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app, "A dealer <b>near</b> the school gate")
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get(f"/console/tips/{tip_id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "A dealer &lt;b&gt;near&lt;/b&gt; the school gate" in page.text  # escaped
    assert "<b>near</b>" not in page.text
    assert "Cổng trường" in page.text
    assert "Happening now" not in page.text  # the Vietnamese label instead
    assert [e.action for e in await app.audit.events(tip_id=tip_id)] == ["open"]


async def test_english_officers_read_english_labels(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get("/console/lang/en")
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "Drug dealing or retail selling" in page.text
    assert "Happening now" in page.text
    assert "Out of jurisdiction" in page.text


async def test_a_question_reaches_the_reporter_and_their_answer_reaches_the_console(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    _, receipt = await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get(f"/console/tips/{tip_id}")
    asked = await browser.post(f"/console/tips/{tip_id}/ask", {"text": "Xe máy màu gì?"})
    assert (asked.status_code, asked.headers["location"]) == (303, f"/console/tips/{tip_id}")
    assert "Xe máy" not in asked.headers["location"]
    shown = await browser.get(f"/console/tips/{tip_id}")
    assert "Đã gửi câu hỏi" in shown.text  # said once, on the next page
    assert "Đã gửi câu hỏi" not in (await browser.get(f"/console/tips/{tip_id}")).text

    reporter = await english_chat(app)  # later, on another device
    await reporter.talk(
        [
            ("[Check a tip with my receipt]", "16-digit receipt"),
            (receipt, "Police: Xe máy màu gì?"),
            ("[Write an answer]", "write your answer"),
            ("Màu đỏ, Honda Wave", "sent to the police"),
        ]
    )
    queue = await browser.get("/console/")
    assert re.search(r'badge-unread">1<', queue.text)
    page = await browser.get(f"/console/tips/{tip_id}")
    assert page.text.index("Xe máy màu gì?") < page.text.index("Màu đỏ, Honda Wave")
    assert "ask" in [e.action for e in await app.audit.events(tip_id=tip_id)]


async def test_status_and_disposition_change_and_a_closing_needs_a_disposition(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get(f"/console/tips/{tip_id}")
    await browser.post(f"/console/tips/{tip_id}/status", {"status": "in_review"})
    refused = await browser.post(f"/console/tips/{tip_id}/status", {"status": "closed"})
    assert refused.status_code == 303
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "Hãy chọn kết luận" in page.text
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    assert summary.status == "in_review"

    await browser.post(
        f"/console/tips/{tip_id}/status", {"status": "closed", "disposition": "unfounded"}
    )
    [summary] = await app.casework.list_tips(officer)
    assert (summary.status, summary.disposition) == ("closed", "unfounded")
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "Không có cơ sở" in page.text
    bogus = await browser.post(f"/console/tips/{tip_id}/status", {"status": "deleted"})
    assert bogus.status_code == 303
    [summary] = await app.casework.list_tips(officer)
    assert summary.status == "closed"


async def test_outcome_figures_are_saved(app: App, police: Police, browser: ConsoleClient) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get(f"/console/tips/{tip_id}")
    await browser.post(
        f"/console/tips/{tip_id}/outcome", {"arrests": "2", "seizures_grams": "12,5"}
    )
    page = await browser.get(f"/console/tips/{tip_id}")
    assert 'value="2"' in page.text and 'value="12.5"' in page.text
    await browser.post(f"/console/tips/{tip_id}/outcome", {"arrests": "-1"})
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "phải là số" in page.text
    assert 'value="2"' in page.text


async def test_an_internal_note_is_read_by_officers_only(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    _, receipt = await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get(f"/console/tips/{tip_id}")
    await browser.post(f"/console/tips/{tip_id}/notes", {"text": "Đã có hồ sơ <script>"})
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "Đã có hồ sơ &lt;script&gt;" in page.text
    assert "Cán bộ thử nghiệm" in page.text  # the author
    reporter = await english_chat(app)
    await reporter.talk([("[Check a tip with my receipt]", "16-digit"), (receipt, "status")])
    assert "hồ sơ" not in reporter.text


async def test_a_forwarded_tip_leaves_the_old_queue_and_reaches_the_new_one(
    app: App, police: Police, browsers: Browsers, ba_dinh_officer: str, foreign_officer: str
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    local = browsers.client()
    await local.signed_in(ba_dinh_officer, PASSWORD)
    other = browsers.client()
    await other.signed_in(foreign_officer, PASSWORD)
    assert TIP_ID.findall((await other.get("/console/")).text) == []

    page = await local.get(f"/console/tips/{tip_id}")
    target = police.queues[HOAN_KIEM]
    assert f'<option value="{target}">' in page.text
    assert f'<option value="{police.queues[BA_DINH]}">' not in page.text  # not to itself
    moved = await local.post(f"/console/tips/{tip_id}/forward", {"queue_id": str(target)})
    assert (moved.status_code, moved.headers["location"]) == (303, "/console/")
    queue = await local.get("/console/")
    assert "Đã chuyển tin báo cho Queue 70." in queue.text
    assert TIP_ID.findall(queue.text) == []
    assert (await local.get(f"/console/tips/{tip_id}")).status_code == 404

    assert TIP_ID.findall((await other.get("/console/")).text) == [tip_id]
    assert (await other.get(f"/console/tips/{tip_id}")).status_code == 200
    [event] = [e for e in await app.audit.events(tip_id=tip_id) if e.action == "forward"]
    assert event.actor == ba_dinh_officer


async def test_a_tip_cannot_be_forwarded_outside_its_province(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await app.police.create_recovery_key(79)  # Thành phố Hồ Chí Minh
    elsewhere, _ = await app.police.create_queue(79, None, "Công an TP. Hồ Chí Minh")
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "Hồ Chí Minh" not in page.text
    await browser.post(f"/console/tips/{tip_id}/forward", {"queue_id": str(elsewhere.id)})
    page = await browser.get(f"/console/tips/{tip_id}")
    assert "cùng tỉnh" in page.text
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    assert summary.province_code == HANOI and summary.queue_id == police.queues[BA_DINH]


async def test_photos_are_served_stripped_to_signed_in_officers_only(
    app: App, police: Police, browsers: Browsers, browser: ConsoleClient
) -> None:
    tip_id = await tip_with_photo(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get(f"/console/tips/{tip_id}")
    assert f'src="/console/tips/{tip_id}/photos/1"' in page.text
    response = await browser.get(f"/console/tips/{tip_id}/photos/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == "inline"
    data = response.content
    assert data[:2] == b"\xff\xd8"
    assert CAMERA_MODEL.encode() not in data and GPS_DATUM.encode() not in data
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
    assert (await browser.get(f"/console/tips/{tip_id}/photos/2")).status_code == 404
    assert (await browser.get(f"/console/tips/{tip_id}/photos/0")).status_code == 404
    stranger = browsers.client()
    anonymous = await stranger.get(f"/console/tips/{tip_id}/photos/1")
    assert anonymous.status_code == 303
    assert anonymous.content == b""


async def test_a_form_without_the_right_token_changes_nothing(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    before = len(await app.audit.events())
    forms = {
        "status": {"status": "closed", "disposition": "prank"},
        "notes": {"text": "note"},
        "ask": {"text": "question"},
        "outcome": {"arrests": "3"},
        "forward": {"queue_id": str(police.queues[HOAN_KIEM])},
    }
    for action, fields in forms.items():
        for token in ("", "wrong-token"):
            response = await browser.post(f"/console/tips/{tip_id}/{action}", fields, csrf=token)
            assert response.status_code == 403, action
            assert "không có gì thay đổi" in html.unescape(response.text)
    assert len(await app.audit.events()) == before
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    [summary] = await app.casework.list_tips(officer)
    assert (summary.status, summary.queue_id) == ("new", police.queues[BA_DINH])
    assert await app.casework.notes(officer, tip_id) == []
