"""An officer reaches only the tips of their queues, through every console route; nothing
about a tip shows in a page, an address, a header or a log line for anyone else."""

from __future__ import annotations

import logging
import uuid

import pytest

from bot.bootstrap import App
from storage.casework import Casework
from tests.conftest import OFFICER, OFFICER_PASSWORD, Police
from tests.console.conftest import PASSWORD, Browsers, ConsoleClient
from tests.console.routes import concrete, console_routes, form_for, restricted
from tests.console.test_tips import only_tip
from tests.flow.helpers import send_tip


async def planted_tip(app: App, canary: str) -> str:
    """A Ba Đình tip whose description, question and note all carry the canary."""
    await send_tip(app, f"{canary}-story")
    tip_id = await only_tip(app)
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await app.casework.ask_reporter(officer, tip_id, f"{canary}-question")
    await app.casework.add_note(officer, tip_id, f"{canary}-note")
    return tip_id


async def test_a_foreign_officer_meets_404_on_every_tip_route_and_never_the_canary(
    app: App,
    police: Police,
    browsers: Browsers,
    foreign_officer: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY{uuid.uuid4().hex}"
    tip_id = await planted_tip(app, canary)
    events_before = len(await app.audit.events(tip_id=tip_id))
    browser = browsers.client()
    await browser.signed_in(foreign_officer, PASSWORD)

    routes = console_routes(browsers.web)
    # Signing out last, so every other route is tried signed in.
    routes.sort(key=lambda route: route[1] == "/console/logout")
    tried = 0
    for method, template in routes:
        for tip in (tip_id, tip_id.lower()):
            path = concrete(template, tip)
            if method == "GET":
                response = await browser.get(path)
            else:
                await browser.get("/console/")  # a fresh token, as a browser would have
                response = await browser.post(path, form_for(path))
            tried += 1
            seen = response.text + str(response.headers) + response.headers.get("location", "")
            assert canary not in seen, (method, template)
            assert response.headers["cache-control"] == "no-store", (method, template)
            if "{tip_id}" in template or restricted(template):
                assert response.status_code == 404, (method, template)
                if method == "GET" and template == "/console/tips/{tip_id}":
                    nonexistent = await browser.get("/console/tips/0123456789AB")
                    assert response.text == nonexistent.text  # the same page as no tip
    assert tried >= 30
    assert sum(restricted(template) for _method, template in routes) >= 10
    assert len(await app.audit.events(tip_id=tip_id)) == events_before  # nothing happened
    assert await app.police.officer("canbo.moi") is None  # no admin form worked
    officer = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    opened = await app.casework.open_tip(officer, tip_id)
    assert (opened.status, opened.queue_id, opened.outcome) == ("new", police.queues[4], None)
    assert len(opened.messages) == 1
    assert canary not in caplog.text


async def test_the_tips_own_officer_sees_the_canary_only_in_pages_never_in_addresses_or_logs(
    app: App, police: Police, browser: ConsoleClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = f"CANARY{uuid.uuid4().hex}"
    tip_id = await planted_tip(app, canary)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    page = await browser.get(f"/console/tips/{tip_id}")
    for part in ("story", "question", "note"):
        assert f"{canary}-{part}" in page.text
    await browser.post(f"/console/tips/{tip_id}/ask", {"text": f"{canary}-asked"})
    response = await browser.post(f"/console/tips/{tip_id}/notes", {"text": f"{canary}-noted"})
    assert canary not in str(response.headers)
    queue = await browser.get("/console/")
    assert canary not in queue.text
    audit = await browser.get("/console/audit")
    assert canary not in audit.text
    assert canary not in caplog.text


async def test_supervisors_of_the_province_see_its_tips(
    app: App, police: Police, browsers: Browsers, supervisor: str
) -> None:
    tip_id = await planted_tip(app, "x")
    browser = browsers.client()
    await browser.signed_in(supervisor, PASSWORD)
    assert tip_id in (await browser.get("/console/")).text
    assert (await browser.get(f"/console/tips/{tip_id}")).status_code == 200


async def test_an_unknown_console_address_is_a_404_page_for_an_officer(
    police: Police, browser: ConsoleClient
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    response = await browser.get("/console/nothing/here")
    assert response.status_code == 404
    assert "Không có trang này." in response.text
    assert response.headers["cache-control"] == "no-store"
    assert (await browser.get("/console/static/missing.css")).status_code == 404
    css = await browser.get("/console/static/console.css")
    assert css.status_code == 200 and "@media print" in css.text


class BrokenCasework(Casework):
    """Casework whose listing fails with a message that quotes user data."""

    detail = "-".join(("SECRET", "DETAIL"))  # not in the traceback's source lines

    async def list_tips(self, *args: object, **kwargs: object) -> list:  # type: ignore[override]
        raise RuntimeError(self.detail)


async def test_a_failure_shows_a_generic_bilingual_page_and_logs_no_detail(
    app: App, police: Police, browser: ConsoleClient, caplog: pytest.LogCaptureFixture
) -> None:
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    assert app.police_side is not None
    app.police_side.casework = BrokenCasework(app.db, app.verifier)
    response = await browser.get("/console/")
    assert response.status_code == 500
    assert "Đã xảy ra lỗi" in response.text and "Something went wrong" in response.text
    assert "SECRET-DETAIL" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "RuntimeError" in caplog.text
    assert "SECRET-DETAIL" not in caplog.text


async def test_a_malformed_form_gets_a_plain_400_that_does_not_echo_it(
    app: App, police: Police, browser: ConsoleClient
) -> None:
    await send_tip(app)
    tip_id = await only_tip(app)
    await browser.signed_in(OFFICER, OFFICER_PASSWORD)
    await browser.get(f"/console/tips/{tip_id}")
    response = await browser.post(f"/console/tips/{tip_id}/notes", {"text": "ECHO" * 5000})
    assert response.status_code == 400
    assert "ECHO" not in response.text


async def test_keys_that_no_longer_fit_ask_the_officer_to_sign_in_again(
    app: App, police: Police, browsers: Browsers, ba_dinh_officer: str
) -> None:
    from storage.police import rotate_queue_key

    await send_tip(app)
    tip_id = await only_tip(app)
    browser = browsers.client()
    _, codes = await browser.signed_in(ba_dinh_officer, PASSWORD)
    other = await app.police.unlock(OFFICER, OFFICER_PASSWORD)
    await rotate_queue_key(app.db, other, police.queues[4], app.verifier, app.signer)
    stale = await browser.get(f"/console/tips/{tip_id}")
    assert stale.status_code == 409
    assert "đăng nhập lại" in stale.text
    await browser.logout()
    await browser.login(ba_dinh_officer, PASSWORD, codes[0])
    assert (await browser.get(f"/console/tips/{tip_id}")).status_code == 200
