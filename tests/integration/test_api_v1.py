"""The JSON API for police case systems: token auth, the same permissions as the console."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.bootstrap import App
from bot.web import create_web_app
from storage.vault import TipDraft
from tests.conftest import BA_DINH, HANOI, OFFICER, OFFICER_PASSWORD, Police


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_web_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://tipline") as http:
        yield http


async def token_for(app: App, username: str, password: str) -> dict[str, str]:
    officer = await app.accounts.login(username, password)
    return {"Authorization": f"Bearer {await app.accounts.create_token(officer, 'test')}"}


async def test_a_case_system_reads_and_triages_its_queue(
    app: App, police: Police, client: httpx.AsyncClient
) -> None:
    receipt = await app.vault.submit(
        TipDraft(
            category="trading",
            province_code=HANOI,
            commune_code=BA_DINH,
            when="now",
            where="Chợ",
            description=["API canary text"],
            locale="vi",
        )
    )
    headers = await token_for(app, OFFICER, OFFICER_PASSWORD)
    listing = (await client.get("/api/v1/tips", headers=headers)).json()
    assert [t["commune_code"] for t in listing] == [BA_DINH]
    tip_id = listing[0]["id"]
    detail = (await client.get(f"/api/v1/tips/{tip_id}", headers=headers)).json()
    assert detail["content"]["description"] == ["API canary text"]
    response = await client.post(
        f"/api/v1/tips/{tip_id}/questions", headers=headers, json={"text": "Mấy giờ?"}
    )
    assert response.status_code == 204
    response = await client.post(
        f"/api/v1/tips/{tip_id}/status",
        headers=headers,
        json={"status": "closed", "disposition": "confirmed"},
    )
    assert response.status_code == 204
    view = await app.vault.check(receipt)
    assert view is not None and view.status == "closed"
    assert [m.text for m in view.messages] == ["Mấy giờ?"]
    queues = (await client.get("/api/v1/queues", headers=headers)).json()
    assert {q["id"] for q in queues} == set(police.queues.values())


async def test_without_a_valid_token_or_outside_the_queues_nothing_is_revealed(
    app: App, police: Police, client: httpx.AsyncClient
) -> None:
    await app.vault.submit(
        TipDraft(
            category="trading",
            province_code=HANOI,
            commune_code=BA_DINH,
            when="now",
            where="Chợ",
            description=["API canary text"],
            locale="vi",
        )
    )
    assert (await client.get("/api/v1/tips")).status_code == 401
    bad = {"Authorization": "Bearer tl_0000000000000000_" + "0" * 64}
    assert (await client.get("/api/v1/tips", headers=bad)).status_code == 401
    outsider = await app.police.add_officer("outsider", "Outsider", "outsider-password")
    queue, private = await app.police.create_queue(HANOI, 8, "Ngọc Hà")
    await app.police.grant(queue.id, outsider.id, private)
    headers = await token_for(app, "outsider", "outsider-password")
    assert (await client.get("/api/v1/tips", headers=headers)).json() == []
    mine = await app.casework.list_tips(await app.accounts.login(OFFICER, OFFICER_PASSWORD))
    for method, path, body in [
        ("GET", f"/api/v1/tips/{mine[0].tip_id}", None),
        ("GET", f"/api/v1/tips/{mine[0].tip_id}/photos/0", None),
        ("POST", f"/api/v1/tips/{mine[0].tip_id}/status", {"status": "closed"}),
        ("POST", f"/api/v1/tips/{mine[0].tip_id}/questions", {"text": "?"}),
        ("GET", "/api/v1/tips/NOSUCHTIP", None),
    ]:
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code == 404, path
        assert "API canary text" not in response.text
    [still] = await app.casework.list_tips(await app.accounts.login(OFFICER, OFFICER_PASSWORD))
    assert still.status == "new"


async def test_the_openapi_document_describes_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/tips/{tip_id}" in spec["paths"]
    assert any("HTTPBearer" in k for k in spec["components"]["securitySchemes"])
