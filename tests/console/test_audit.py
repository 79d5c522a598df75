"""The audit page: supervisors read everyone's actions, officers their own; the chain's
verification is at the top, and tampering shows."""

from __future__ import annotations

import re

from sqlalchemy import update

from bot.bootstrap import App
from storage.models import AuditEvent
from tests.conftest import OFFICER, OFFICER_PASSWORD, Police
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
    count, problems = await app.audit.verify()
    assert problems == []
    assert f"Chuỗi nhật ký toàn vẹn: đã kiểm tra {count} sự kiện" in page.text
    assert OFFICER in page.text and tip_id in page.text
    assert "Nhật ký hoạt động" in page.text


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
    page = await browser.get("/console/audit")
    assert "Nhật ký hoạt động đã bị can thiệp." in page.text
    assert f"#{first.id}: content was changed" in page.text


async def test_the_log_pages_back_to_older_events(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    for n in range(60):
        await app.audit.record("system", "test", n=n)
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
    assert len(ids) + len(more) == len(await app.audit.events(limit=1000))
