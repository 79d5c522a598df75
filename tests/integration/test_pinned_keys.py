"""Where the signing key lives, what a process without it can do, and bringing keys from
before certificates under the scheme (``tipline keys certify``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.bootstrap import App, bootstrap
from bot.cli import app as cli
from bot.config import Settings, SigningKeyProblem, write_signing_key
from storage import sealing
from storage.keyring import NoSigningKey, UntrustedKey
from storage.models import Queue
from storage.vault import TipDraft
from tests.conftest import BA_DINH, HANOI, make_settings, setup_hanoi
from tests.flow.helpers import tip_to_review


def draft() -> TipDraft:
    return TipDraft(
        category="trading",
        province_code=HANOI,
        commune_code=BA_DINH,
        when="today",
        where="Chợ",
        description=["Bán hàng trắng ở chợ"],
        locale="vi",
    )


def pinned(path: Path) -> str:
    return sealing.format_signing_key(
        sealing.signing_public_key(sealing.import_signing_key(path.read_bytes()))
    )


async def test_the_all_in_one_setup_makes_one_signing_key_readable_by_its_owner_only(
    settings: Settings,
) -> None:
    first = await bootstrap(settings)
    await first.close()
    path = settings.data_dir / "signing.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = await bootstrap(settings)
    try:
        assert again.signer is not None
        assert again.verifier.printable == pinned(path)
        assert again.verifier.fingerprint == sealing.signing_key_fingerprint(
            sealing.parse_signing_key(pinned(path))
        )
    finally:
        await again.close()


async def test_a_process_with_only_the_pinned_key_seals_tips_but_certifies_nothing(
    tmp_path: Path, backend_settings: Settings
) -> None:
    # The police side: its own signing key file, pinned.
    key_file = tmp_path / "police" / "signing.key"
    write_signing_key(key_file, sealing.new_signing_key())
    police_settings = backend_settings.model_copy(
        update={"signing_key_file": key_file, "trusted_signing_key": pinned(key_file)}
    )
    police_app = await bootstrap(police_settings)
    await setup_hanoi(police_app)
    await police_app.close()
    # The bot: the same database, another data directory, the pinned public key only.
    bot_settings = backend_settings.model_copy(
        update={
            "data_dir": tmp_path / "bot",
            "database_url": police_settings.sqlalchemy_url(),
            "trusted_signing_key": pinned(key_file),
        }
    )
    bot = await bootstrap(bot_settings)
    try:
        assert bot.signer is None
        assert await bot.vault.submit(draft())
        with pytest.raises(NoSigningKey, match="TIPLINE_SIGNING_KEY_FILE"):
            await bot.police.create_queue(HANOI, 8, "Ngọc Hà")
        with pytest.raises(NoSigningKey):
            await bot.police.add_officer("ke.gian", "Kẻ gian", "mat-khau-ke-gian")
        with pytest.raises(NoSigningKey):
            await bot.police.create_recovery_key(79)
        assert not (tmp_path / "bot" / "signing.key").exists()
    finally:
        await bot.close()


async def test_start_up_fails_clearly_when_the_signing_key_is_not_the_pinned_one(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "signing.key"
    write_signing_key(key_file, sealing.new_signing_key())
    other = sealing.format_signing_key(sealing.signing_public_key(sealing.new_signing_key()))
    settings = make_settings(tmp_path / "data").model_copy(
        update={"signing_key_file": key_file, "trusted_signing_key": other}
    )
    with pytest.raises(SigningKeyProblem, match="is not the pinned signing key"):
        await bootstrap(settings)
    missing = settings.model_copy(update={"signing_key_file": tmp_path / "nowhere.key"})
    with pytest.raises(SigningKeyProblem, match="does not exist"):
        await bootstrap(missing)
    garbled = settings.model_copy(update={"trusted_signing_key": "ed25519:not-a-key"})
    with pytest.raises(SigningKeyProblem, match="TIPLINE_TRUSTED_SIGNING_KEY"):
        await bootstrap(garbled)
    # A data directory's own key must match the pin too.
    write_signing_key(tmp_path / "data" / "signing.key", sealing.new_signing_key())
    with pytest.raises(SigningKeyProblem, match="is not the pinned signing key"):
        await bootstrap(
            make_settings(tmp_path / "data").model_copy(update={"trusted_signing_key": other})
        )


async def forget_certificates(app: App) -> None:
    """An installation from before certificates: the column is there, empty."""
    async with app.db.sessions.begin() as session:
        for table in ("queues", "officers", "recovery_keys"):
            await session.execute(text(f"UPDATE {table} SET certificate = NULL"))


async def test_keys_from_before_certificates_are_used_only_once_certified(
    backend_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = await bootstrap(backend_settings)
    try:
        await setup_hanoi(app)
        await forget_certificates(app)
        with pytest.raises(UntrustedKey):
            await app.vault.submit(draft())
        assert "refused to use the key of queue" in caplog.text
        statuses = await app.police.key_statuses()
        assert {s.state for s in statuses} == {"missing"}
        assert {s.kind for s in statuses} == {"queue", "officer", "recovery"}
        assert await app.police.certify_keys(statuses) == len(statuses)
        assert {s.state for s in await app.police.key_statuses()} == {"certified"}
        assert await app.vault.submit(draft())
    finally:
        await app.close()


async def test_certify_skips_a_key_swapped_after_the_operator_saw_it(
    backend_settings: Settings,
) -> None:
    app = await bootstrap(backend_settings)
    try:
        police = await setup_hanoi(app)
        await forget_certificates(app)
        shown = await app.police.key_statuses()
        _, attacker = sealing.new_keypair()
        async with app.db.sessions.begin() as session:
            await session.execute(
                text("UPDATE queues SET public_key = :key WHERE id = :id"),
                {"key": attacker, "id": police.queues[BA_DINH]},
            )
        assert await app.police.certify_keys(shown) == len(shown) - 1
        async with app.db.sessions() as session:
            swapped = await session.get(Queue, police.queues[BA_DINH])
            assert swapped is not None and swapped.certificate is None
        with pytest.raises(UntrustedKey):
            await app.vault.submit(draft())
    finally:
        await app.close()


async def test_the_reporter_of_an_uncertified_installation_is_told_and_keeps_the_draft(
    settings: Settings,
) -> None:
    app = await bootstrap(settings)
    try:
        await setup_hanoi(app)
        await forget_certificates(app)
        chat = await tip_to_review(app)
        await chat.send("send")
        assert "cannot be sent safely" in chat.text
        await app.police.certify_keys(await app.police.key_statuses())
        await chat.send("send")
        assert chat.receipt()
    finally:
        await app.close()


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "TIPLINE_KDF_MEMORY_KIB": "8",
        "TIPLINE_KDF_ITERATIONS": "1",
        "TIPLINE_DATABASE_URL": "",
    }


def invoke(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def certified_column(listing: str) -> list[str]:
    return re.findall(r"│ (yes|no|BAD) +│$", listing, re.MULTILINE)


def test_the_command_line_pins_certifies_and_shows_fingerprints(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    out = invoke(env, "keys", "signing-init", "--out", str(tmp_path / "police.key"))
    assert "TIPLINE_TRUSTED_SIGNING_KEY=ed25519:" in out
    assert oct((tmp_path / "police.key").stat().st_mode & 0o777) == "0o600"
    env["TIPLINE_SIGNING_KEY_FILE"] = str(tmp_path / "police.key")
    pin = pinned(tmp_path / "police.key")
    assert f"TIPLINE_TRUSTED_SIGNING_KEY={pin}" in invoke(env, "keys", "pin")
    env["TIPLINE_TRUSTED_SIGNING_KEY"] = pin
    passphrase = "giu-kin-o-ket-sat"
    made = invoke(env, "keys", "init", "--province", "1", input=f"{passphrase}\n{passphrase}\n")
    assert "Certified by the signing key" in made and pin in made
    invoke(env, "queues", "init", "--province", "1", "--commune", "ba dinh")
    assert certified_column(invoke(env, "queues", "list")) == ["yes", "yes"]
    password = "mat-khau-can-bo-1"
    added = invoke(env, "officer", "add", "a.nguyen", "--name", "A", input=f"{password}\n" * 2)
    officer_fingerprint = re.search(r"Key fingerprint: ([0-9A-F-]{19})", added)
    assert officer_fingerprint

    async def untrust() -> list[str]:
        settings = make_settings(tmp_path / "data").model_copy(
            update={"signing_key_file": tmp_path / "police.key", "trusted_signing_key": pin}
        )
        app = await bootstrap(settings)
        try:
            await forget_certificates(app)
            async with app.db.sessions() as session:
                return [
                    sealing.fingerprint(q.public_key) for q in await session.scalars(select(Queue))
                ]
        finally:
            await app.close()

    fingerprints = asyncio.run(untrust())
    assert certified_column(invoke(env, "queues", "list")) == ["no", "no"]
    refused = CliRunner().invoke(cli, ["keys", "certify"], input="n\n", env=env)
    assert refused.exit_code != 0
    assert all(fingerprint in refused.output for fingerprint in fingerprints)
    assert officer_fingerprint.group(1) in refused.output
    done = invoke(env, "keys", "certify", input="y\n")
    assert "4 key(s) certified" in done  # two queues, the recovery key, the officer
    assert "No key to certify" in invoke(env, "keys", "certify")

    async def break_a_certificate() -> None:
        settings = make_settings(tmp_path / "data").model_copy(
            update={"signing_key_file": tmp_path / "police.key", "trusted_signing_key": pin}
        )
        app = await bootstrap(settings)
        try:
            async with app.db.sessions.begin() as session:
                await session.execute(
                    text("UPDATE queues SET certificate = :junk WHERE commune_code IS NULL"),
                    {"junk": bytes(65)},
                )
        finally:
            await app.close()

    asyncio.run(break_a_certificate())
    left_alone = " ".join(invoke(env, "keys", "certify").split())
    assert "does not verify" in left_alone and "No key to certify" in left_alone
    assert certified_column(invoke(env, "queues", "list")) == ["BAD", "yes"]
    again = invoke(env, "keys", "certify", "--include-invalid", "--yes")
    assert "1 key(s) certified" in again
    assert certified_column(invoke(env, "queues", "list")) == ["yes", "yes"]
    # A configured signing key file that is not there is reported, never made up.
    wrong = CliRunner().invoke(
        cli,
        ["keys", "pin"],
        env={**env, "TIPLINE_SIGNING_KEY_FILE": str(tmp_path / "missing.key")},
    )
    assert wrong.exit_code != 0 and "tipline keys signing-init" in " ".join(wrong.output.split())
    assert not (tmp_path / "missing.key").exists()
