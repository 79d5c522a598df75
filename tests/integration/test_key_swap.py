"""The key-swap attack: someone who can write the database (as the internet-facing bot can)
puts their own public key in place of a queue's, a recovery key's or an officer's, and waits
for the next tips. Pinned keys stop it: nothing is sealed or wrapped for a key the signing
key did not certify, the reporter is told and keeps the draft, the operator's log says
which key. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from storage import sealing
from storage.keyring import UntrustedKey
from storage.models import Officer, Queue, QueueMember, RecoveryKey, Tip, TipMessage, TipNote
from storage.police import rotate_queue_key
from tests.conftest import BA_DINH, HANOI, HOAN_KIEM, OFFICER, OFFICER_PASSWORD, Police, setup_hanoi
from tests.dialog import english_chat
from tests.flow.helpers import send_tip, tip_to_review

UNSAFE = "cannot be sent safely"


@dataclass
class Attacker:
    """A database writer with a key pair of their own and an Ed25519 key of their own."""

    private: bytes
    public: bytes
    signing: bytes

    def opens_anything(self, contents: list[tuple[bytes, dict[str, str], bytes]]) -> bool:
        """Whether the attacker's private key opens any wrap of any sealed item."""
        for ciphertext, wraps, context in contents:
            for wrapped in wraps.values():
                try:
                    sealing.open_box(ciphertext, base64.b64decode(wrapped), self.private, context)
                except sealing.CannotOpen:
                    continue
                return True
        return False

    def unwraps_any(self, wraps: list[tuple[bytes, bytes]]) -> bool:
        for wrapped, context in wraps:
            try:
                sealing.unwrap_key(wrapped, self.private, context)
            except sealing.CannotOpen:
                continue
            return True
        return False


@pytest.fixture
def attacker() -> Attacker:
    private, public = sealing.new_keypair()
    return Attacker(private, public, sealing.new_signing_key())


@pytest.fixture
async def world(backend_settings: Settings) -> AsyncIterator[tuple[App, Police]]:
    app = await bootstrap(backend_settings)
    police = await setup_hanoi(app)
    yield app, police
    await app.close()


async def sql(app: App, statement: str, **values: object) -> None:
    """What an attacker with write access to the database does: plain SQL."""
    async with app.db.sessions.begin() as session:
        await session.execute(text(statement), values)


async def key_row(app: App, table: str, where: str, **values: object) -> tuple[bytes, bytes]:
    async with app.db.sessions() as session:
        row = (
            await session.execute(
                text(f"SELECT public_key, certificate FROM {table} WHERE {where}"), values
            )
        ).one()
    return bytes(row[0]), bytes(row[1])


async def everything_sealed(app: App) -> list[tuple[bytes, dict[str, str], bytes]]:
    """Every tip, dialogue message and note with its wraps and context."""
    found: list[tuple[bytes, dict[str, str], bytes]] = []
    async with app.db.sessions() as session:
        for tip in await session.scalars(select(Tip)):
            found.append((tip.content, tip.key_wraps, f"tip:{tip.id}:content".encode()))
        for message in await session.scalars(select(TipMessage)):
            context = f"tip:{message.tip_id}:message:{message.author}".encode()
            found.append((message.content, message.key_wraps, context))
        for note in await session.scalars(select(TipNote)):
            context = f"tip:{note.tip_id}:message:note".encode()
            found.append((note.content, note.key_wraps, context))
    return found


async def queue_key_wraps(app: App) -> list[tuple[bytes, bytes]]:
    """Every wrapped queue private key (for members and for the recovery key)."""
    wraps: list[tuple[bytes, bytes]] = []
    async with app.db.sessions() as session:
        for queue in await session.scalars(select(Queue)):
            wraps.append((queue.recovery_wrap, f"queue-key:{queue.id}".encode()))
        for member in await session.scalars(select(QueueMember)):
            wraps.append((member.wrapped_queue_key, f"queue-key:{member.queue_id}".encode()))
    return wraps


async def tip_count(app: App) -> int:
    async with app.db.sessions() as session:
        return len(list(await session.scalars(select(Tip.id))))


def forged(attacker: Attacker, kind: str, identity: tuple[object, ...]) -> bytes:
    """A certificate over the right statement, by a signing key that is not the pinned one."""
    return sealing.certify_key(attacker.signing, kind, identity, attacker.public)  # type: ignore[arg-type]


# Which row is swapped: (table, where clause, its values, how the log names it, kind, identity)
TARGETS = {
    "commune queue": ("queues", "id = :id", BA_DINH, "queue", "queue"),
    "province queue": ("queues", "id = :id", None, "queue", "queue"),
    "recovery key": ("recovery_keys", "province_code = :id", HANOI, "recovery key", "recovery"),
}


async def swap(
    app: App, police: Police, attacker: Attacker, target: str, certificate: str
) -> tuple[str, dict[str, object], tuple[bytes, bytes], str]:
    """Replace the target's public key with the attacker's; returns how to restore it."""
    table, where, which, log_name, kind = TARGETS[target]
    row_id = HANOI if table == "recovery_keys" else police.queues[which]
    values: dict[str, object] = {"id": row_id}
    original = await key_row(app, table, where, **values)
    if certificate == "kept":
        planted = original[1]
    elif certificate == "copied":  # a valid certificate, of another row
        planted = (await key_row(app, "queues", "id = :id", id=police.queues[HOAN_KIEM]))[1]
    elif certificate == "forged":
        identity: tuple[object, ...] = (
            (HANOI,) if kind == "recovery" else (row_id, HANOI, "" if which is None else which)
        )
        planted = forged(attacker, kind, identity)
    else:
        planted = None  # type: ignore[assignment]
    await sql(
        app,
        f"UPDATE {table} SET public_key = :key, certificate = :certificate WHERE {where}",
        key=attacker.public,
        certificate=planted,
        **values,
    )
    name = f"{log_name} {row_id}" if kind == "queue" else f"recovery key of province {HANOI}"
    return (
        f"UPDATE {table} SET public_key = :key, certificate = :certificate WHERE {where}",
        {
            **values,
            "key": original[0],
            "certificate": original[1],
        },
        original,
        name,
    )


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("certificate", ["kept", "none", "copied", "forged"])
async def test_a_swapped_key_receives_no_tip_and_the_reporter_keeps_the_draft(
    world: tuple[App, Police],
    attacker: Attacker,
    caplog: pytest.LogCaptureFixture,
    target: str,
    certificate: str,
) -> None:
    app, police = world
    await send_tip(app, "filed before the swap")
    restore, values, _, name = await swap(app, police, attacker, target, certificate)
    caplog.set_level(logging.INFO)

    chat = await tip_to_review(app, "filed after the swap")
    await chat.send("send")
    assert UNSAFE in chat.text and "kept" in chat.text
    assert "receipt" not in chat.text.casefold()
    assert await tip_count(app) == 1
    assert not attacker.opens_anything(await everything_sealed(app))
    fingerprint = sealing.fingerprint(attacker.public)
    assert f"refused to use the key of {name} (fingerprint {fingerprint})" in caplog.text
    assert "filed after the swap" not in caplog.text

    # The police put the genuine key back; the same draft is sent by pressing send again.
    await sql(app, restore, **values)
    await chat.send("send")
    assert chat.receipt()
    assert await tip_count(app) == 2
    assert not attacker.opens_anything(await everything_sealed(app))


@pytest.mark.parametrize("target", list(TARGETS))
async def test_a_swapped_key_receives_no_answer_from_the_reporter(
    world: tuple[App, Police], attacker: Attacker, target: str
) -> None:
    app, police = world
    _, receipt = await send_tip(app)
    chat = await english_chat(app)
    await chat.talk(
        [
            ("[Check a tip with my receipt]", "16-digit receipt"),
            (receipt, "Status"),
            ("[Write an answer]", "write your answer"),
        ]
    )
    await swap(app, police, attacker, target, "copied")
    await chat.send("The car is white")
    assert UNSAFE in chat.text
    async with app.db.sessions() as session:
        assert list(await session.scalars(select(TipMessage))) == []
    assert not attacker.opens_anything(await everything_sealed(app))


@pytest.mark.parametrize("target", list(TARGETS))
async def test_the_police_seal_no_question_or_note_to_a_swapped_key(
    world: tuple[App, Police], attacker: Attacker, target: str
) -> None:
    app, police = world
    await send_tip(app)
    officer = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
    tip_id = (await app.casework.list_tips(officer))[0].tip_id
    await swap(app, police, attacker, target, "forged")
    with pytest.raises(UntrustedKey):
        await app.casework.ask_reporter(officer, tip_id, "Xe máy màu gì?")
    with pytest.raises(UntrustedKey):
        await app.casework.add_note(officer, tip_id, "ghi chú nội bộ")
    assert not attacker.opens_anything(await everything_sealed(app))


async def test_a_tip_is_not_forwarded_to_a_swapped_queue_key(
    world: tuple[App, Police], attacker: Attacker
) -> None:
    app, police = world
    await send_tip(app)
    officer = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
    tip_id = (await app.casework.list_tips(officer))[0].tip_id
    hoan_kiem = police.queues[HOAN_KIEM]
    await sql(
        app, "UPDATE queues SET public_key = :key WHERE id = :id", key=attacker.public, id=hoan_kiem
    )
    with pytest.raises(UntrustedKey):
        await app.casework.forward(officer, tip_id, hoan_kiem)
    assert not attacker.opens_anything(await everything_sealed(app))


@pytest.mark.parametrize("certificate", ["kept", "copied", "forged"])
async def test_no_queue_key_is_wrapped_for_a_swapped_officer_key(
    world: tuple[App, Police], attacker: Attacker, certificate: str
) -> None:
    app, police = world
    await send_tip(app)
    newcomer = await app.police.add_officer("moi.den", "Newcomer", "password-newcomer")
    member = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
    async with app.db.sessions() as session:
        other = await session.get(Officer, police.officer_id)
        assert other is not None and other.certificate is not None
        copied = other.certificate
    planted = {
        "kept": (await key_row(app, "officers", "id = :id", id=newcomer.id))[1],
        "copied": copied,
        "forged": sealing.certify_key(
            attacker.signing, "officer", (newcomer.id, "moi.den"), attacker.public
        ),
    }[certificate]
    for officer_id in (newcomer.id, police.officer_id):
        await sql(
            app,
            "UPDATE officers SET public_key = :key, certificate = :certificate WHERE id = :id",
            key=attacker.public,
            certificate=planted,
            id=officer_id,
        )
    queue_id = police.queues[BA_DINH]
    with pytest.raises(UntrustedKey):  # a grant
        await app.police.grant(queue_id, newcomer.id, member.queue_keys[queue_id])
    with pytest.raises(UntrustedKey):  # a rotation, with a member's key swapped
        await rotate_queue_key(app.db, member, queue_id, app.verifier, app.signer)
    assert not attacker.unwraps_any(await queue_key_wraps(app))
    assert not attacker.opens_anything(await everything_sealed(app))


async def test_no_queue_is_created_for_a_swapped_recovery_key(
    world: tuple[App, Police], attacker: Attacker
) -> None:
    app, _ = world
    await sql(
        app,
        "UPDATE recovery_keys SET public_key = :key WHERE province_code = :code",
        key=attacker.public,
        code=HANOI,
    )
    with pytest.raises(UntrustedKey):
        await app.police.create_queue(HANOI, 8, "Ngọc Hà")
    async with app.db.sessions() as session:
        assert await session.scalar(select(Queue).where(Queue.commune_code == 8)) is None
        recovery = await session.get(RecoveryKey, HANOI)
        assert recovery is not None
    assert not attacker.unwraps_any(await queue_key_wraps(app))
