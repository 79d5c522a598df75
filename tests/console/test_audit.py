"""The audit page: supervisors read everyone's actions, officers their own; the chain's
verification is at the top, and tampering shows."""

from __future__ import annotations

import re

from sqlalchemy import update

from bot.bootstrap import App
from bot.console.core import local_time
from storage.accounts import UNKNOWN_ACTOR
from storage.models import AuditEvent
from tests.conftest import HANOI, OFFICER, OFFICER_PASSWORD, Police
from tests.console.conftest import PASSWORD, Browsers
from tests.console.test_tips import only_tip
from tests.flow.helpers import send_tip

ROW = re.compile(r'<td data-label="#">(\d+)</td>')


async def test_a_supervisor_reads_everyones_actions_under_an_intact_chain(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await app.casework.open_tip(officer, tip_id)
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    page = await browser.get("/console/audit")
    assert page.status_code == 200
    assert OFFICER in page.text and tip_id in page.text
    assert "Nhật ký hoạt động" in page.text
    # The chain is walked only when asked, and the page says when it last was.
    assert "Chuỗi nhật ký toàn vẹn" not in page.text
    assert "Chưa kiểm tra toàn bộ chuỗi lần nào." in page.text
    count, problems = await app.audit.verify()
    assert problems == []
    checked = await browser.post("/console/audit/verify")
    assert checked.status_code == 200
    assert f"Chuỗi nhật ký toàn vẹn: đã kiểm tra {count} sự kiện" in checked.text
    [run] = await app.audit.events(action="audit_verified")
    assert (run.actor, run.detail) == (supervisor, {"checked": count, "problems": 0})
    again = await browser.get("/console/audit")
    assert "Chuỗi nhật ký toàn vẹn" not in again.text
    assert (
        f"Lần kiểm tra toàn bộ chuỗi gần nhất: {local_time(run.at)}, {count} sự kiện, "
        "không có vấn đề." in again.text
    )


async def test_verifying_the_chain_needs_the_form_token_and_a_supervisor(
    app: App, police: Police, browsers: Browsers, supervisor: str, foreign_officer: str
) -> None:
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    await browser.get("/console/audit")
    refused = await browser.post("/console/audit/verify", csrf="")
    assert refused.status_code == 403
    officer = browsers.client()
    await officer.signed_in(foreign_officer, PASSWORD)
    page = await officer.get("/console/audit")
    assert "/console/audit/verify" not in page.text
    assert (await officer.post("/console/audit/verify")).status_code == 404
    assert await app.audit.events(action="audit_verified") == []


async def test_an_officer_reads_only_their_own_actions(
    app: App, police: Police, browsers: Browsers, foreign_officer: str
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await app.casework.open_tip(officer, tip_id)
    browser = browsers.client()
    await browser.signed_in(foreign_officer, PASSWORD)
    page = await browser.get("/console/audit")
    assert "Hoạt động của tôi" in page.text
    assert foreign_officer in page.text  # their own login and enrolment
    assert OFFICER not in page.text
    assert tip_id not in page.text


async def test_a_changed_event_breaks_the_chain_and_the_page_says_so(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    [first] = await app.audit.events(limit=1, before=2)
    async with app.db.sessions.begin() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.id == first.id).values(actor="someone.else")
        )
    await browser.get("/console/audit")
    page = await browser.post("/console/audit/verify")
    assert "Nhật ký hoạt động đã bị can thiệp." in page.text
    assert f"#{first.id}: content was changed" in page.text
    last = await browser.get("/console/audit")
    assert "1 vấn đề" in last.text


async def test_the_log_pages_back_to_older_events(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    for n in range(60):
        await app.audit.record("system", "test", queue_id=police.queues[None], n=n)
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    page = await browser.get("/console/audit")
    ids = [int(i) for i in ROW.findall(page.text)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = re.search(r'href="/console/audit\?before=(\d+)"', page.text)
    assert older is not None
    rest = await browser.get("/console/audit", params={"before": older.group(1)})
    more = [int(i) for i in ROW.findall(rest.text)]
    assert more and max(more) < min(ids)
    assert len(ids) + len(more) == len(await app.audit.events(limit=1000, province_code=HANOI))


async def test_a_login_with_an_unknown_username_is_logged_as_unknown(
    app: App, police: Police, browsers: Browsers
) -> None:
    """A password typed into the username box must not land in the log."""
    browser = browsers.client()
    typed = "mat-khau-go-nham-o"
    response = await browser.login(typed, "whatever", "123456")
    assert response.status_code == 401
    [event] = await app.audit.events(action="login_failed")
    assert event.actor == UNKNOWN_ACTOR
    assert all(typed not in (e.actor + str(e.detail)) for e in await app.audit.events())


async def test_officers_read_their_own_actions_and_supervisors_their_province(
    app: App, police: Police, browsers: Browsers, supervisor: str, foreign_officer: str
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await app.casework.open_tip(officer, tip_id)
    await app.audit.record("someone.elsewhere", "open", tip_id="FFFFFFFFFFFF")
    own = await app.audit.events(actor=foreign_officer)
    assert own == []
    hanoi = await app.audit.events(province_code=HANOI)
    assert {e.actor for e in hanoi} >= {OFFICER}
    assert all(e.actor != "someone.elsewhere" for e in hanoi)
    assert await app.audit.events(province_code=79) == []
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    page = await browser.get("/console/audit")
    assert tip_id in page.text and "someone.elsewhere" not in page.text
    assert supervisor in page.text  # a PC04 member's own sign-in belongs to the province
