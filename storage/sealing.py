"""All of Tipline's cryptography, as a handful of named operations.

Every primitive comes from the ``cryptography`` package; this module only composes them.
Nothing here talks to the network or the database: callers pass bytes in and get bytes out.

Key hierarchy
=============

* **Officer key** - an X25519 key pair. The private half is stored only as
  :func:`lock_private_key` output (ChaCha20-Poly1305 under an Argon2id key derived from the
  officer's password).
* **Queue key** - an X25519 key pair per tip queue. Its private half is wrapped with HPKE
  (:func:`wrap_key`) for every member officer and for the province recovery key.
* **Recovery key** - an X25519 key pair kept offline (paper or an air-gapped medium), exported
  with :func:`export_recovery_key`.
* **Data key** - 32 random bytes per tip (:func:`new_data_key`), wrapped with HPKE for the
  queue and the recovery key (:func:`seal_for`); attachments of the same tip reuse it under
  their own context.
* **Reporter key** - derived from the 16-digit receipt (:func:`derive_receipt_keys`), so the
  police can HPKE-encrypt questions that only the receipt holder can read.
* **Signing key** - one Ed25519 key pair per installation, held by the police side only
  (:func:`new_signing_key`). It certifies every queue, officer and recovery public key
  (:func:`certify_key`); the bot pins its public half and checks a key's certificate
  (:func:`verify_certificate`) before sealing anything to it, so whoever can write the
  database cannot slip their own key in.

The internet-facing bot needs public keys only (plus the install salt and the chat secret).

Exceptions
==========

::

    SealingError            base class; also raised for malformed input (bad armor, a blob that
    |                       is too short or carries an unknown version or absurd KDF cost)
    +-- WrongPassword       a password or passphrase does not unlock a locked key
    |                       (a tampered locked blob is indistinguishable and raises this too)
    +-- CannotOpen          wrong key, wrong context or tampered data - deliberately never
    |                       says which
    +-- BadCertificate      a key certificate is missing, malformed, or not a signature by
                            the trusted signing key over this kind, row and public key

Programming errors (a key of the wrong length, an empty recipient list, an invalid receipt
passed to :func:`derive_receipt_keys`) raise :class:`ValueError`, not :class:`SealingError`.

Binary formats (all integers big-endian)
========================================

Locked private key (:func:`lock_private_key`), 86 bytes::

    0   1   version = 0x01
    1   4   Argon2id memory cost in KiB (uint32)
    5   4   Argon2id iterations (uint32)
    9   1   Argon2id lanes (uint8)
    10  16  Argon2id salt (random)
    26  12  ChaCha20-Poly1305 nonce (random)
    38  48  ciphertext of the 32-byte private key + 16-byte tag

    key = Argon2id(NFC(password) as UTF-8, salt, cost, ad=b"tipline/lock/v1", length=32)
    AAD = b"tipline/lock/v1|" + bytes 0..25 (version, cost and salt are authenticated)

Wrapped key (:func:`wrap_key`), 1 + 32 + len(secret) + 16 bytes::

    0   1   version = 0x01
    1   32  HPKE encapsulated key (enc)
    33  ..  HPKE ciphertext (secret + 16-byte tag)

    HPKE RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305,
    info = b"tipline/wrap/v1|" + context

Sealed data (:func:`seal`), 1 + 12 + len(plaintext) + 16 bytes::

    0   1   version = 0x01
    1   12  ChaCha20-Poly1305 nonce (random)
    13  ..  ciphertext + 16-byte tag

    AAD = b"tipline/seal/v1|" + context

Recovery key armor (:func:`export_recovery_key`)::

    -----BEGIN TIPLINE RECOVERY KEY-----
    Label: <single line, informational only>
    Fingerprint: XXXX-XXXX-XXXX-XXXX        (of the public key; checked on import)
    Checksum: xxxxxxxx                      (first 4 bytes of SHA-256 of the body, hex;
                                             catches typing mistakes before the KDF runs)

    <base64 of the locked private key, 64 columns>
    -----END TIPLINE RECOVERY KEY-----

Key certificate (:func:`certify_key`), 65 bytes::

    0   1   version = 0x01
    1   64  Ed25519 signature (RFC 8032) by the signing key over the statement

    statement = b"tipline/key-certificate/v1"
                + field(kind) + field(identity 1) + ... + field(identity n) + field(public key)
    field(x)  = uint16 length of x + x          (text as UTF-8)

    kind is "queue" (identity: queue id, province code, commune code or ""), "officer"
    (officer id, username) or "recovery" (province code). The length prefixes make the
    encoding unambiguous, so a certificate cannot be moved to another kind or row.

Signing keys are printed as ``ed25519:<base64 of the raw 32-byte public key>``
(:func:`format_signing_key`) and stored as unencrypted PKCS#8 PEM
(:func:`export_signing_key`), readable by the operator only.

Receipts are 16 ASCII digits; the last one is a Luhn check digit over the first 15.
``derive_receipt_keys`` runs Argon2id(receipt, install_salt, ad=b"tipline/receipt/v1") to 64
bytes and derives the lookup tag and the reporter's X25519 private key from them with HKDF-SHA256
under the infos ``b"tipline/receipt/v1|lookup"`` and ``b"tipline/receipt/v1|reporter-x25519"``.

Contexts
========

Every ``context`` argument names what the bytes are, e.g. ``b"tip:42:content"``,
``b"tip:42:attachment:1"`` or ``b"queue:12:private"``. Opening with a different context
fails, so a ciphertext cannot be moved to another tip or field.

Limitations: Python cannot reliably erase ``bytes`` from memory; keep private keys in as few
places, and for as short a time, as the caller can.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "FAST_TEST_KDF",
    "KEY_KINDS",
    "BadCertificate",
    "CannotOpen",
    "KdfParams",
    "ReceiptKeys",
    "SealedBox",
    "SealingError",
    "WrongPassword",
    "certify_key",
    "chat_state_key",
    "chat_tag",
    "derive_receipt_keys",
    "export_recovery_key",
    "export_signing_key",
    "fingerprint",
    "format_receipt",
    "format_signing_key",
    "import_recovery_key",
    "import_signing_key",
    "lock_private_key",
    "looks_like_receipt",
    "new_data_key",
    "new_keypair",
    "new_receipt",
    "new_signing_key",
    "open_box",
    "open_sealed",
    "parse_receipt",
    "parse_signing_key",
    "public_key_of",
    "rewrap",
    "seal",
    "seal_for",
    "signing_key_fingerprint",
    "signing_public_key",
    "subscriber_address_key",
    "unlock_private_key",
    "unwrap_key",
    "verify_certificate",
    "wrap_key",
]


# --------------------------------------------------------------------------- exceptions


class SealingError(Exception):
    """Base class of every error this module raises on purpose (also: malformed input)."""


class WrongPassword(SealingError):
    """The password or passphrase does not unlock the key (or the locked blob was altered)."""


class CannotOpen(SealingError):
    """Wrong key, wrong context or tampered data. Deliberately does not say which."""


class BadCertificate(SealingError):
    """A key's certificate is missing, malformed or not by the trusted signing key for it."""


# --------------------------------------------------------------------------- constants

_VERSION = 0x01
_KEY_LEN = 32
_SALT_LEN = 16
_NONCE_LEN = 12
_TAG_LEN = 16
_ENC_LEN = 32  # X25519 encapsulated key

_LOCK_HEADER = struct.Struct(">BIIB")  # version, memory_kib, iterations, lanes
_LOCK_AAD_LEN = _LOCK_HEADER.size + _SALT_LEN
_LOCK_LEN = _LOCK_AAD_LEN + _NONCE_LEN + _KEY_LEN + _TAG_LEN

_LOCK_LABEL = b"tipline/lock/v1"
_WRAP_LABEL = b"tipline/wrap/v1|"
_SEAL_LABEL = b"tipline/seal/v1|"
_RECEIPT_LABEL = b"tipline/receipt/v1"
_CHAT_TAG_LABEL = b"tipline/chat-tag/v1|"
_CHAT_STATE_LABEL = b"tipline/chat-state/v1|"
_SUBSCRIBER_ADDRESS_LABEL = b"tipline/subscriber-address/v1"

_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)

# Upper bounds for KDF cost read back from a blob, so a corrupted or hostile blob cannot make
# unlock_private_key allocate gigabytes or spin for hours.
_MAX_MEMORY_KIB = 4 * 1024 * 1024  # 4 GiB
_MAX_ITERATIONS = 64
_MAX_LANES = 16


# --------------------------------------------------------------------------- KDF cost


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost. The defaults are the production values.

    64 MiB is RFC 9106's second recommended memory size, with one lane so that one
    derivation keeps only one of a small server's cores busy, and 5 passes so that an
    officer's unlock and a receipt check cost about a quarter of a second on the development
    machine (bench/sealing.py): a deliberate price for an attacker with a stolen database.
    It needs 64 MiB per concurrent derivation.
    """

    memory_kib: int = 65536
    iterations: int = 5
    lanes: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.lanes <= _MAX_LANES:
            raise ValueError(f"lanes must be between 1 and {_MAX_LANES}")
        if not 1 <= self.iterations <= _MAX_ITERATIONS:
            raise ValueError(f"iterations must be between 1 and {_MAX_ITERATIONS}")
        if not 8 * self.lanes <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise ValueError(f"memory_kib must be between 8 * lanes and {_MAX_MEMORY_KIB}")

    def _argon2(self, salt: bytes, length: int, ad: bytes) -> Argon2id:
        return Argon2id(
            salt=salt,
            length=length,
            iterations=self.iterations,
            lanes=self.lanes,
            memory_cost=self.memory_kib,
            ad=ad,
        )


FAST_TEST_KDF = KdfParams(memory_kib=8, iterations=1, lanes=1)
"""The cheapest Argon2id cost there is. For tests only: it protects nothing."""


# --------------------------------------------------------------------------- X25519 keys


def _private_key(private: bytes) -> x25519.X25519PrivateKey:
    if len(private) != _KEY_LEN:
        raise ValueError("an X25519 private key is 32 bytes")
    return x25519.X25519PrivateKey.from_private_bytes(private)


def _public_key(public: bytes) -> x25519.X25519PublicKey:
    if len(public) != _KEY_LEN:
        raise ValueError("an X25519 public key is 32 bytes")
    return x25519.X25519PublicKey.from_public_bytes(public)


def new_keypair() -> tuple[bytes, bytes]:
    """Generate an X25519 key pair; return ``(private_raw32, public_raw32)``."""
    key = x25519.X25519PrivateKey.generate()
    return key.private_bytes_raw(), key.public_key().public_bytes_raw()


def public_key_of(private: bytes) -> bytes:
    """Return the raw 32-byte X25519 public key belonging to ``private``."""
    return _private_key(private).public_key().public_bytes_raw()


def fingerprint(public: bytes) -> str:
    """Return a short, human-comparable fingerprint such as ``"AB12-CD34-EF56-7890"``.

    It is the first 8 bytes of SHA-256 of the raw public key, in upper-case hex, so it can be
    checked independently with ``sha256sum``.
    """
    if len(public) != _KEY_LEN:
        raise ValueError("an X25519 public key is 32 bytes")
    digest = hashlib.sha256(public).hexdigest()[:16].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


# --------------------------------------------------------------------------- password locking


def _password_bytes(password: str) -> bytes:
    return unicodedata.normalize("NFC", password).encode("utf-8")


def lock_private_key(private: bytes, password: str, params: KdfParams) -> bytes:
    """Encrypt a private key under ``password`` (see the module docstring for the format).

    The password is NFC-normalised and UTF-8 encoded, so the same password typed on
    different keyboards unlocks the key. The blob records the KDF cost, so
    :func:`unlock_private_key` needs only the password.
    """
    _private_key(private)
    if not password:
        raise ValueError("refusing to lock a key under an empty password")
    salt = secrets.token_bytes(_SALT_LEN)
    header = _LOCK_HEADER.pack(_VERSION, params.memory_kib, params.iterations, params.lanes)
    aad = header + salt
    key = params._argon2(salt, _KEY_LEN, _LOCK_LABEL).derive(_password_bytes(password))
    nonce = secrets.token_bytes(_NONCE_LEN)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, private, _LOCK_LABEL + b"|" + aad)
    return aad + nonce + ciphertext


def unlock_private_key(locked: bytes, password: str) -> bytes:
    """Decrypt a blob made by :func:`lock_private_key`.

    Raises :class:`WrongPassword` when the password is wrong (or the blob was altered), and
    :class:`SealingError` when the blob is not a locked key at all.
    """
    if len(locked) != _LOCK_LEN:
        raise SealingError("not a locked private key")
    version, memory_kib, iterations, lanes = _LOCK_HEADER.unpack_from(locked)
    if version != _VERSION:
        raise SealingError("unknown locked key version")
    try:
        params = KdfParams(memory_kib=memory_kib, iterations=iterations, lanes=lanes)
    except ValueError:
        raise SealingError("locked key has an unacceptable KDF cost") from None
    aad = locked[:_LOCK_AAD_LEN]
    salt = aad[_LOCK_HEADER.size :]
    nonce = locked[_LOCK_AAD_LEN : _LOCK_AAD_LEN + _NONCE_LEN]
    ciphertext = locked[_LOCK_AAD_LEN + _NONCE_LEN :]
    key = params._argon2(salt, _KEY_LEN, _LOCK_LABEL).derive(_password_bytes(password))
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, _LOCK_LABEL + b"|" + aad)
    except InvalidTag:
        raise WrongPassword("the password does not unlock this key") from None


# --------------------------------------------------------------------------- HPKE key wrapping


def wrap_key(secret: bytes, recipient_public: bytes, context: bytes) -> bytes:
    """Encrypt a short secret (a data key or a queue private key) to an X25519 public key.

    HPKE (RFC 9180) base mode with ``info = b"tipline/wrap/v1|" + context``.
    """
    public = _public_key(recipient_public)
    try:
        sealed = _SUITE.encrypt(secret, public, info=_WRAP_LABEL + context)
    except ValueError:  # a low-order point such as all zeros
        raise ValueError("recipient public key is not a usable X25519 key") from None
    return bytes([_VERSION]) + sealed


def unwrap_key(wrapped: bytes, recipient_private: bytes, context: bytes) -> bytes:
    """Reverse :func:`wrap_key`. Raises :class:`CannotOpen` on any failure."""
    private = _private_key(recipient_private)
    if len(wrapped) < 1 + _ENC_LEN + _TAG_LEN or wrapped[0] != _VERSION:
        raise CannotOpen("cannot open")
    try:
        return _SUITE.decrypt(wrapped[1:], private, info=_WRAP_LABEL + context)
    except (InvalidTag, ValueError):
        raise CannotOpen("cannot open") from None


# --------------------------------------------------------------------------- symmetric sealing


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return secrets.token_bytes(_KEY_LEN)


def _aead(data_key: bytes) -> ChaCha20Poly1305:
    if len(data_key) != _KEY_LEN:
        raise ValueError("a data key is 32 bytes")
    return ChaCha20Poly1305(data_key)


def seal(data_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` under ``data_key``, bound to ``context``.

    A random 96-bit nonce is used, which is safe for the handful of items sealed under one
    per-tip data key.
    """
    nonce = secrets.token_bytes(_NONCE_LEN)
    return (
        bytes([_VERSION]) + nonce + _aead(data_key).encrypt(nonce, plaintext, _SEAL_LABEL + context)
    )


def open_sealed(data_key: bytes, sealed: bytes, context: bytes) -> bytes:
    """Reverse :func:`seal`. Raises :class:`CannotOpen` on any failure."""
    aead = _aead(data_key)
    if len(sealed) < 1 + _NONCE_LEN + _TAG_LEN or sealed[0] != _VERSION:
        raise CannotOpen("cannot open")
    nonce = sealed[1 : 1 + _NONCE_LEN]
    try:
        return aead.decrypt(nonce, sealed[1 + _NONCE_LEN :], _SEAL_LABEL + context)
    except InvalidTag:
        raise CannotOpen("cannot open") from None


@dataclass(frozen=True, slots=True)
class SealedBox:
    """One sealed item plus its data key wrapped for each recipient.

    ``wraps`` maps a recipient label (``"queue:12"``, ``"recovery:1"``, ``"reporter"``) to the
    :func:`wrap_key` output for that recipient.
    """

    ciphertext: bytes
    wraps: dict[str, bytes]


def seal_for(
    plaintext: bytes, recipients: Mapping[str, bytes], context: bytes
) -> tuple[SealedBox, bytes]:
    """Seal ``plaintext`` under a new data key and wrap that key for every recipient.

    ``recipients`` maps a label to a raw X25519 public key. The data key is wrapped under the
    same ``context`` as the content. Returns the box and the data key, so attachments of the
    same tip can be sealed with :func:`seal` under their own context (readers then use
    :func:`unwrap_key` with the content context and :func:`open_sealed` with the attachment
    context). The caller should drop the data key as soon as it is done.
    """
    if not recipients:
        raise ValueError("sealing for nobody would lose the data")
    data_key = new_data_key()
    wraps = {label: wrap_key(data_key, public, context) for label, public in recipients.items()}
    return SealedBox(ciphertext=seal(data_key, plaintext, context), wraps=wraps), data_key


def open_box(
    box_ciphertext: bytes, wrapped: bytes, recipient_private: bytes, context: bytes
) -> bytes:
    """Unwrap the data key with ``recipient_private`` and open the box. Raises CannotOpen."""
    data_key = unwrap_key(wrapped, recipient_private, context)
    if len(data_key) != _KEY_LEN:
        raise CannotOpen("cannot open")
    return open_sealed(data_key, box_ciphertext, context)


def rewrap(
    wrapped: bytes, holder_private: bytes, new_recipient_public: bytes, context: bytes
) -> bytes:
    """Re-wrap a wrapped key for another recipient (forwarding a tip to another queue).

    Raises :class:`CannotOpen` if ``holder_private`` cannot unwrap it.
    """
    return wrap_key(unwrap_key(wrapped, holder_private, context), new_recipient_public, context)


# --------------------------------------------------------------------------- receipts

_RECEIPT_DIGITS = 16
_ASCII_DIGITS = frozenset("0123456789")
# Separators a reporter may type between digit groups (after NFKC, which folds the full-width
# forms): whitespace, hyphen-minus, full stop, and the Unicode hyphens, dashes and minus sign.
_SEPARATOR_CLASS = r"[\s\-.\u2010-\u2015\u2212]"
_SEPARATORS = frozenset("-.\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_MAX_RECEIPT_INPUT = 64
# Four groups of four digits, separators optional, not glued to other digits. Written as a
# lookahead so that overlapping candidates (a receipt inside a longer grouped number) are seen.
_GROUPED_RE = re.compile(
    rf"(?<![0-9])(?=([0-9]{{4}}(?:{_SEPARATOR_CLASS}{{0,3}}[0-9]{{4}}){{3}})(?![0-9]))"
)
# A maximal run of digits with short separators anywhere (catches irregular grouping).
_RUN_RE = re.compile(rf"[0-9](?:{_SEPARATOR_CLASS}{{0,3}}[0-9])*")


def _luhn_sum(digits: str) -> int:
    """Luhn sum of ``digits`` where the last character is the check position."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def _luhn_valid(digits: str) -> bool:
    return _luhn_sum(digits) % 10 == 0


def _luhn_check_digit(body: str) -> str:
    return str((10 - _luhn_sum(body + "0") % 10) % 10)


def _is_receipt_digits(digits: str) -> bool:
    return (
        len(digits) == _RECEIPT_DIGITS
        and all(char in _ASCII_DIGITS for char in digits)
        and _luhn_valid(digits)
    )


def _fold_digits(text: str) -> str:
    """NFKC-normalise and turn every Unicode decimal digit into its ASCII digit."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in folded)


def new_receipt() -> str:
    """Return a new receipt: 15 random digits (about 50 bits) and a Luhn check digit."""
    body = f"{secrets.randbelow(10**15):015d}"
    return body + _luhn_check_digit(body)


def format_receipt(digits: str) -> str:
    """Format 16 receipt digits for display: ``"1234 5678 9012 3456"``."""
    if len(digits) != _RECEIPT_DIGITS or not all(char in _ASCII_DIGITS for char in digits):
        raise ValueError("a receipt is 16 ASCII digits")
    return " ".join(digits[i : i + 4] for i in range(0, _RECEIPT_DIGITS, 4))


def parse_receipt(text: str) -> str | None:
    """Return the 16 receipt digits in ``text``, or None if it is not a valid receipt.

    Accepts spaces, dashes and dots anywhere between the digits and full-width (or any other
    Unicode decimal) digits. The Luhn check digit must match, which catches every single-digit
    typo and every transposition of adjacent digits except 0<->9.
    """
    if len(text) > _MAX_RECEIPT_INPUT:
        return None
    digits: list[str] = []
    for char in _fold_digits(text):
        if char in _ASCII_DIGITS:
            digits.append(char)
        elif not (char.isspace() or char in _SEPARATORS):
            return None
    result = "".join(digits)
    return result if _is_receipt_digits(result) else None


def looks_like_receipt(text: str) -> bool:
    """True when ``text`` contains something that could be a receipt.

    Used to refuse storing a message that contains the reporter's receipt. Errs on the side
    of True: any four groups of four digits (separators optional) or any run of exactly 16
    digits with short separators, that passes the Luhn check. About one in ten unrelated
    16-digit numbers will match too.
    """
    folded = _fold_digits(text)
    for match in _GROUPED_RE.finditer(folded):
        if _is_receipt_digits(re.sub(r"[^0-9]", "", match.group(1))):
            return True
    for match in _RUN_RE.finditer(folded):
        if _is_receipt_digits(re.sub(r"[^0-9]", "", match.group(0))):
            return True
    return False


@dataclass(frozen=True, slots=True)
class ReceiptKeys:
    """What a receipt unlocks.

    ``lookup`` (32 bytes) and ``public`` are stored with the tip; ``private`` is never stored.
    """

    lookup: bytes
    private: bytes
    public: bytes


def _hkdf(ikm: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY_LEN, salt=salt, info=info).derive(ikm)


def derive_receipt_keys(receipt_digits: str, install_salt: bytes, params: KdfParams) -> ReceiptKeys:
    """Derive the lookup tag and the reporter key pair from a receipt.

    ``receipt_digits`` must be the 16 digits as returned by :func:`parse_receipt`.
    ``install_salt`` is a random per-installation value of at least 16 bytes. One Argon2id
    call produces 64 bytes; HKDF-SHA256 with distinct labels turns them into the lookup tag
    and the X25519 private key, so the stored tag reveals nothing about the private key.
    """
    if not _is_receipt_digits(receipt_digits):
        raise ValueError("not a valid receipt (16 ASCII digits with a Luhn check digit)")
    if len(install_salt) < _SALT_LEN:
        raise ValueError("the install salt must be at least 16 bytes")
    master = params._argon2(install_salt, 64, _RECEIPT_LABEL).derive(receipt_digits.encode())
    lookup = _hkdf(master, _RECEIPT_LABEL + b"|lookup")
    private = _hkdf(master, _RECEIPT_LABEL + b"|reporter-x25519")
    return ReceiptKeys(lookup=lookup, private=private, public=public_key_of(private))


# --------------------------------------------------------------------------- chat-bound secrets


def _check_secret(secret: bytes) -> None:
    if len(secret) < _SALT_LEN:
        raise ValueError("the chat secret must be at least 16 bytes")


def chat_tag(secret: bytes, chat: str, purpose: str) -> bytes:
    """Return HMAC-SHA256(secret, label | purpose | chat): a 32-byte database key for a chat.

    ``purpose`` (e.g. ``"state"``, ``"throttle"``) must not contain ``"|"``, which keeps the
    encoding unambiguous.
    """
    _check_secret(secret)
    if not purpose or "|" in purpose:
        raise ValueError("purpose must be non-empty and must not contain '|'")
    message = _CHAT_TAG_LABEL + purpose.encode() + b"|" + chat.encode()
    return hmac.new(secret, message, hashlib.sha256).digest()


def chat_state_key(secret: bytes, chat: str) -> bytes:
    """Return a 32-byte AEAD key for a chat's draft state, HKDF-SHA256(secret, label | chat)."""
    _check_secret(secret)
    return _hkdf(secret, _CHAT_STATE_LABEL + chat.encode())


def subscriber_address_key(secret: bytes) -> bytes:
    """Return the 32-byte AEAD key that seals subscribers' chat addresses.

    HKDF-SHA256(secret, info=b"tipline/subscriber-address/v1"). Unlike a chat's state key it
    does not depend on the chat: the broadcaster opens every address to send to it.
    """
    _check_secret(secret)
    return _hkdf(secret, _SUBSCRIBER_ADDRESS_LABEL)


# --------------------------------------------------------------------------- recovery key armor

_ARMOR_BEGIN = "-----BEGIN TIPLINE RECOVERY KEY-----"
_ARMOR_END = "-----END TIPLINE RECOVERY KEY-----"
_ARMOR_WIDTH = 64
_MAX_LABEL = 200


def _checksum(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:8]


def export_recovery_key(private: bytes, passphrase: str, params: KdfParams, label: str) -> str:
    """Lock ``private`` under ``passphrase`` and return it as ASCII armor for offline storage.

    ``label`` is a single printable line (e.g. the province and date); it is not
    authenticated and is only there to tell papers apart. The fingerprint is of the public key
    and is checked on import.
    """
    if not label or len(label) > _MAX_LABEL or not label.isprintable() or label != label.strip():
        raise ValueError("label must be a single printable line without surrounding spaces")
    body = lock_private_key(private, passphrase, params)
    encoded = base64.b64encode(body).decode("ascii")
    lines = [
        _ARMOR_BEGIN,
        f"Label: {label}",
        f"Fingerprint: {fingerprint(public_key_of(private))}",
        f"Checksum: {_checksum(body)}",
        "",
        *(encoded[i : i + _ARMOR_WIDTH] for i in range(0, len(encoded), _ARMOR_WIDTH)),
        _ARMOR_END,
    ]
    return "\n".join(lines) + "\n"


def import_recovery_key(text: str, passphrase: str) -> bytes:
    """Read armor made by :func:`export_recovery_key` and return the private key.

    Raises :class:`WrongPassword` for a wrong passphrase and :class:`SealingError` for
    malformed or mistyped text (including a fingerprint that does not match the key).
    """
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise SealingError("not a Tipline recovery key")
    headers: dict[str, str] = {}
    body_lines: list[str] = []
    for line in lines[1:-1]:
        if not body_lines and ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        elif line:
            body_lines.append(line)
    try:
        body = base64.b64decode("".join("".join(body_lines).split()), validate=True)
    except (binascii.Error, ValueError):
        raise SealingError("the recovery key body is not valid base64") from None
    checksum = headers.get("checksum")
    if checksum is not None and checksum.lower() != _checksum(body):
        raise SealingError("the recovery key body does not match its checksum (typo?)")
    private = unlock_private_key(body, passphrase)
    expected = headers.get("fingerprint")
    if expected is None or expected.upper() != fingerprint(public_key_of(private)):
        raise SealingError("the recovery key does not match its fingerprint")
    return private


# --------------------------------------------------------------------------- key certificates

KEY_KINDS = ("queue", "officer", "recovery")
_CERTIFICATE_LABEL = b"tipline/key-certificate/v1"
_SIGNATURE_LEN = 64
_CERTIFICATE_LEN = 1 + _SIGNATURE_LEN
_SIGNING_PREFIX = "ed25519:"


def new_signing_key() -> bytes:
    """Generate an Ed25519 signing key; return its raw 32-byte private half."""
    return ed25519.Ed25519PrivateKey.generate().private_bytes_raw()


def _signing_private(private: bytes) -> ed25519.Ed25519PrivateKey:
    if len(private) != _KEY_LEN:
        raise ValueError("an Ed25519 private key is 32 bytes")
    return ed25519.Ed25519PrivateKey.from_private_bytes(private)


def signing_public_key(private: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a signing key."""
    return _signing_private(private).public_key().public_bytes_raw()


def signing_key_fingerprint(public: bytes) -> str:
    """A fingerprint of a signing public key, in the same form as :func:`fingerprint`
    (the first 8 bytes of SHA-256 of the raw key), so it too can be checked by hand."""
    return fingerprint(public)


def format_signing_key(public: bytes) -> str:
    """The printable form of a signing public key: ``ed25519:<base64>``."""
    if len(public) != _KEY_LEN:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return _SIGNING_PREFIX + base64.b64encode(public).decode("ascii")


def parse_signing_key(text: str) -> bytes:
    """Read a signing public key printed by :func:`format_signing_key`.

    Raises :class:`SealingError` when ``text`` is not one.
    """
    text = text.strip()
    if not text.startswith(_SIGNING_PREFIX):
        raise SealingError("a signing key is written ed25519:<base64>")
    try:
        public = base64.b64decode(text[len(_SIGNING_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SealingError("the signing key is not valid base64") from None
    if len(public) != _KEY_LEN:
        raise SealingError("an Ed25519 public key is 32 bytes")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        raise SealingError("not an Ed25519 public key") from None
    return public


def export_signing_key(private: bytes) -> bytes:
    """The signing key as unencrypted PKCS#8 PEM, for a file only the operator can read."""
    return _signing_private(private).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def import_signing_key(pem: bytes) -> bytes:
    """Read :func:`export_signing_key` output; raises :class:`SealingError` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise SealingError("not an unencrypted PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SealingError("the signing key must be an Ed25519 key")
    return key.private_bytes_raw()


def _certificate_statement(kind: str, identity: Sequence[str | int], public: bytes) -> bytes:
    if kind not in KEY_KINDS:
        raise ValueError(f"kind must be one of {', '.join(KEY_KINDS)}")
    if len(public) != _KEY_LEN:
        raise ValueError("a certified public key is 32 bytes")
    fields = [kind.encode(), *(str(part).encode() for part in identity), public]
    statement = bytearray(_CERTIFICATE_LABEL)
    for item in fields:
        if len(item) > 0xFFFF:
            raise ValueError("identity field too long")
        statement += struct.pack(">H", len(item)) + item
    return bytes(statement)


def certify_key(
    signing_private: bytes, kind: str, identity: Sequence[str | int], public: bytes
) -> bytes:
    """Certify that ``public`` is the key of the row ``identity`` of ``kind``.

    ``identity`` names the row: ``(queue_id, province_code, commune_code or "")`` for a queue,
    ``(officer_id, username)`` for an officer, ``(province_code,)`` for a recovery key.
    """
    signature = _signing_private(signing_private).sign(
        _certificate_statement(kind, identity, public)
    )
    return bytes([_VERSION]) + signature


def verify_certificate(
    signing_public: bytes,
    kind: str,
    identity: Sequence[str | int],
    public: bytes,
    certificate: bytes | None,
) -> None:
    """Check a certificate made by :func:`certify_key`; raises :class:`BadCertificate`.

    A missing certificate, another kind or row, another public key, or a signature by any
    other signing key all fail the same way.
    """
    if (
        certificate is None
        or len(certificate) != _CERTIFICATE_LEN
        or certificate[0] != _VERSION
        or len(public) != _KEY_LEN
    ):
        raise BadCertificate("no valid certificate")
    statement = _certificate_statement(kind, identity, public)
    trusted = ed25519.Ed25519PublicKey.from_public_bytes(signing_public)
    try:
        trusted.verify(certificate[1:], statement)
    except InvalidSignature:
        raise BadCertificate("no valid certificate") from None
