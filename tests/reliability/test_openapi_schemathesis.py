"""Schemathesis against the app's OpenAPI (``/api/openapi.json``) through its ASGI
integration: without a token every ``/api/v1`` operation answers 401; with a real token
(an officer with a tip in their queue) no operation answers 5xx and responses conform to
the schema. The web chat operations are fuzzed too (never a 5xx).

Schemathesis runs the app on its own event-loop thread, so Tipline is bootstrapped there,
in the app's lifespan, and closed when the lifespan ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import event, given
from schemathesis.python import asgi as schemathesis_asgi

from bot.bootstrap import bootstrap
from bot.web import create_web_app
from storage.vault import TipDraft
from tests.conftest import BA_DINH, HANOI, OFFICER, OFFICER_PASSWORD, make_settings, setup_hanoi
from tests.reliability.conftest import fuzz


class Tipline:
    """An ASGI app that bootstraps Tipline (with an officer, a tip and a token) at startup."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.web: Any = None
        self.token = ""
        self.tip_id = ""
        self.starts = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.web(scope, receive, send)
            return
        await receive()  # lifespan.startup
        # Schemathesis may stop and start the lifespan between runs: a fresh Tipline each time.
        self.starts += 1
        app = await bootstrap(make_settings(self.data_dir / str(self.starts)))
        try:
            await setup_hanoi(app)
            await app.vault.submit(
                TipDraft(
                    category="trading",
                    province_code=HANOI,
                    commune_code=BA_DINH,
                    when="now",
                    where="Chợ",
                    description=["schemathesis canary"],
                    locale="vi",
                )
            )
            officer = await app.accounts.login(OFFICER, OFFICER_PASSWORD)
            self.token = await app.accounts.create_token(officer, "schemathesis")
            [tip] = await app.casework.list_tips(officer)
            self.tip_id = tip.tip_id
            self.web = create_web_app(app)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        finally:
            await app.close()
        await send({"type": "lifespan.shutdown.complete"})


@pytest.fixture(scope="module")
def tipline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tipline]:
    yield Tipline(tmp_path_factory.mktemp("schemathesis") / "data")
    schemathesis_asgi.shutdown_lifespans()  # closes the last one


@pytest.fixture
def api(tipline: Tipline) -> Any:
    """The schema, with Tipline started. Schemathesis's pytest plugin ends ASGI lifespans
    after every test, so each test starts a fresh Tipline (and token) here, before it reads
    ``tipline.token``."""
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", tipline)
    with schemathesis_asgi.get_client(tipline):
        pass
    return loaded


# ``schemathesis.pytest.from_fixture`` does not work with pytest 9 (it reads
# ``Function._nodeid``), so each test walks the operations itself and draws cases from
# ``operation.as_strategy()``: the same generation and checks, one hypothesis run each.


def operations(api: Any, prefix: str) -> list[Any]:
    found = [result.ok() for result in api.get_all_operations()]
    found = [operation for operation in found if operation.path.startswith(prefix)]
    assert found, prefix
    return found


def run(operation: Any, examples: int, check: Any) -> None:
    @fuzz(examples)
    @given(case=operation.as_strategy())
    def each(case: Any) -> None:
        check(case)

    each()


def test_every_police_operation_needs_a_token(api: Any) -> None:
    def check(case: Any) -> None:
        case.headers = {
            k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
        }
        response = case.call()
        assert response.status_code == 401, (case.method, case.path, response.status_code)
        assert response.headers.get("www-authenticate") == ["Bearer"]  # RFC 9110
        assert "canary" not in response.text

    for operation in operations(api, "/api/v1/"):
        run(operation, 10, check)


def test_police_operations_with_a_random_token_are_refused(api: Any) -> None:
    def check(case: Any) -> None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**headers, "Authorization": "Bearer tl_0000000000000000_" + "0" * 64}
        response = case.call()
        assert response.status_code == 401

    for operation in operations(api, "/api/v1/"):
        run(operation, 5, check)


def test_police_operations_with_a_real_token_conform(api: Any, tipline: Tipline) -> None:
    def check(case: Any) -> None:
        if "tip_id" in (case.path_parameters or {}) and len(case.path_parameters["tip_id"]) % 2:
            case.path_parameters["tip_id"] = tipline.tip_id  # often the officer's real tip
        # The generated case carries a random bearer token of its own: replace it.
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**headers, "Authorization": f"Bearer {tipline.token}"}
        response = case.call_and_validate()
        assert response.status_code != 401, (case.method, case.formatted_path, response.text)
        event(f"{case.method} {case.path} {response.status_code}")

    for operation in operations(api, "/api/v1/"):
        run(operation, 20, check)


def test_web_chat_operations_never_fail(api: Any) -> None:
    def check(case: Any) -> None:
        response = case.call()
        assert response.status_code < 500
        if response.status_code >= 400:
            assert " / " in response.json()["detail"]

    for operation in operations(api, "/api/chat"):
        run(operation, 25, check)
