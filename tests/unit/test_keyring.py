"""Tests for storage.keyring: certifying rows, checking them, and what the log says."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from storage import sealing
from storage.keyring import KeySigner, KeyVerifier, NoSigningKey, UntrustedKey, require_signer
from storage.models import Officer, Queue, RecoveryKey


def queue(queue_id: int | None = 7, commune: int | None = 4) -> Queue:
    _, public = sealing.new_keypair()
    return Queue(
        id=queue_id,
        province_code=1,
        commune_code=commune,
        name="Công an Phường Ba Đình",
        public_key=public,
        recovery_wrap=b"",
        created_at=datetime.now(UTC),
    )


def test_a_certified_row_checks_and_a_changed_one_does_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signer = KeySigner(sealing.new_signing_key())
    row = queue()
    signer.certify(row)
    assert signer.verifier.check(row) == row.public_key
    _, attacker = sealing.new_keypair()
    row.public_key = attacker
    with pytest.raises(UntrustedKey) as refused:
        signer.verifier.check(row)
    fingerprint = sealing.fingerprint(attacker)
    assert refused.value.which == "queue 7" and refused.value.key_fingerprint == fingerprint
    assert f"queue 7 (fingerprint {fingerprint})" in caplog.text
    assert "Ba Đình" not in caplog.text


def test_officer_and_recovery_rows_are_bound_to_their_identity() -> None:
    signer = KeySigner(sealing.new_signing_key())
    _, public = sealing.new_keypair()
    officer = Officer(id=3, username="canbo.a", public_key=public)
    recovery = RecoveryKey(province_code=1, public_key=public)
    signer.certify(officer)
    signer.certify(recovery)
    assert signer.verifier.verifies(officer) and signer.verifier.verifies(recovery)
    officer.username = "canbo.b"
    assert not signer.verifier.verifies(officer)
    recovery.certificate, officer.certificate = officer.certificate, recovery.certificate
    assert not signer.verifier.verifies(recovery)


def test_another_installations_signing_key_is_not_trusted() -> None:
    row = queue(commune=None)
    KeySigner(sealing.new_signing_key()).certify(row)
    other = KeyVerifier(sealing.signing_public_key(sealing.new_signing_key()))
    assert not other.verifies(row)


def test_an_unflushed_row_cannot_be_certified_and_a_missing_signer_says_why() -> None:
    signer = KeySigner(sealing.new_signing_key())
    with pytest.raises(ValueError, match="flush"):
        signer.certify(queue(queue_id=None))
    with pytest.raises(NoSigningKey, match="TIPLINE_SIGNING_KEY_FILE"):
        require_signer(None)
    assert require_signer(signer) is signer


def test_the_signer_never_prints_its_key() -> None:
    private = sealing.new_signing_key()
    signer = KeySigner(private)
    assert private.hex() not in repr(signer) and signer.verifier.fingerprint in repr(signer)


def test_a_garbled_key_is_refused_not_crashed_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    row = queue()
    row.public_key = b"short"
    with pytest.raises(UntrustedKey):
        KeyVerifier(sealing.signing_public_key(sealing.new_signing_key())).check(row)
