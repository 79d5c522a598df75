"""The Quick start, for real: `tipline demo` as a process, a tip over HTTP, the officer's CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import BIN, demo_server


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with demo_server(tmp_path) as server:
        yield server.url, server.env


def test_a_tip_sent_in_the_web_chat_is_read_by_the_demo_officer(
    demo: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = demo
    page = httpx.get(url)
    assert page.status_code == 200 and "chat.js" in page.text
    story = f"Bán ma túy đá sau chợ {uuid.uuid4().hex[:8]}"
    session = uuid.uuid4().hex
    text = ""
    for said in (
        "/start",
        "1",
        "1",
        "1",
        "1",
        "Hà Nội",
        "Hoàn Kiếm",
        "1",
        "1",
        "Cổng sau chợ",
        story,
        "xong",
        "xong",
        "1",
    ):
        response = httpx.post(f"{url}/api/chat", json={"session": session, "text": said})
        assert response.status_code == 200, response.text
        text = "\n".join(r["text"] for r in response.json()["replies"])
    assert re.search(r"\d{4} \d{4} \d{4} \d{4}", text), text

    saved = json.loads((Path(env["TIPLINE_DATA_DIR"]) / "demo-credentials.json").read_text())
    credentials = next(a for a in saved["accounts"] if a["role"] == "officer")
    tipline = str(BIN / "tipline")
    listing = subprocess.run(
        [tipline, "tips", "list", "--officer", credentials["username"]],
        input=credentials["password"] + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    [tip_id] = re.findall(r"\b[0-9A-F]{12}\b", listing)
    shown = subprocess.run(
        [sys.executable, "-m", "bot", "tips", "show", tip_id, "--officer", credentials["username"]],
        input=credentials["password"] + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert story in shown and "Hoàn Kiếm" in shown
