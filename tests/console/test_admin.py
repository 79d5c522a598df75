"""The admin pages: accounts and queues of the admin's province, every change audited and
CSRF-checked; grants need the queue's key; nothing reaches another province."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select, text

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from storage import sealing
from storage.admin import KeyNotHeld, NotInProvince, ProvinceAdmin
from storage.models import AuditEvent, Officer, Queue, QueueMember, Tip
from storage.police import queue_name
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, OFFICER, Police, setup_hanoi
from tests.console.conftest import PASSWORD, Browsers, ConsoleClient, totp_code
from tests.console.routes import concrete, console_routes, form_for
from tests.console.test_dashboard import HCMC, file_tip

ADMIN = "quantri.hanoi"
NEW = "canbo.moi"
NEW_PASSWORD = "mat-khau-cua-can-bo-moi"
SAME_ANSWER = "Sai tên đăng nhập, mật khẩu hoặc mã."
CAU_GIAY = 166


async def make_admin(
    app: App,
    police: Police,
    username: str = ADMIN,
    queues: tuple[int | None, ...] = (None, BA_DINH),
) -> int:
    """An admin of Hà Nội holding the keys of some queues (not Hoàn Kiếm's by default)."""
    officer = await app.police.add_officer(
        username, "Quản trị Hà Nội", PASSWORD, role="admin", province_code=HANOI
    )
    for commune in queues:
        queue_id = police.queues[commune]
        private = await app.police.queue_key_from_recovery(queue_id, police.recovery_private)
        await app.police.grant(queue_id, officer.id, private)
    return officer.id


@pytest.fixture
async def admin(app: App, police: Police, browsers: Browsers) -> ConsoleClient:
    await make_admin(app, police)
    browser = browsers.client()
    await browser.signed_in(ADMIN, PASSWORD)
    return browser


async def officer_id(app: App, username: str) -> int:
    found = await app.police.officer(username)
    assert found is not None
    return found.id


async def events(app: App, action: str) -> list[AuditEvent]:
    return await app.audit.events(action=action)


def row_of(page: str, username: str) -> str:
    """The row of one account in the accounts table."""
    cell = rf"<tr[^>]*>\s*<td[^>]*><a [^>]*>{re.escape(username)}</a>"
    match = re.search(cell + r".*?</tr>", page, re.S)
    assert match, username
    return match.group(0)


async def create_account(
    admin: ConsoleClient, username: str = NEW, queues: tuple[int, ...] = (), **fields: str
) -> httpx.Response:
    await admin.get("/console/admin/officers")
    form: dict[str, str | list[str]] = {
        "username": username,
        "display_name": "Cán bộ mới",
        "role": "officer",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        "queue_ids": [str(q) for q in queues],
        **fields,
    }
    return await admin.post("/console/admin/officers", form)


async def test_the_admin_creates_an_officer_who_signs_in_and_sees_only_granted_queues(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient
) -> None:
    ba_dinh_tip = await file_tip(app, "trading", BA_DINH)
    hoan_kiem_tip = await file_tip(app, "trading", HOAN_KIEM)
    response = await create_account(admin, queues=(police.queues[BA_DINH],))
    new_id = await officer_id(app, NEW)
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/admin/officers/{new_id}"
    page = await admin.get(f"/console/admin/officers/{new_id}")
    assert "Đã tạo tài khoản canbo.moi." in page.text
    assert "Queue 4" in page.text
    created = await app.police.officer(NEW)
    assert created is not None
    assert (created.role, created.province_code, created.totp_wrapped) == ("officer", HANOI, None)
    [event] = await events(app, "account_created")
    assert (event.actor, event.detail["officer"]) == (ADMIN, NEW)
    assert NEW_PASSWORD not in str(await app.audit.events(limit=1000))
    [granted] = await events(app, "queue_granted")
    assert granted.queue_id == police.queues[BA_DINH]

    officer = browsers.client()
    await officer.signed_in(NEW, NEW_PASSWORD)  # first sign-in: the two-step login
    queue = await officer.get("/console/")
    assert ba_dinh_tip in queue.text and hoan_kiem_tip not in queue.text
    assert (await officer.get(f"/console/tips/{ba_dinh_tip}")).status_code == 200
    assert (await officer.get(f"/console/tips/{hoan_kiem_tip}")).status_code == 404

    listing = await admin.get("/console/admin/officers")
    assert NEW in listing.text and OFFICER in listing.text


async def test_an_admin_can_only_grant_the_queues_whose_key_they_hold(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    page = await admin.get("/console/admin/officers")
    assert f'value="{police.queues[BA_DINH]}"' in page.text
    assert f'name="queue_ids" value="{police.queues[HOAN_KIEM]}"' not in page.text
    refused = await create_account(admin, queues=(police.queues[HOAN_KIEM],))
    assert refused.status_code == 400
    assert "Bạn chỉ có thể cấp các đơn vị tiếp nhận mà bạn giữ khóa." in refused.text
    assert await app.police.officer(NEW) is None
    await create_account(admin)
    new_id = await officer_id(app, NEW)
    await admin.get(f"/console/admin/officers/{new_id}")
    await admin.post(
        f"/console/admin/officers/{new_id}/grant", {"queue_id": str(police.queues[HOAN_KIEM])}
    )
    page = await admin.get(f"/console/admin/officers/{new_id}")
    assert "Bạn chỉ có thể cấp các đơn vị tiếp nhận mà bạn giữ khóa." in page.text
    async with app.db.sessions() as session:
        assert await session.get(QueueMember, (police.queues[HOAN_KIEM], new_id)) is None


async def test_a_new_account_needs_sound_fields(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    for fields in (
        {"username": "Có Dấu"},
        {"username": "ab"},
        {"display_name": "  "},
        {"role": "superuser"},
        {"password": "ngan", "password_again": "ngan"},
        {"password_again": "mat-khau-khac-han"},
    ):
        response = await create_account(admin, **fields)
        assert response.status_code == 400, fields
        assert NEW_PASSWORD not in response.text
    assert await app.police.officer(NEW) is None
    taken = await create_account(admin, username=OFFICER)
    assert "Tên đăng nhập này đã có người dùng." in taken.text
    assert await events(app, "account_created") == []


async def test_granting_and_revoking_a_queue_takes_effect_on_the_officer(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    tip_id = await file_tip(app, "trading", BA_DINH)
    officer = browsers.client()
    _secret, codes = await officer.signed_in(ba_dinh_officer, PASSWORD)
    assert (await officer.get(f"/console/tips/{tip_id}")).status_code == 200
    target = await officer_id(app, ba_dinh_officer)
    page = await admin.get(f"/console/admin/officers/{target}")
    assert "Queue 4" in page.text
    response = await admin.post(
        f"/console/admin/officers/{target}/revoke", {"queue_id": str(police.queues[BA_DINH])}
    )
    assert response.status_code == 303
    async with app.db.sessions() as session:
        assert await session.get(QueueMember, (police.queues[BA_DINH], target)) is None
    # The open session lost the key at once, and a new sign-in does not bring it back.
    assert (await officer.get(f"/console/tips/{tip_id}")).status_code == 404
    assert tip_id not in (await officer.get("/console/")).text
    [revoked] = await events(app, "queue_revoked")
    assert (revoked.actor, revoked.queue_id) == (ADMIN, police.queues[BA_DINH])

    await admin.get(f"/console/admin/officers/{target}")
    await admin.post(
        f"/console/admin/officers/{target}/grant", {"queue_id": str(police.queues[BA_DINH])}
    )
    async with app.db.sessions() as session:
        assert await session.get(QueueMember, (police.queues[BA_DINH], target)) is not None
    # Granted again: it opens at the next sign-in.
    again = browsers.client()
    await again.login(ba_dinh_officer, PASSWORD, codes[0])
    assert (await again.get(f"/console/tips/{tip_id}")).status_code == 200


async def test_deactivation_ends_sessions_and_blocks_login_until_reactivated(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    officer = browsers.client()
    secret, codes = await officer.signed_in(ba_dinh_officer, PASSWORD)
    target = await officer_id(app, ba_dinh_officer)
    await admin.get(f"/console/admin/officers/{target}")
    response = await admin.post(f"/console/admin/officers/{target}/deactivate")
    assert response.status_code == 303
    assert all(o.username != ba_dinh_officer for o in browsers.console.sessions.officers())
    ended = await officer.get("/console/")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/console/login")
    refused = await officer.login(ba_dinh_officer, PASSWORD, totp_code(secret))
    assert refused.status_code == 401 and SAME_ANSWER in refused.text
    [failed] = [e for e in await events(app, "login_failed") if e.actor == ba_dinh_officer]
    assert failed.detail == {"inactive": True}
    assert [e.actor for e in await events(app, "session_ended")] == [ba_dinh_officer]
    assert (await events(app, "account_deactivated"))[0].detail == {"officer": ba_dinh_officer}
    listing = await admin.get("/console/admin/officers")
    assert 'class="inactive"' in listing.text

    await admin.get(f"/console/admin/officers/{target}")
    await admin.post(f"/console/admin/officers/{target}/reactivate")
    back = await officer.login(ba_dinh_officer, PASSWORD, codes[0])
    assert back.status_code == 303 and back.headers["location"] == "/console/"
    assert await events(app, "account_reactivated")


async def test_an_admin_cannot_deactivate_or_reset_themselves(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    me = await officer_id(app, ADMIN)
    page = await admin.get(f"/console/admin/officers/{me}")
    assert "/deactivate" not in page.text
    await admin.post(f"/console/admin/officers/{me}/deactivate")
    await admin.post(f"/console/admin/officers/{me}/reset-totp")
    found = await app.police.officer(ADMIN)
    assert found is not None and found.active and found.totp_wrapped is not None
    assert await events(app, "account_deactivated") == []


async def test_a_totp_reset_forces_a_new_enrolment(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    officer = browsers.client()
    old_secret, codes = await officer.signed_in(ba_dinh_officer, PASSWORD)
    target = await officer_id(app, ba_dinh_officer)
    page = await admin.get("/console/admin/officers")
    assert "Đã thiết lập" in row_of(page.text, ba_dinh_officer)
    await admin.get(f"/console/admin/officers/{target}")
    response = await admin.post(f"/console/admin/officers/{target}/reset-totp")
    assert response.status_code == 303
    row = await app.police.officer(ba_dinh_officer)
    assert row is not None and row.totp_wrapped is None and row.recovery_codes is None
    [event] = await events(app, "totp_reset")
    assert (event.actor, event.detail) == (ADMIN, {"officer": ba_dinh_officer})
    page = await admin.get("/console/admin/officers")
    assert "Chưa thiết lập" in row_of(page.text, ba_dinh_officer)
    assert (await officer.get("/console/")).status_code == 303  # signed out everywhere
    # The password alone now leads to setting up the two-step login again.
    again = await officer.login(ba_dinh_officer, PASSWORD)
    assert again.headers["location"] == "/console/totp"
    assert (await officer.get("/console/")).headers["location"] == "/console/totp"
    new_secret, _codes = await officer.enrol()
    assert new_secret != old_secret
    await officer.logout()
    old_code = await officer.login(ba_dinh_officer, PASSWORD, codes[0])
    assert old_code.status_code == 401  # the old recovery codes are gone


async def test_unlocking_clears_a_lockout(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    officer = browsers.client()
    secret, codes = await officer.signed_in(ba_dinh_officer, PASSWORD)
    await officer.logout()
    for _ in range(5):
        await officer.login(ba_dinh_officer, "sai-mat-khau-roi", "123456")
    locked = await officer.login(ba_dinh_officer, PASSWORD, totp_code(secret))
    assert locked.status_code == 429
    target = await officer_id(app, ba_dinh_officer)
    listing = await admin.get("/console/admin/officers")
    assert 'badge badge-overdue">Bị khóa' in listing.text
    page = await admin.get(f"/console/admin/officers/{target}")
    assert "5 lần đăng nhập sai liên tiếp" in page.text
    await admin.post(f"/console/admin/officers/{target}/unlock")
    row = await app.police.officer(ba_dinh_officer)
    assert row is not None and row.failed_logins == 0 and row.locked_until is None
    assert await events(app, "account_unlocked")
    back = await officer.login(ba_dinh_officer, PASSWORD, codes[0])
    assert back.status_code == 303 and back.headers["location"] == "/console/"


async def test_rotating_a_queue_key_keeps_its_tips_readable(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    tip_id = await file_tip(app, "trading", BA_DINH)
    officer = browsers.client()
    _secret, codes = await officer.signed_in(ba_dinh_officer, PASSWORD)
    await officer.get(f"/console/tips/{tip_id}")
    await officer.post(f"/console/tips/{tip_id}/notes", {"text": "Ghi chú nội bộ"})
    async with app.db.sessions() as session:
        before = await session.get(Queue, police.queues[BA_DINH])
        assert before is not None
        old_key = before.public_key
    page = await admin.get("/console/admin/queues")
    assert f'action="/console/admin/queues/{police.queues[BA_DINH]}/rotate"' in page.text
    assert f'action="/console/admin/queues/{police.queues[HOAN_KIEM]}/rotate"' not in page.text
    response = await admin.post(f"/console/admin/queues/{police.queues[BA_DINH]}/rotate")
    assert response.status_code == 303
    done = await admin.get("/console/admin/queues")
    [event] = await events(app, "key_rotate")
    assert event.actor == ADMIN and event.detail["rewrapped"] == 2  # the tip and its note
    assert f"Đã đổi khóa của Queue 4: {event.detail['rewrapped']} mục đã được bọc lại." in done.text
    async with app.db.sessions() as session:
        after = await session.get(Queue, police.queues[BA_DINH])
        assert after is not None and after.public_key != old_key
    # The admin's session holds the new key; the officer signs in again and reads on.
    assert "Ghi chú nội bộ" in (await admin.get(f"/console/tips/{tip_id}")).text
    assert (await officer.get(f"/console/tips/{tip_id}")).status_code == 409
    await officer.logout()
    await officer.login(ba_dinh_officer, PASSWORD, codes[0])
    page = await officer.get(f"/console/tips/{tip_id}")
    assert page.status_code == 200 and "Ghi chú nội bộ" in page.text


async def test_an_admin_cannot_rotate_a_key_they_do_not_hold(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    await admin.get("/console/admin/queues")
    await admin.post(f"/console/admin/queues/{police.queues[HOAN_KIEM]}/rotate")
    page = await admin.get("/console/admin/queues")
    assert "Bạn không giữ khóa của Queue 70 nên không thể đổi khóa." in page.text
    assert await events(app, "key_rotate") == []


async def test_the_admin_creates_a_commune_queue_by_name_or_code_and_holds_its_key(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    await admin.get("/console/admin/queues")
    response = await admin.post("/console/admin/queues", {"commune": "Cầu Giấy"})
    assert response.status_code == 303
    async with app.db.sessions() as session:
        queue = await session.scalar(select(Queue).where(Queue.commune_code == CAU_GIAY))
    assert queue is not None and queue.province_code == HANOI
    province = app.directory.province(HANOI)
    assert province is not None
    expected = queue_name(province, app.directory.commune(CAU_GIAY))
    assert queue.name == expected == "Công an Phường Cầu Giấy"
    page = await admin.get("/console/admin/queues")
    assert "Đã tạo đơn vị tiếp nhận Công an Phường Cầu Giấy" in page.text
    [event] = await events(app, "queue_created")
    assert (event.actor, event.queue_id, event.detail) == (ADMIN, queue.id, {"commune": CAU_GIAY})
    # The admin holds the new key in this very session: they can grant it right away.
    await create_account(admin, queues=(queue.id,))
    new_id = await officer_id(app, NEW)
    async with app.db.sessions() as session:
        assert await session.get(QueueMember, (queue.id, new_id)) is not None
        assert await session.get(QueueMember, (queue.id, await officer_id(app, ADMIN)))
    # A tip for Cầu Giấy goes to its new queue.
    tip_id = await file_tip(app, "trading", CAU_GIAY)
    async with app.db.sessions() as session:
        tip = await session.get(Tip, tip_id)
        assert tip is not None and tip.queue_id == queue.id
    assert (await admin.get(f"/console/tips/{tip_id}")).status_code == 200

    # Twice is refused; a name several communes fit offers a choice; a code works.
    await admin.post("/console/admin/queues", {"commune": str(CAU_GIAY)})
    assert "đã có đơn vị tiếp nhận" in (await admin.get("/console/admin/queues")).text
    choice = await admin.post("/console/admin/queues", {"commune": "Sơn"})
    assert choice.status_code == 200
    assert "Có nhiều xã, phường khớp với “Sơn”" in choice.text
    assert 'name="commune" value="9574"' in choice.text  # Phường Sơn Tây
    await admin.post("/console/admin/queues", {"commune": "9574"})
    foreign = await admin.post("/console/admin/queues", {"commune": "26734"})  # not Hà Nội
    assert foreign.status_code == 303
    async with app.db.sessions() as session:
        codes = set(await session.scalars(select(Queue.commune_code)))
    assert codes == {None, BA_DINH, HOAN_KIEM, CAU_GIAY, 9574}


async def test_every_admin_form_without_its_token_is_refused_and_changes_nothing(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    target = await officer_id(app, ba_dinh_officer)
    posts = [
        template
        for method, template in console_routes(browsers.web)
        if method == "POST" and template.startswith("/console/admin/")
    ]
    assert len(posts) == 9

    async def state() -> tuple[object, ...]:
        async with app.db.sessions() as session:
            officers = [
                (o.username, o.active, o.totp_wrapped, o.failed_logins)
                for o in await session.scalars(select(Officer).order_by(Officer.id))
            ]
            members = sorted(
                (m.queue_id, m.officer_id) for m in await session.scalars(select(QueueMember))
            )
            queues = [(q.id, q.public_key) for q in await session.scalars(select(Queue))]
            count = await session.scalar(select(func.count()).select_from(AuditEvent))
        return officers, members, queues, count

    before = await state()
    for template in posts:
        path = concrete(template, "0").replace("/officers/1/", f"/officers/{target}/")
        for token in ("", "not-the-token"):
            await admin.get("/console/admin/officers")
            response = await admin.post(path, form_for(path), csrf=token)
            assert response.status_code == 403, path
            assert "Biểu mẫu đã hết hạn" in response.text, path
    assert await state() == before


async def test_officers_and_supervisors_cannot_open_the_admin_pages(
    app: App, police: Police, browsers: Browsers, ba_dinh_officer: str
) -> None:
    supervisor = await app.police.add_officer(
        "giamsat.hn", "Giám sát", PASSWORD, role="supervisor", province_code=HANOI
    )
    for username in (ba_dinh_officer, "giamsat.hn"):
        browser = browsers.client()
        await browser.signed_in(username, PASSWORD)
        assert "/console/admin" not in (await browser.get("/console/")).text
        for path in (
            "/console/admin/officers",
            "/console/admin/queues",
            f"/console/admin/officers/{supervisor.id}",
        ):
            assert (await browser.get(path)).status_code == 404, (username, path)
        response = await browser.post(f"/console/admin/officers/{supervisor.id}/deactivate", {})
        assert response.status_code == 404
    found = await app.police.officer("giamsat.hn")
    assert found is not None and found.active


async def test_an_admin_of_another_province_reaches_nothing_of_this_one(
    app: App, police: Police, browsers: Browsers, ba_dinh_officer: str
) -> None:
    await app.police.create_recovery_key(HCMC)
    province = app.directory.province(HCMC)
    assert province is not None
    queue, private = await app.police.create_queue(HCMC, None, queue_name(province, None))
    other = await app.police.add_officer(
        "quantri.hcm", "Quản trị TP.HCM", PASSWORD, role="admin", province_code=HCMC
    )
    await app.police.grant(queue.id, other.id, private)
    await make_admin(app, police)
    browser = browsers.client()
    await browser.signed_in("quantri.hcm", PASSWORD)
    listing = await browser.get("/console/admin/officers")
    assert f">{ba_dinh_officer}</a>" not in listing.text and ADMIN not in listing.text
    assert "Queue 4" not in (await browser.get("/console/admin/queues")).text
    target = await officer_id(app, ba_dinh_officer)
    assert (await browser.get(f"/console/admin/officers/{target}")).status_code == 404
    for action in ("deactivate", "reset-totp", "unlock"):
        await browser.get("/console/admin/officers")
        response = await browser.post(f"/console/admin/officers/{target}/{action}")
        assert response.status_code == 404, action
    await browser.get("/console/admin/officers")
    rotate = await browser.post(f"/console/admin/queues/{police.queues[BA_DINH]}/rotate")
    assert rotate.status_code == 404
    await browser.get("/console/admin/officers")
    revoke = await browser.post(
        f"/console/admin/officers/{target}/revoke", {"queue_id": str(police.queues[BA_DINH])}
    )
    assert revoke.status_code == 404
    found = await app.police.officer(ba_dinh_officer)
    assert found is not None and found.active
    async with app.db.sessions() as session:
        assert await session.get(QueueMember, (police.queues[BA_DINH], target)) is not None
    # Its audit page shows none of Hà Nội's events.
    audit = await browser.get("/console/audit")
    assert ba_dinh_officer not in audit.text and ADMIN not in audit.text
    assert "quantri.hcm" in audit.text


async def test_the_audit_log_shows_the_admins_actions_to_their_province_only(
    app: App, police: Police, browsers: Browsers, admin: ConsoleClient, ba_dinh_officer: str
) -> None:
    target = await officer_id(app, ba_dinh_officer)
    await admin.get(f"/console/admin/officers/{target}")
    await admin.post(f"/console/admin/officers/{target}/unlock")
    await admin.post(f"/console/admin/officers/{target}/reset-totp")
    hanoi = await app.audit.events(province_code=HANOI)
    assert {"totp_reset"} <= {e.action for e in hanoi if e.actor == ADMIN}
    assert await app.audit.events(province_code=HCMC) == []
    page = await admin.get("/console/audit")
    assert "Đặt lại đăng nhập hai bước" in page.text and f"officer={ba_dinh_officer}" in page.text
    # The officer reads their own actions only, not what was done to their account.
    officer = browsers.client()
    await officer.signed_in(ba_dinh_officer, PASSWORD)
    mine = await officer.get("/console/audit")
    assert ADMIN not in mine.text


async def test_province_admin_and_the_province_audit_filter_on_every_database(
    backend_settings: Settings,
) -> None:
    """The storage under the admin pages, on SQLite and PostgreSQL alike."""
    app = await bootstrap(backend_settings)
    try:
        police = await setup_hanoi(app)
        await make_admin(app, police)
        unlocked = await app.police.unlock(ADMIN, PASSWORD)
        admin = ProvinceAdmin(app.db, app.settings.kdf(), unlocked, HANOI, app.verifier, app.signer)
        # The shared fixtures' officer has no province but Hà Nội queues: it is listed.
        assert [a.username for a in await admin.accounts()] == [OFFICER, ADMIN]
        queue_id = await admin.create_queue(CAU_GIAY, "Công an Phường Cầu Giấy")
        assert queue_id in unlocked.queue_keys
        new_id = await admin.create_account(NEW, "Cán bộ mới", "officer", NEW_PASSWORD, [queue_id])
        with pytest.raises(KeyNotHeld):
            await admin.grant(new_id, police.queues[HOAN_KIEM])
        assert await admin.grant(new_id, police.queues[BA_DINH]) is True
        assert await admin.grant(new_id, police.queues[BA_DINH]) is False
        assert await admin.revoke(new_id, queue_id) is True
        assert await admin.revoke(new_id, queue_id) is False
        assert (await admin.account(new_id)).queue_ids == (police.queues[BA_DINH],)
        assert await admin.set_active(new_id, False) is True
        assert await admin.unlock(new_id) is False
        await admin.reset_totp(police.officer_id)
        # Changing an account without a province attaches it to the admin's.
        changed = await app.police.officer(OFFICER)
        assert changed is not None and changed.province_code == HANOI
        summary = {q.queue_id: q.members for q in await admin.queues()}
        assert summary[queue_id] == 1 and summary[police.queues[BA_DINH]] == 3

        elsewhere = ProvinceAdmin(
            app.db, app.settings.kdf(), unlocked, HCMC, app.verifier, app.signer
        )
        assert await elsewhere.accounts() == []
        with pytest.raises(NotInProvince):
            await elsewhere.set_active(new_id, True)
        with pytest.raises(NotInProvince):
            await elsewhere.revoke(new_id, police.queues[BA_DINH])

        hanoi = await app.audit.events(province_code=HANOI)
        actions = [e.action for e in hanoi if e.actor == ADMIN]
        for action in ("queue_created", "account_created", "queue_granted", "queue_revoked"):
            assert action in actions
        assert await app.audit.events(province_code=HCMC) == []
        assert {e.actor for e in await app.audit.events(actor=ADMIN)} == {ADMIN}
        await app.audit.record("system", "test", queue_id=police.queues[None])
        [latest] = await app.audit.events(province_code=HANOI, limit=1)
        assert latest.action == "test"
    finally:
        await app.close()


async def test_the_admin_pages_show_fingerprints_and_uncertified_keys(
    app: App, police: Police, admin: ConsoleClient
) -> None:
    browser = admin
    async with app.db.sessions() as session:
        queue = await session.get(Queue, police.queues[BA_DINH])
        assert queue is not None
        fingerprint = sealing.fingerprint(queue.public_key)
    page = (await browser.get("/console/admin/queues")).text
    assert fingerprint in page and "CHƯA được chứng thực" not in page
    _, attacker = sealing.new_keypair()
    async with app.db.sessions.begin() as session:
        await session.execute(
            text("UPDATE queues SET public_key = :key WHERE id = :id"),
            {"key": attacker, "id": police.queues[BA_DINH]},
        )
        await session.execute(
            text("UPDATE officers SET public_key = :key WHERE id = :id"),
            {"key": attacker, "id": police.officer_id},
        )
    page = (await browser.get("/console/admin/queues")).text
    assert sealing.fingerprint(attacker) in page
    assert "CHƯA được chứng thực: không thể gửi tin báo vào hàng đợi này" in page
    officer_page = (await browser.get(f"/console/admin/officers/{police.officer_id}")).text
    assert sealing.fingerprint(attacker) in officer_page
    assert "CHƯA được chứng thực" in officer_page
