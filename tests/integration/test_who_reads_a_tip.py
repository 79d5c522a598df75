"""What the texts tell reporters about who can read a tip (``content/help/who_reads.*.md``)
is what the keys do: the commune police it goes to (the province police when the commune has
no queue), the province's drug police (PC04, the province queue) and the province recovery
key; forwarding adds the receiving unit; nobody else, the bot included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.config import Settings
from storage.casework import NotAllowed
from storage.models import Tip
from storage.police import UnlockedOfficer
from storage.vault import TipDraft
from tests.conftest import (
    BA_DINH,
    HANOI,
    HOAN_KIEM,
    OFFICER,
    OFFICER_PASSWORD,
    Police,
    setup_hanoi,
)

NO_QUEUE_COMMUNE = 8


def draft(commune: int | None) -> TipDraft:
    return TipDraft(
        category="selling",
        province_code=HANOI,
        commune_code=commune,
        when="today",
        where="Ngõ chợ",
        description=["Bán hàng buổi tối"],
        locale="vi",
    )


@dataclass
class Readers:
    app: App
    police: Police
    ba_dinh: UnlockedOfficer
    hoan_kiem: UnlockedOfficer
    pc04: UnlockedOfficer


@pytest.fixture
async def readers(backend_settings: Settings) -> AsyncIterator[Readers]:
    app = await bootstrap(backend_settings)
    police = await setup_hanoi(app)
    holder = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
    people = {}
    for username, queue in (
        ("badinh", police.queues[BA_DINH]),
        ("hoankiem", police.queues[HOAN_KIEM]),
        ("pc04", police.queues[None]),
    ):
        officer = await app.police.add_officer(username, username, f"password-{username}")
        await app.police.grant(queue, officer.id, holder.queue_keys[queue])
        people[username] = await app.accounts.login(username, f"password-{username}")
    yield Readers(app, police, people["badinh"], people["hoankiem"], people["pc04"])
    await app.close()


async def recipients(app: App, tip_id: str) -> set[str]:
    async with app.db.sessions() as session:
        wraps = await session.scalar(select(Tip.key_wraps).where(Tip.id == tip_id))
    assert wraps is not None
    return set(wraps)


async def tip_of(app: App, receipt: str) -> str:
    view = await app.vault.check(receipt)
    assert view is not None
    return view.tip_id


async def test_a_tip_is_sealed_for_its_commune_the_province_drug_police_and_recovery_only(
    readers: Readers,
) -> None:
    app, queues = readers.app, readers.police.queues
    tip_id = await tip_of(app, await app.vault.submit(draft(BA_DINH)))
    # Exactly three keys: nothing the bot holds, no other commune.
    assert await recipients(app, tip_id) == {
        f"queue:{queues[BA_DINH]}",
        f"queue:{queues[None]}",
        f"recovery:{HANOI}",
    }
    read_by_commune = await app.casework.open_tip(readers.ba_dinh, tip_id)
    read_by_pc04 = await app.casework.open_tip(readers.pc04, tip_id)
    recovered = await app.casework.open_with_recovery(tip_id, readers.police.recovery_private)
    assert read_by_commune.content == read_by_pc04.content == recovered.content
    with pytest.raises(NotAllowed):
        await app.casework.open_tip(readers.hoan_kiem, tip_id)


async def test_a_commune_without_a_queue_sends_its_tips_to_the_province_police(
    readers: Readers,
) -> None:
    app, queues = readers.app, readers.police.queues
    tip_id = await tip_of(app, await app.vault.submit(draft(NO_QUEUE_COMMUNE)))
    assert await recipients(app, tip_id) == {f"queue:{queues[None]}", f"recovery:{HANOI}"}
    assert (await app.casework.open_tip(readers.pc04, tip_id)).content["where"] == "Ngõ chợ"
    for commune_officer in (readers.ba_dinh, readers.hoan_kiem):
        with pytest.raises(NotAllowed):
            await app.casework.open_tip(commune_officer, tip_id)


async def test_forwarding_a_tip_lets_the_receiving_unit_read_it(readers: Readers) -> None:
    app, queues = readers.app, readers.police.queues
    tip_id = await tip_of(app, await app.vault.submit(draft(BA_DINH)))
    with pytest.raises(NotAllowed):
        await app.casework.open_tip(readers.hoan_kiem, tip_id)
    await app.casework.forward(readers.ba_dinh, tip_id, queues[HOAN_KIEM])
    assert f"queue:{queues[HOAN_KIEM]}" in await recipients(app, tip_id)
    assert (await app.casework.open_tip(readers.hoan_kiem, tip_id)).content["where"] == "Ngõ chợ"
    assert (await app.casework.open_tip(readers.pc04, tip_id)).content["where"] == "Ngõ chợ"
