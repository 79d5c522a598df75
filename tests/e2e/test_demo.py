"""The Quick start, for real: `tipline demo` as a process, a tip over HTTP, the officer's CLI."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage.sealing import FAST_TEST_KDF

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **os.environ,
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
        "TIPLINE_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    log = (tmp_path / "demo.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "tipline"), "demo", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "demo.log").read_text())
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


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
