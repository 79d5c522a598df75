"""The communicator pages: the calendar, a message's previews, audience size and delivery
controls, the message form, loading a file; and the month-end report page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import App
from bot.campaigns.schema import load_campaign_file
from bot.console.campaigns import previews
from bot.console.core import LOCAL_TIME
from storage.campaigns import MessageRow
from storage.subscriptions import Subscription
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, Police
from tests.console.conftest import PASSWORD, Browsers, ConsoleClient
from tests.console.test_dashboard import table

JUNE = Path(__file__).parents[2] / "content" / "campaigns" / "june-action-month.yaml"
COMMUNICATOR = "truyenthong.hn"


async def load_june(app: App) -> dict[str, MessageRow]:
    await app.campaigns.load(load_campaign_file(JUNE))
    return {m.key: m for m in await app.campaigns.messages()}


async def communicator(app: App, browsers: Browsers, role: str = "communicator") -> ConsoleClient:
    username = f"{COMMUNICATOR}.{role}"
    await app.police.add_officer(
        username, "Truyền thông Hà Nội", PASSWORD, role=role, province_code=HANOI
    )
    browser = browsers.client()
    await browser.signed_in(username, PASSWORD)
    return browser


def next_june(message: MessageRow) -> int:
    assert message.due_at is not None
    return message.due_at.astimezone(LOCAL_TIME).year


async def test_the_calendar_shows_the_june_campaign_with_26_june_highlighted(
    app: App, browsers: Browsers
) -> None:
    messages = await load_june(app)
    browser = await communicator(app, browsers)
    year = next_june(messages["launch"])

    page = await browser.get(f"/console/campaigns?year={year}")
    assert page.status_code == 200
    text = page.text
    assert " style=" not in text and "<script" not in text
    assert f"/console/campaigns/messages/{messages['launch'].id}" in text
    assert "08:00 launch" in text
    cells = table(text, "calendar")
    assert len(cells[0]) == 7  # Monday to Sunday
    first = next(cell for row in cells[1:] for cell in row if cell.startswith("1 "))
    assert "launch" in first and "Đã lên lịch" in first  # scheduled, in Vietnamese
    highlighted = re.findall(
        r'<td class="day[^"]*highlight[^"]*">\s*<span class="date">(\d+)', text
    )
    assert highlighted == ["26"]
    june_messages = [m for m in messages.values() if m.yearly and m.yearly.startswith("06-")]
    assert text.count('class="entry state-') == len(june_messages)
    # Another year is selectable; a page of a year without the campaign is empty.
    assert f'href="/console/campaigns?year={year + 1}&amp;month=6"' in text
    empty = await browser.get("/console/campaigns?year=2001")
    assert 'class="entry state-' in text and 'class="entry state-' not in empty.text


async def test_previews_render_each_platform_within_its_limits(
    app: App, browsers: Browsers
) -> None:
    messages = await load_june(app)
    browser = await communicator(app, browsers)
    launch = messages["launch"]
    page = await browser.get(f"/console/campaigns/messages/{launch.id}")
    assert page.status_code == 200
    text = page.text
    for language in ("vi", "en"):
        for platform in ("telegram", "zalo", "web"):
            assert f'id="preview-{platform}-{language}"' in text
    # Telegram: HTML with bold; Zalo and the web chat: plain text without ** markers.
    telegram = text.split('id="preview-telegram-vi"')[1].split("</figure>")[0]
    assert "<b>Hôm nay bắt đầu Tháng hành động phòng, chống ma túy (1–30/6).</b>" in telegram
    zalo = text.split('id="preview-zalo-vi"')[1].split("</figure>")[0]
    assert "**" not in zalo and "<b>" not in zalo and "Hôm nay bắt đầu" in zalo
    assert " style=" not in text and "<script" not in text

    for message in messages.values():
        for preview in previews(message):
            assert all(part.length <= 4096 for part in preview.telegram)
            assert all(part.length <= 2000 for part in preview.zalo)
    # A body longer than Zalo allows is split; escaped for Telegram.
    long = replace(launch, bodies={"vi": "Câu <dài> **đậm**. " * 400})
    [preview] = previews(long)
    assert len(preview.zalo) > 1 and all(part.length <= 2000 for part in preview.zalo)
    assert len(preview.telegram) == 2 and "&lt;dài&gt;" in str(preview.telegram[0].content)
    assert "<dài>" not in str(preview.telegram[0].content)


async def test_the_audience_size_counts_matching_active_subscribers_only(
    app: App, browsers: Browsers
) -> None:
    messages = await load_june(app)
    subscribe = app.subscriptions.save
    # Students everywhere read w1 student messages; others do not count.
    await subscribe("tg:1", Subscription(HANOI, BA_DINH, "students", "vi"))
    await subscribe("tg:2", Subscription(79, None, "students", "en"))
    await subscribe("zalo:3", Subscription(HANOI, None, "students", "vi"))
    await subscribe("tg:4", Subscription(HANOI, BA_DINH, "parents", "vi"))  # other group
    await subscribe("tg:5", Subscription(HANOI, HOAN_KIEM, "students", "vi"))
    await app.subscriptions.stop("tg:5")  # stopped
    student = next(
        m for m in messages.values() if m.audience["groups"] == ["students"] and not m.image
    )
    browser = await communicator(app, browsers)
    page = await browser.get(f"/console/campaigns/messages/{student.id}")
    sizes = {row[0]: row[1] for row in table(page.text, "table-size")[1:]}
    assert sizes == {"Telegram": "2", "Zalo": "1", "Tổng": "3"}
    launch = await browser.get(f"/console/campaigns/messages/{messages['launch'].id}")
    assert {row[0]: row[1] for row in table(launch.text, "table-size")[1:]}["Tổng"] == "4"


async def test_send_now_pause_resume_and_cancel_change_the_state_and_are_audited(
    app: App, browsers: Browsers
) -> None:
    messages = await load_june(app)
    await app.subscriptions.save("tg:1", Subscription(HANOI, BA_DINH, "students", "vi"))
    browser = await communicator(app, browsers)
    launch = messages["launch"]
    path = f"/console/campaigns/messages/{launch.id}"
    await browser.get(path)

    sent = await browser.post(f"{path}/send-now")
    assert sent.status_code == 303 and sent.headers["location"] == path
    assert (await app.campaigns.message(launch.id)).state == "sending"  # type: ignore[union-attr]
    page = await browser.get(path)
    assert '<meta http-equiv="refresh" content="5">' in page.text
    assert '<progress id="progress" value="0" max="1">' in page.text
    assert "Đã bắt đầu gửi: 1 lượt gửi mới." in page.text

    await browser.post(f"{path}/pause")
    assert (await app.campaigns.message(launch.id)).state == "paused"  # type: ignore[union-attr]
    await browser.get(path)
    await browser.post(f"{path}/resume")
    assert (await app.campaigns.message(launch.id)).state == "sending"  # type: ignore[union-attr]
    await browser.get(path)
    await browser.post(f"{path}/cancel")
    assert (await app.campaigns.message(launch.id)).state == "cancelled"  # type: ignore[union-attr]

    actions = [e.action for e in await app.audit.events(actor=f"{COMMUNICATOR}.communicator")]
    for action in ("campaign_send_now", "campaign_pause", "campaign_resume", "campaign_cancel"):
        assert action in actions
    event = next(
        e
        for e in await app.audit.events(actor=f"{COMMUNICATOR}.communicator")
        if e.action == "campaign_send_now"
    )
    assert event.detail["ref"] == "june-action-month/launch" and event.detail["added"] == 1
    # Cancelling dropped the delivery that was still waiting.
    progress = await app.campaigns.progress(launch.id, event.detail["occurrence"])
    assert progress == {"skipped": 1}


async def test_controls_need_the_csrf_token(app: App, browsers: Browsers) -> None:
    messages = await load_june(app)
    browser = await communicator(app, browsers)
    launch = messages["launch"]
    await browser.get(f"/console/campaigns/messages/{launch.id}")
    for action in ("send-now", "pause", "cancel"):
        refused = await browser.post(f"/console/campaigns/messages/{launch.id}/{action}", csrf="")
        assert refused.status_code == 403
        wrong = await browser.post(
            f"/console/campaigns/messages/{launch.id}/{action}", csrf="x" * 43
        )
        assert wrong.status_code == 403
    assert (await app.campaigns.message(launch.id)).state == "scheduled"  # type: ignore[union-attr]
    new = await browser.post("/console/campaigns/new", {"campaign": "june-action-month"}, csrf="")
    assert new.status_code == 403


async def test_officers_and_supervisors_do_not_see_campaign_pages(
    app: App, police: Police, browsers: Browsers, supervisor: str, ba_dinh_officer: str
) -> None:
    messages = await load_june(app)
    paths = [
        "/console/campaigns",
        f"/console/campaigns/messages/{messages['launch'].id}",
        f"/console/campaigns/messages/{messages['launch'].id}/edit",
        "/console/campaigns/new",
    ]
    officer = browsers.client()
    await officer.signed_in(ba_dinh_officer, PASSWORD)
    for path in [*paths, "/console/reports", "/console/reports.csv", "/console/reports/print"]:
        assert (await officer.get(path)).status_code == 404, path
    await officer.get("/console/")
    assert (
        await officer.post(f"/console/campaigns/messages/{messages['launch'].id}/send-now")
    ).status_code == 404
    boss = browsers.client()
    await boss.signed_in(supervisor, PASSWORD)
    for path in paths:
        assert (await boss.get(path)).status_code == 404, path
    assert (await boss.get("/console/reports?month=2026-06")).status_code == 200
    assert (await app.campaigns.message(messages["launch"].id)).state == "scheduled"  # type: ignore[union-attr]
    admin = await communicator(app, browsers, role="admin")
    assert (await admin.get("/console/campaigns")).status_code == 200
    nav = (await admin.get("/console/campaigns")).text
    assert 'href="/console/campaigns"' in nav and 'href="/console/reports"' in nav


def form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    fields: dict[str, str | list[str]] = {
        "campaign": "june-action-month",
        "key": "w4-karaoke-owners",
        "send_kind": "yearly",
        "yearly_day": "06-24",
        "yearly_time": "09:30",
        "at": "",
        "groups": ["business_owners"],
        "areas": "Hà Nội: Ba Đình; Hoàn Kiếm",
        "body_vi": "**Chủ quán karaoke:** hãy báo tin khi thấy dấu hiệu. Gõ /tobao.",
        "body_en": "**Karaoke owners:** report what you see. Type /tobao.",
    }
    fields.update(changes)
    return fields


async def test_the_form_shows_errors_and_saves_nothing_until_the_message_is_valid(
    app: App, browsers: Browsers
) -> None:
    await load_june(app)
    before = len(await app.campaigns.messages())
    browser = await communicator(app, browsers)
    await browser.get("/console/campaigns/new")
    cases = {
        "quiet": form(yearly_time="22:30"),
        "period": form(yearly_day="07-15"),
        "link": form(body_en="See https://example.org"),
        "commune": form(areas="Hà Nội: Nowhere at all"),
        "empty": form(body_vi=""),
        "duplicate": form(key="launch"),
        "group": form(groups=[]),
    }
    for name, fields in cases.items():
        page = await browser.post("/console/campaigns/new", fields)
        assert page.status_code == 400, name
        assert 'id="problems"' in page.text, name
        assert "nothing was saved" in page.text or "không có gì được lưu" in page.text, name
        assert len(await app.campaigns.messages()) == before, name
    quiet = await browser.post("/console/campaigns/new", cases["quiet"])
    assert "quiet hours" in quiet.text
    # What was typed is kept in the form.
    assert "Chủ quán karaoke" in quiet.text

    saved = await browser.post("/console/campaigns/new", form())
    assert saved.status_code == 303, saved.text
    [message] = await app.campaigns.find("june-action-month/w4-karaoke-owners")
    assert saved.headers["location"] == f"/console/campaigns/messages/{message.id}"
    assert message.yearly == "06-24 09:30" and message.state == "scheduled"
    assert message.audience == {
        "groups": ["business_owners"],
        "areas": [{"province": HANOI, "communes": [BA_DINH, HOAN_KIEM]}],
    }
    page = await browser.get(saved.headers["location"])
    assert "Phường Ba Đình (4)" in page.text

    # Editing: the form round-trips, a change is saved, a bad one is refused.
    edit = await browser.get(f"/console/campaigns/messages/{message.id}/edit")
    assert "Phường Ba Đình (4)" in edit.text
    refused = await browser.post(
        f"/console/campaigns/messages/{message.id}/edit", form(yearly_time="05:00")
    )
    assert refused.status_code == 400
    assert (await app.campaigns.message(message.id)).yearly == "06-24 09:30"  # type: ignore[union-attr]
    changed = await browser.post(
        f"/console/campaigns/messages/{message.id}/edit",
        form(yearly_day="06-25", areas="01 ", body_en="**Owners:** report. Type /tobao."),
    )
    assert changed.status_code == 303
    updated = await app.campaigns.message(message.id)
    assert updated is not None and updated.yearly == "06-25 09:30"
    assert updated.audience["areas"] == [{"province": HANOI, "communes": None}]
    assert updated.bodies["en"] == "**Owners:** report. Type /tobao."
    actions = [e.action for e in await app.audit.events(actor=f"{COMMUNICATOR}.communicator")]
    assert actions.count("campaign_message_saved") == 2


async def test_a_campaign_file_can_be_uploaded_and_loaded(app: App, browsers: Browsers) -> None:
    browser = await communicator(app, browsers)
    await browser.get("/console/campaigns")
    broken = JUNE.read_text(encoding="utf-8").replace(
        '{yearly: "06-01 08:00"}', '{yearly: "06-01 23:00"}'
    )
    refused = await browser.http.post(
        "/console/campaigns/load",
        data={"csrf": browser.csrf},
        files={"file": ("june-action-month.yaml", broken.encode(), "application/yaml")},
    )
    assert refused.status_code == 303
    page = await browser.get("/console/campaigns")
    assert "quiet hours" in page.text and await app.campaigns.messages() == []
    loaded = await browser.http.post(
        "/console/campaigns/load",
        data={"csrf": browser.csrf},
        files={"file": ("june-action-month.yaml", JUNE.read_bytes(), "application/yaml")},
    )
    assert loaded.status_code == 303
    assert len(await app.campaigns.messages()) == len(load_campaign_file(JUNE).messages)
    assert "campaign_loaded" in [
        e.action for e in await app.audit.events(actor=f"{COMMUNICATOR}.communicator")
    ]


async def test_the_report_page_csv_and_printable_view(
    app: App, police: Police, browsers: Browsers
) -> None:
    from tests.campaigns.test_report import seed

    await seed(app)
    browser = await communicator(app, browsers)
    page = await browser.get("/console/reports?month=2026-06")
    assert page.status_code == 200
    assert "Thành phố Hà Nội" in page.text and "Bản xem nội bộ" in page.text
    summary = {row[0]: row[1] for row in table(page.text, "table-summary")[1:]}
    assert summary["Số người bị bắt"] == "4"  # internal: exact
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in page.text
    assert " style=" not in page.text and "<script" not in page.text

    download = await browser.get("/console/reports.csv?month=2026-06")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert "<5" in download.text and "Số người bị bắt,<5" in download.text

    printable = await browser.get("/console/reports/print?month=2026-06")
    assert printable.status_code == 200
    assert "/console/static/report.css" in printable.text and "<style>" not in printable.text
    assert "&lt;5" in printable.text and " style=" not in printable.text
    css = await browser.get("/console/static/report.css")
    assert css.status_code == 200 and "@media print" in css.text

    bad = await browser.get("/console/reports?month=June")
    assert bad.status_code == 400
    exports = [e for e in await app.audit.events(action="report_export")]
    assert {e.detail["format"] for e in exports} == {"csv", "print"}
    assert all(e.detail["province"] == HANOI for e in exports)


@pytest.mark.parametrize(
    "when", [datetime(2026, 7, 3, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC)]
)
def test_the_default_month_is_last_month_in_the_first_week(when: datetime) -> None:
    from bot.console.reports import default_month

    assert default_month(when) == (2026, 6)
