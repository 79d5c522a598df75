"""`tipline demo` as a real process on a free port, with a temporary data directory and a
cheap key derivation: shared by the end-to-end and the browser tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from storage.sealing import FAST_TEST_KDF

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class DemoServer:
    url: str
    env: dict[str, str]
    log: Path

    @property
    def data_dir(self) -> Path:
        return Path(self.env["TIPLINE_DATA_DIR"])

    def account(self, username: str) -> tuple[str, str]:
        """A demo account's username and password (from demo-credentials.json)."""
        saved = json.loads((self.data_dir / "demo-credentials.json").read_text())
        found = next(a for a in saved["accounts"] if a["username"] == username)
        return found["username"], found["password"]


@contextmanager
def tipline_process(
    arguments: list[str], env: dict[str, str], log_path: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """``tipline ARGUMENTS`` as a real process logging to ``log_path``, once it answers
    ``/healthz`` on ``port``; stopped when the block ends."""
    log = log_path.open("w")
    process = subprocess.Popen(
        [str(BIN / "tipline"), *arguments], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(log_path.read_text())
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(log_path.read_text())
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@contextmanager
def demo_server(directory: Path, **extra_env: str) -> Iterator[DemoServer]:
    """Start `tipline demo` with its data and log in ``directory``; stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "TIPLINE_DATA_DIR": str(directory / "data"),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
        "TIPLINE_DATABASE_URL": "",
        "COLUMNS": "200",
        **extra_env,
    }
    log_path = directory / "demo.log"
    with tipline_process(["demo", "--port", str(port)], env, log_path, port):
        yield DemoServer(url=f"http://127.0.0.1:{port}", env=env, log=log_path)
