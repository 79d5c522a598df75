"""The operator's command line: keys, queues, officers, and reading tips."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.bootstrap import bootstrap
from bot.cli import app as cli
from storage.sealing import FAST_TEST_KDF
from storage.vault import TipDraft

PASSPHRASE = "giu-kin-o-ket-sat"
PASSWORD = "mat-khau-can-bo-1"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_KDF_MEMORY_KIB": str(FAST_TEST_KDF.memory_kib),
        "TIPLINE_KDF_ITERATIONS": str(FAST_TEST_KDF.iterations),
        "TIPLINE_DATABASE_URL": "",
    }


def run(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def fails(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input, env=env)
    assert result.exit_code != 0, result.output
    return result.output


def submit_tip(env: dict[str, str], commune: int | None, text: str) -> str:
    from bot.config import Settings

    async def go() -> str:
        app = await bootstrap(
            Settings(
                _env_file=None,
                data_dir=Path(env["TIPLINE_DATA_DIR"]),  # type: ignore[call-arg]
                kdf_memory_kib=8,
                kdf_iterations=1,
            )
        )
        try:
            return await app.vault.submit(
                TipDraft(
                    category="trading",
                    province_code=1,
                    commune_code=commune,
                    when="now",
                    where="Ngõ 3",
                    description=[text],
                    locale="vi",
                )
            )
        finally:
            await app.close()

    return asyncio.run(go())


def test_a_province_is_set_up_and_an_officer_reads_a_tip(env: dict[str, str]) -> None:
    out = run(env, "keys", "init", "--province", "Hà Nội", input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert "OFFLINE" in out and "Fingerprint" in out
    key_file = Path(env["TIPLINE_DATA_DIR"]) / "recovery-01.key"
    assert key_file.read_text().startswith("-----BEGIN TIPLINE RECOVERY KEY-----")
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    fails(env, "keys", "init", "--province", "1", input=f"{PASSPHRASE}\n{PASSPHRASE}\n")

    run(env, "queues", "init", "--province", "1", "--commune", "ba dinh")
    listing = run(env, "queues", "list")
    assert "Công an Hà Nội" in listing and "Công an Phường Ba Đình" in listing

    out = fails(
        env,
        "officer",
        "add",
        "a.nguyen",
        "--name",
        "Nguyễn Văn A",
        "--queue",
        "2",
        "--recovery-key",
        str(key_file),
        input="wrong-passphrase\n",
    )
    assert "wrong" in out
    run(
        env,
        "officer",
        "add",
        "a.nguyen",
        "--name",
        "Nguyễn Văn A",
        "--queue",
        "2",
        "--recovery-key",
        str(key_file),
        input=f"{PASSPHRASE}\n{PASSWORD}\n{PASSWORD}\n",
    )
    run(
        env,
        "officer",
        "add",
        "b.tran",
        "--name",
        "Trần B",
        "--queue",
        "2",
        "--granted-by",
        "a.nguyen",
        input=f"{PASSWORD}\n{PASSWORD}-b\n{PASSWORD}-b\n",
    )

    mine = submit_tip(env, 4, "Bán ma túy ở quán nước")
    province = submit_tip(env, None, "Không rõ xã nào")
    assert mine != province

    listing = run(env, "tips", "list", "--officer", "b.tran", input=f"{PASSWORD}-b\n")
    [tip_id] = re.findall(r"\b[0-9A-F]{12}\b", listing)
    shown = run(env, "tips", "show", tip_id, "--officer", "a.nguyen", input=f"{PASSWORD}\n")
    assert "Bán ma túy ở quán nước" in shown and "Phường Ba Đình" in shown
    assert "Wrong username or password" in fails(
        env, "tips", "list", "--officer", "a.nguyen", input="nope\n"
    )

    run(env, "tips", "ask", tip_id, "Quán tên gì?", "--officer", "a.nguyen", input=f"{PASSWORD}\n")
    shown = run(
        env, "tips", "show", tip_id, "--recovery-key", str(key_file), input=f"{PASSPHRASE}\n"
    )
    assert "Quán tên gì?" in shown and "Bán ma túy ở quán nước" in shown


def test_queues_need_a_recovery_key_first(env: dict[str, str]) -> None:
    assert "keys init" in fails(env, "queues", "init", "--province", "1")


def test_help_lists_the_commands() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    for command in ("serve", "demo", "db", "keys", "queues", "officer", "tips"):
        assert command in out


def test_audit_verify_reports_an_intact_log_and_a_tampered_one(env: dict[str, str]) -> None:
    import sqlite3

    run(env, "keys", "init", "--province", "1", input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    run(env, "queues", "init", "--province", "1")
    key_file = Path(env["TIPLINE_DATA_DIR"]) / "recovery-01.key"
    run(
        env,
        "officer",
        "add",
        "a.nguyen",
        "--name",
        "A",
        "--queue",
        "1",
        "--recovery-key",
        str(key_file),
        input=f"{PASSPHRASE}\n{PASSWORD}\n{PASSWORD}\n",
    )
    submit_tip(env, None, "Một tin báo")
    run(env, "tips", "list", "--officer", "a.nguyen", input=f"{PASSWORD}\n")
    listing = run(env, "tips", "list", "--officer", "a.nguyen", input=f"{PASSWORD}\n")
    [tip_id] = re.findall(r"\b[0-9A-F]{12}\b", listing)
    run(env, "tips", "show", tip_id, "--officer", "a.nguyen", input=f"{PASSWORD}\n")
    assert "Audit log intact" in run(env, "audit", "verify")
    database = sqlite3.connect(Path(env["TIPLINE_DATA_DIR"]) / "tipline.db")
    with database:
        database.execute("UPDATE audit_events SET actor = 'nobody' WHERE action = 'open'")
    database.close()
    assert "tampered" in fails(env, "audit", "verify")
