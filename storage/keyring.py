"""Pinned public keys: certify queue, officer and recovery keys, and check them before use.

Whoever can write the database could otherwise replace a queue's, an officer's or a recovery
key's public key with their own and receive the next tips. Every such key therefore carries
a certificate by the installation's Ed25519 signing key (:func:`storage.sealing.certify_key`),
which the database does not hold. The bot holds only a :class:`KeyVerifier` (the pinned
public key); the police side, where the signing key is, also holds a :class:`KeySigner`.

Exceptions::

    UntrustedKey    a key has no valid certificate: it is never used (the operator's log
                    line says which key, by row and fingerprint)
    NoSigningKey    an operation must certify a key and this process has no signing key
"""

from __future__ import annotations

import logging

from storage import sealing
from storage.models import Officer, Queue, RecoveryKey

__all__ = ["KeySigner", "KeyVerifier", "NoSigningKey", "UntrustedKey", "require_signer"]

log = logging.getLogger(__name__)

KeyRow = Queue | Officer | RecoveryKey


class UntrustedKey(Exception):
    """A public key in the database has no valid certificate: nothing is sealed to it.

    ``which`` names the row ("queue 12", "officer 3", "recovery key of province 1") and
    ``key_fingerprint`` the key found there; neither says anything about a person.
    """

    def __init__(self, which: str, key_fingerprint: str) -> None:
        super().__init__(f"{which} (key {key_fingerprint}) has no valid certificate")
        self.which = which
        self.key_fingerprint = key_fingerprint


class NoSigningKey(RuntimeError):
    """This process has no signing key, so it cannot certify a new or changed key."""


def _statement(row: KeyRow) -> tuple[str, tuple[str | int, ...], str]:
    """The kind and identity a row's certificate binds, and how the log names the row."""
    if isinstance(row, Queue):
        commune = "" if row.commune_code is None else row.commune_code
        return "queue", (row.id, row.province_code, commune), f"queue {row.id}"
    if isinstance(row, Officer):
        return "officer", (row.id, row.username), f"officer {row.id}"
    return (
        "recovery",
        (row.province_code,),
        f"recovery key of province {row.province_code}",
    )


def _key_fingerprint(public: bytes) -> str:
    try:
        return sealing.fingerprint(public)
    except ValueError:
        return "(not a 32-byte key)"


class KeyVerifier:
    """Checks certificates against the pinned signing public key. Holds no secret."""

    def __init__(self, trusted: bytes) -> None:
        if len(trusted) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        self.trusted = trusted

    @property
    def fingerprint(self) -> str:
        """The pinned signing key's fingerprint."""
        return sealing.signing_key_fingerprint(self.trusted)

    @property
    def printable(self) -> str:
        """The pinned signing key as ``ed25519:<base64>`` (what the bot's setting holds)."""
        return sealing.format_signing_key(self.trusted)

    def verifies(self, row: KeyRow) -> bool:
        """Whether the row's certificate verifies (for display; no log line)."""
        kind, identity, _ = _statement(row)
        try:
            sealing.verify_certificate(
                self.trusted, kind, identity, row.public_key, row.certificate
            )
        except sealing.BadCertificate:
            return False
        return True

    def check(self, row: KeyRow) -> bytes:
        """The row's public key when its certificate verifies; :class:`UntrustedKey` (and
        an operator log line naming the row and the key's fingerprint) otherwise."""
        if self.verifies(row):
            return row.public_key
        _, _, which = _statement(row)
        fingerprint = _key_fingerprint(row.public_key)
        log.error(
            "refused to use the key of %s (fingerprint %s): its certificate does not verify "
            "against the pinned signing key %s; run 'tipline keys certify' on the police side "
            "if this key is genuine",
            which,
            fingerprint,
            self.fingerprint,
        )
        raise UntrustedKey(which, fingerprint)


class KeySigner:
    """Certifies keys with the signing key. Exists only where the signing key is (the
    console, the command line, the all-in-one setup): never in a bot-only process."""

    def __init__(self, private: bytes) -> None:
        self._private = private
        self.verifier = KeyVerifier(sealing.signing_public_key(private))

    def __repr__(self) -> str:  # never print the key
        return f"KeySigner({self.verifier.fingerprint})"

    def certify(self, row: KeyRow) -> None:
        """Set the row's certificate for its current identity and public key. A row that
        gets its id from the database must be flushed first."""
        kind, identity, _ = _statement(row)
        if any(part is None for part in identity):
            raise ValueError("flush the row first: its id is part of what is certified")
        row.certificate = sealing.certify_key(self._private, kind, identity, row.public_key)


def require_signer(signer: KeySigner | None) -> KeySigner:
    """The signer, or :class:`NoSigningKey` with a message an operator can act on."""
    if signer is None:
        raise NoSigningKey(
            "this process has no signing key, so it cannot certify keys: run this on the "
            "police side, where TIPLINE_SIGNING_KEY_FILE is set"
        )
    return signer
