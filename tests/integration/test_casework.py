"""Officers' work on tips, logins and the audit trail, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import update

from bot.bootstrap import bootstrap
from bot.config import Settings
from storage.accounts import LoginFailed
from storage.casework import NotAllowed
from storage.models import AuditEvent, Tip
from storage.vault import TipDraft
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, setup_hanoi


def draft(commune: int | None = BA_DINH, text: str = "Hàng giấu trong kho") -> TipDraft:
    return TipDraft(
        category="storing",
        province_code=HANOI,
        commune_code=commune,
        when="today",
        where="Kho",
        description=[text],
        locale="vi",
    )


@pytest.fixture
async def world(backend_settings: Settings):  # type: ignore[no-untyped-def]
    app = await bootstrap(backend_settings)
    police = await setup_hanoi(app)
    # A commune officer of Ba Đình only, and a supervisor holding the province queue.
    admin = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
    ba_dinh = await app.police.add_officer("badinh", "Ba Đình officer", "password-ba-dinh")
    await app.police.grant(
        police.queues[BA_DINH], ba_dinh.id, admin.queue_keys[police.queues[BA_DINH]]
    )
    hoan_kiem = await app.police.add_officer("hoankiem", "Hoàn Kiếm officer", "password-hoan-kiem")
    await app.police.grant(
        police.queues[HOAN_KIEM], hoan_kiem.id, admin.queue_keys[police.queues[HOAN_KIEM]]
    )
    supervisor = await app.police.add_officer(
        "giamsat", "Supervisor", "password-supervisor", role="supervisor", province_code=HANOI
    )
    await app.police.grant(
        police.queues[None], supervisor.id, admin.queue_keys[police.queues[None]]
    )
    yield app, police
    await app.close()


async def test_a_supervisor_sees_the_province_and_officers_only_their_commune(world) -> None:  # type: ignore[no-untyped-def]
    app, _ = world
    await app.vault.submit(draft(BA_DINH, "ba dinh tip"))
    await app.vault.submit(draft(HOAN_KIEM, "hoan kiem tip"))
    ba_dinh = await app.accounts.login("badinh", "password-ba-dinh")
    supervisor = await app.accounts.login("giamsat", "password-supervisor")
    assert len(await app.casework.list_tips(ba_dinh)) == 1
    everything = await app.casework.list_tips(supervisor)
    assert len(everything) == 2
    texts = {
        (await app.casework.open_tip(supervisor, t.tip_id)).content["description"][0]
        for t in everything
    }
    assert texts == {"ba dinh tip", "hoan kiem tip"}
    other = next(t for t in everything if t.commune_code == HOAN_KIEM)
    with pytest.raises(NotAllowed):
        await app.casework.open_tip(ba_dinh, other.tip_id)
    with pytest.raises(NotAllowed):
        await app.casework.open_tip(ba_dinh, "DOESNOTEXIST")


async def test_forwarding_moves_the_tip_and_its_dialogue_to_the_new_queue(world) -> None:  # type: ignore[no-untyped-def]
    app, police = world
    receipt = await app.vault.submit(draft(BA_DINH))
    ba_dinh = await app.accounts.login("badinh", "password-ba-dinh")
    hoan_kiem = await app.accounts.login("hoankiem", "password-hoan-kiem")
    [tip] = await app.casework.list_tips(ba_dinh)
    await app.casework.ask_reporter(ba_dinh, tip.tip_id, "Kho ở đâu?")
    await app.casework.add_note(ba_dinh, tip.tip_id, "Thuộc địa bàn Hoàn Kiếm")
    await app.casework.forward(ba_dinh, tip.tip_id, police.queues[HOAN_KIEM])
    assert await app.casework.list_tips(ba_dinh) == []
    with pytest.raises(NotAllowed):
        await app.casework.open_tip(ba_dinh, tip.tip_id)
    opened = await app.casework.open_tip(hoan_kiem, tip.tip_id)
    assert [m.text for m in opened.messages] == ["Kho ở đâu?"]
    assert [n.text for n in await app.casework.notes(hoan_kiem, tip.tip_id)] == [
        "Thuộc địa bàn Hoàn Kiếm"
    ]
    view = await app.vault.check(receipt)
    assert view is not None
    await app.vault.reply(view.tip_id, view.receipt, "Phố Hàng Bạc")
    assert (await app.casework.open_tip(hoan_kiem, tip.tip_id)).messages[-1].text == "Phố Hàng Bạc"


async def test_triage_status_disposition_and_outcome(world) -> None:  # type: ignore[no-untyped-def]
    app, _ = world
    await app.vault.submit(draft())
    officer = await app.accounts.login("badinh", "password-ba-dinh")
    [tip] = await app.casework.list_tips(officer)
    assert tip.acknowledged_at is None
    await app.casework.set_status(officer, tip.tip_id, "in_review")
    await app.casework.set_status(officer, tip.tip_id, "closed", "confirmed")
    await app.casework.set_outcome(officer, tip.tip_id, arrests=2, seizures_grams=15.5)
    [after] = await app.casework.list_tips(officer)
    assert after.status == "closed" and after.disposition == "confirmed"
    assert after.acknowledged_at is not None
    opened = await app.casework.open_tip(officer, tip.tip_id)
    assert opened.outcome == {"arrests": 2, "seizures_grams": 15.5}
    with pytest.raises(ValueError):
        await app.casework.set_status(officer, tip.tip_id, "deleted")
    with pytest.raises(ValueError):
        await app.casework.set_status(officer, tip.tip_id, "closed", "because")
    assert await app.casework.counts(officer) == {"closed": 1}


async def test_unacknowledged_tips_escalate_to_the_province_queue(world) -> None:  # type: ignore[no-untyped-def]
    app, police = world
    await app.vault.submit(draft(BA_DINH, "old"))
    await app.vault.submit(draft(HOAN_KIEM, "acknowledged"))
    supervisor = await app.accounts.login("giamsat", "password-supervisor")
    hoan_kiem = await app.accounts.login("hoankiem", "password-hoan-kiem")
    [acknowledged] = await app.casework.list_tips(hoan_kiem)
    await app.casework.set_status(hoan_kiem, acknowledged.tip_id, "in_review")
    async with app.db.sessions.begin() as session:
        await session.execute(update(Tip).values(received_at=datetime.now(UTC) - timedelta(days=2)))
    moved = await app.casework.escalate_overdue(timedelta(hours=24))
    assert len(moved) == 1
    escalated = next(t for t in await app.casework.list_tips(supervisor) if t.tip_id == moved[0])
    assert escalated.queue_id == police.queues[None] and escalated.escalated_at is not None
    assert (await app.casework.open_tip(supervisor, moved[0])).content["description"] == ["old"]
    assert await app.casework.escalate_overdue(timedelta(hours=24)) == []


async def test_logins_lock_out_and_need_totp_once_enrolled(world) -> None:  # type: ignore[no-untyped-def]
    app, _ = world
    now = datetime.now(UTC)
    for _ in range(5):
        with pytest.raises(LoginFailed) as failed:
            await app.accounts.login("badinh", "wrong", now=now)
        assert failed.value.reason == "credentials"
    with pytest.raises(LoginFailed) as failed:
        await app.accounts.login("badinh", "password-ba-dinh", now=now)
    assert failed.value.reason == "locked" and failed.value.retry_after
    officer = await app.accounts.login("badinh", "password-ba-dinh", now=now + timedelta(minutes=2))

    enrolment = app.accounts.totp_enrolment("badinh")
    assert enrolment.uri.startswith("otpauth://totp/")
    totp = TOTP(enrolment.secret, 6, SHA1(), 30, enforce_key_length=False)
    with pytest.raises(LoginFailed):
        await app.accounts.confirm_totp(
            officer,
            enrolment.secret,
            "000000" if totp.generate(now.timestamp()) != b"000000" else "111111",
        )
    codes = await app.accounts.confirm_totp(
        officer, enrolment.secret, totp.generate(now.timestamp()).decode()
    )
    assert len(codes) == 10

    later = now + timedelta(minutes=5)
    with pytest.raises(LoginFailed) as failed:
        await app.accounts.login("badinh", "password-ba-dinh", now=later)
    assert failed.value.reason == "totp_required"
    code = totp.generate(later.timestamp()).decode()
    await app.accounts.login("badinh", "password-ba-dinh", code, now=later)
    with pytest.raises(LoginFailed):  # the same code cannot be used twice
        await app.accounts.login("badinh", "password-ba-dinh", code, now=later)
    await app.accounts.login("badinh", "password-ba-dinh", codes[0], now=later)
    with pytest.raises(LoginFailed):
        await app.accounts.login("badinh", "password-ba-dinh", codes[0], now=later)


async def test_api_tokens_carry_the_officers_permissions(world) -> None:  # type: ignore[no-untyped-def]
    app, _ = world
    await app.vault.submit(draft())
    officer = await app.accounts.login("badinh", "password-ba-dinh")
    token = await app.accounts.create_token(officer, "case system")
    same = await app.accounts.token_login(token)
    assert same.queue_keys == officer.queue_keys
    [tip] = await app.casework.list_tips(same)
    assert (await app.casework.open_tip(same, tip.tip_id)).content["where"] == "Kho"
    with pytest.raises(LoginFailed):
        # A different ending (one that already ended in "00" would not be a wrong token).
        await app.accounts.token_login(token[:-2] + ("11" if token.endswith("00") else "00"))
    await app.accounts.revoke_token(officer, token.split("_")[1])
    with pytest.raises(LoginFailed):
        await app.accounts.token_login(token)


async def test_the_audit_chain_verifies_and_detects_tampering(world) -> None:  # type: ignore[no-untyped-def]
    app, _ = world
    await app.vault.submit(draft())
    officer = await app.accounts.login("badinh", "password-ba-dinh")
    [tip] = await app.casework.list_tips(officer)
    await app.casework.open_tip(officer, tip.tip_id)
    await app.casework.set_status(officer, tip.tip_id, "in_review")
    count, problems = await app.audit.verify()
    assert count >= 4 and problems == []
    actions = [e.action for e in await app.audit.events(tip_id=tip.tip_id)]
    assert actions == ["status", "open"]
    async with app.db.sessions.begin() as session:
        await session.execute(
            update(AuditEvent).where(AuditEvent.action == "open").values(actor="someone-else")
        )
    _, problems = await app.audit.verify()
    assert [p.reason for p in problems] == ["content was changed"]


async def test_supervisor_figures_count_per_week_commune_and_queue_health(world) -> None:  # type: ignore[no-untyped-def]
    from storage.stats import suppress

    app, police = world
    for commune in (BA_DINH, BA_DINH, HOAN_KIEM, None):
        await app.vault.submit(draft(commune))
    officer = await app.accounts.login("badinh", "password-ba-dinh")
    first = (await app.casework.list_tips(officer))[0]
    await app.casework.set_status(officer, first.tip_id, "in_review")
    weekly = await app.stats.weekly(HANOI, weeks=4)
    assert len(weekly) == 4 and sum(list(weekly.values())[-1].values()) == 4
    communes = await app.stats.by_commune(HANOI, datetime.now(UTC) - timedelta(days=1))
    assert communes == {BA_DINH: 2, HOAN_KIEM: 1, None: 1}
    health = {h.queue_id: h for h in await app.stats.queue_health(HANOI, timedelta(hours=24))}
    assert health[police.queues[BA_DINH]].open_new == 1
    assert health[police.queues[BA_DINH]].median_ack_hours is not None
    assert health[police.queues[None]].overdue == 0
    assert [suppress(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]


async def test_rotating_a_queue_key_keeps_every_tip_readable_and_retires_the_old_key(world) -> None:  # type: ignore[no-untyped-def]
    from storage import sealing
    from storage.police import rotate_queue_key

    app, police = world
    await app.vault.submit(draft(BA_DINH, "before rotation"))
    officer = await app.accounts.login("badinh", "password-ba-dinh")
    [tip] = await app.casework.list_tips(officer)
    await app.casework.ask_reporter(officer, tip.tip_id, "question before")
    queue_id = police.queues[BA_DINH]
    old_key = officer.queue_keys[queue_id]
    assert await rotate_queue_key(app.db, officer, queue_id, app.verifier, app.signer) == 2
    await app.vault.submit(draft(BA_DINH, "after rotation"))
    again = await app.accounts.login("badinh", "password-ba-dinh")
    assert again.queue_keys[queue_id] != old_key
    texts = sorted(
        [
            (await app.casework.open_tip(again, t.tip_id)).content["description"][0]
            for t in await app.casework.list_tips(again)
        ]
    )
    assert texts == ["after rotation", "before rotation"]
    assert (await app.casework.open_tip(again, tip.tip_id)).messages[0].text == "question before"
    stale = type(again)(
        officer_id=again.officer_id, username="badinh", queue_keys={queue_id: old_key}
    )
    with pytest.raises(sealing.CannotOpen):
        await app.casework.open_tip(stale, tip.tip_id)
    recovered_queue_key = await app.police.queue_key_from_recovery(
        queue_id, police.recovery_private
    )
    assert recovered_queue_key == again.queue_keys[queue_id]
