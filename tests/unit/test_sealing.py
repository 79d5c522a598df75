"""Tests for storage.sealing: round trips, wrong keys, wrong contexts, tampering, receipts."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from storage import sealing
from storage.sealing import (
    FAST_TEST_KDF,
    CannotOpen,
    KdfParams,
    SealingError,
    WrongPassword,
)

CONTEXT = b"tip:42:content"
INSTALL_SALT = bytes(range(16))
RECEIPT = "1234567890123452"  # Luhn-valid, checked below


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


# --------------------------------------------------------------------------- keys


def test_new_keypair_is_raw_x25519() -> None:
    private, public = sealing.new_keypair()
    assert len(private) == 32
    assert len(public) == 32
    assert sealing.public_key_of(private) == public
    assert sealing.new_keypair() != (private, public)


def test_public_key_of_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        sealing.public_key_of(b"\x00" * 31)


def test_fingerprint_format_and_stability() -> None:
    _, public = sealing.new_keypair()
    _, other = sealing.new_keypair()
    fp = sealing.fingerprint(public)
    assert len(fp) == 19
    groups = fp.split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 4]
    assert all(c in "0123456789ABCDEF" for c in fp.replace("-", ""))
    assert sealing.fingerprint(public) == fp
    assert sealing.fingerprint(other) != fp


def test_kdf_params_validation() -> None:
    assert KdfParams().lanes == 1
    with pytest.raises(ValueError):
        KdfParams(memory_kib=4, iterations=1, lanes=1)
    with pytest.raises(ValueError):
        KdfParams(memory_kib=8, iterations=0, lanes=1)
    with pytest.raises(ValueError):
        KdfParams(memory_kib=64, iterations=1, lanes=0)


# --------------------------------------------------------------------------- password locking


def test_lock_unlock_round_trip() -> None:
    private, _ = sealing.new_keypair()
    locked = sealing.lock_private_key(private, "correct horse", FAST_TEST_KDF)
    assert sealing.unlock_private_key(locked, "correct horse") == private


def test_locked_blob_does_not_contain_private_key() -> None:
    private, _ = sealing.new_keypair()
    locked = sealing.lock_private_key(private, "pw", FAST_TEST_KDF)
    assert private not in locked
    assert private[:8] not in locked


def test_lock_is_randomised() -> None:
    private, _ = sealing.new_keypair()
    first = sealing.lock_private_key(private, "pw", FAST_TEST_KDF)
    second = sealing.lock_private_key(private, "pw", FAST_TEST_KDF)
    assert first != second


def test_lock_records_params() -> None:
    private, _ = sealing.new_keypair()
    params = KdfParams(memory_kib=16, iterations=2, lanes=2)
    locked = sealing.lock_private_key(private, "pw", params)
    assert locked[0] == 1
    assert int.from_bytes(locked[1:5]) == 16
    assert int.from_bytes(locked[5:9]) == 2
    assert locked[9] == 2
    assert sealing.unlock_private_key(locked, "pw") == private


def test_wrong_password_raises_wrong_password() -> None:
    private, _ = sealing.new_keypair()
    locked = sealing.lock_private_key(private, "correct horse", FAST_TEST_KDF)
    with pytest.raises(WrongPassword):
        sealing.unlock_private_key(locked, "correct hors")
    with pytest.raises(WrongPassword):
        sealing.unlock_private_key(locked, "")


def test_password_is_nfc_normalised() -> None:
    private, _ = sealing.new_keypair()
    composed = "m\u1eadt kh\u1ea9u"  # "mật khẩu" precomposed
    decomposed = "ma\u0323\u0302t kha\u0302\u0309u"
    assert composed != decomposed
    locked = sealing.lock_private_key(private, composed, FAST_TEST_KDF)
    assert sealing.unlock_private_key(locked, decomposed) == private


def test_lock_refuses_empty_password() -> None:
    private, _ = sealing.new_keypair()
    with pytest.raises(ValueError):
        sealing.lock_private_key(private, "", FAST_TEST_KDF)


def test_tampered_locked_blob_never_unlocks() -> None:
    private, _ = sealing.new_keypair()
    locked = sealing.lock_private_key(private, "pw", FAST_TEST_KDF)
    for position in range(len(locked)):
        # Flipping the top bit of the cost fields makes them absurd (malformed), flipping the
        # low bit changes the KDF or the ciphertext (wrong password); neither may unlock.
        for mask in (0x01, 0x80):
            with pytest.raises(SealingError):
                sealing.unlock_private_key(flip(locked, position, mask), "pw")


def test_malformed_locked_blob_raises_sealing_error() -> None:
    private, _ = sealing.new_keypair()
    locked = sealing.lock_private_key(private, "pw", FAST_TEST_KDF)
    for bad in (b"", locked[:-1], locked + b"\x00", b"\x02" + locked[1:]):
        with pytest.raises(SealingError) as info:
            sealing.unlock_private_key(bad, "pw")
        assert not isinstance(info.value, WrongPassword)


def test_unlock_rejects_absurd_cost_without_running_it() -> None:
    private, _ = sealing.new_keypair()
    locked = bytearray(sealing.lock_private_key(private, "pw", FAST_TEST_KDF))
    locked[1:5] = (0xFFFFFFFF).to_bytes(4)  # 4 TiB of memory
    with pytest.raises(SealingError):
        sealing.unlock_private_key(bytes(locked), "pw")


# --------------------------------------------------------------------------- HPKE wrapping


def test_wrap_unwrap_round_trip() -> None:
    private, public = sealing.new_keypair()
    secret = sealing.new_data_key()
    wrapped = sealing.wrap_key(secret, public, CONTEXT)
    assert secret not in wrapped
    assert len(wrapped) == 1 + 32 + 32 + 16
    assert sealing.unwrap_key(wrapped, private, CONTEXT) == secret


def test_unwrap_with_another_key_raises() -> None:
    _, public = sealing.new_keypair()
    other_private, _ = sealing.new_keypair()
    wrapped = sealing.wrap_key(sealing.new_data_key(), public, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.unwrap_key(wrapped, other_private, CONTEXT)


def test_unwrap_with_another_context_raises() -> None:
    private, public = sealing.new_keypair()
    wrapped = sealing.wrap_key(sealing.new_data_key(), public, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.unwrap_key(wrapped, private, b"tip:43:content")
    with pytest.raises(CannotOpen):
        sealing.unwrap_key(wrapped, private, b"")


def test_tampered_wrapped_key_raises_at_every_position() -> None:
    private, public = sealing.new_keypair()
    wrapped = sealing.wrap_key(sealing.new_data_key(), public, CONTEXT)
    for position in range(len(wrapped)):
        with pytest.raises(CannotOpen):
            sealing.unwrap_key(flip(wrapped, position), private, CONTEXT)


def test_truncated_or_extended_wrapped_key_raises() -> None:
    private, public = sealing.new_keypair()
    wrapped = sealing.wrap_key(sealing.new_data_key(), public, CONTEXT)
    for bad in (b"", wrapped[:1], wrapped[:48], wrapped[:-1], wrapped + b"\x00"):
        with pytest.raises(CannotOpen):
            sealing.unwrap_key(bad, private, CONTEXT)


def test_wrap_rejects_bad_public_keys() -> None:
    with pytest.raises(ValueError):
        sealing.wrap_key(b"k" * 32, b"\x01" * 31, CONTEXT)
    with pytest.raises(ValueError):
        sealing.wrap_key(b"k" * 32, b"\x00" * 32, CONTEXT)  # low-order point


def test_rewrap_forwards_to_another_queue() -> None:
    queue_a_private, queue_a_public = sealing.new_keypair()
    queue_b_private, queue_b_public = sealing.new_keypair()
    secret = sealing.new_data_key()
    wrapped = sealing.wrap_key(secret, queue_a_public, CONTEXT)
    forwarded = sealing.rewrap(wrapped, queue_a_private, queue_b_public, CONTEXT)
    assert sealing.unwrap_key(forwarded, queue_b_private, CONTEXT) == secret
    with pytest.raises(CannotOpen):
        sealing.unwrap_key(forwarded, queue_a_private, CONTEXT)


def test_rewrap_requires_the_holder_key() -> None:
    _, queue_a_public = sealing.new_keypair()
    stranger_private, _ = sealing.new_keypair()
    _, queue_b_public = sealing.new_keypair()
    wrapped = sealing.wrap_key(sealing.new_data_key(), queue_a_public, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.rewrap(wrapped, stranger_private, queue_b_public, CONTEXT)


# --------------------------------------------------------------------------- symmetric sealing


def test_new_data_key_is_random_32_bytes() -> None:
    keys = {sealing.new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(key) == 32 for key in keys)


def test_seal_open_round_trip() -> None:
    key = sealing.new_data_key()
    for plaintext in (b"", b"x", "Ma túy ở hẻm 12".encode(), bytes(range(256)) * 40):
        sealed = sealing.seal(key, plaintext, CONTEXT)
        assert len(sealed) == 1 + 12 + len(plaintext) + 16
        assert sealing.open_sealed(key, sealed, CONTEXT) == plaintext


def test_seal_hides_plaintext_and_is_randomised() -> None:
    key = sealing.new_data_key()
    plaintext = b"the dealer lives at number 7" * 4
    first = sealing.seal(key, plaintext, CONTEXT)
    second = sealing.seal(key, plaintext, CONTEXT)
    assert first != second
    assert b"dealer" not in first


def test_open_sealed_with_another_key_raises() -> None:
    sealed = sealing.seal(sealing.new_data_key(), b"secret", CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.open_sealed(sealing.new_data_key(), sealed, CONTEXT)


def test_open_sealed_with_another_context_raises() -> None:
    key = sealing.new_data_key()
    sealed = sealing.seal(key, b"secret", CONTEXT)
    for context in (b"tip:43:content", b"tip:42:attachment:1", b"", CONTEXT + b" "):
        with pytest.raises(CannotOpen):
            sealing.open_sealed(key, sealed, context)


def test_tampered_sealed_blob_raises_at_every_position() -> None:
    key = sealing.new_data_key()
    sealed = sealing.seal(key, b"a tip about a warehouse", CONTEXT)
    for position in range(len(sealed)):
        with pytest.raises(CannotOpen):
            sealing.open_sealed(key, flip(sealed, position), CONTEXT)


def test_truncated_sealed_blob_raises() -> None:
    key = sealing.new_data_key()
    sealed = sealing.seal(key, b"abc", CONTEXT)
    for bad in (b"", sealed[:1], sealed[:28], sealed[:-1], sealed + b"\x00"):
        with pytest.raises(CannotOpen):
            sealing.open_sealed(key, bad, CONTEXT)


def test_seal_rejects_wrong_key_length() -> None:
    with pytest.raises(ValueError):
        sealing.seal(b"short", b"x", CONTEXT)


# --------------------------------------------------------------------------- boxes


def test_seal_for_each_recipient_can_open() -> None:
    queue_private, queue_public = sealing.new_keypair()
    recovery_private, recovery_public = sealing.new_keypair()
    plaintext = b"tip content " * 100
    box, data_key = sealing.seal_for(
        plaintext, {"queue:12": queue_public, "recovery:1": recovery_public}, CONTEXT
    )
    assert set(box.wraps) == {"queue:12", "recovery:1"}
    assert sealing.open_sealed(data_key, box.ciphertext, CONTEXT) == plaintext
    for label, private in (("queue:12", queue_private), ("recovery:1", recovery_private)):
        assert sealing.open_box(box.ciphertext, box.wraps[label], private, CONTEXT) == plaintext


def test_seal_for_wrong_recipient_or_swapped_wrap_raises() -> None:
    _, queue_public = sealing.new_keypair()
    recovery_private, recovery_public = sealing.new_keypair()
    box, _ = sealing.seal_for(b"x", {"queue": queue_public, "recovery": recovery_public}, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.open_box(box.ciphertext, box.wraps["queue"], recovery_private, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.open_box(box.ciphertext, box.wraps["recovery"], recovery_private, b"tip:1:content")


def test_box_from_another_tip_cannot_be_opened_with_this_wrap() -> None:
    private, public = sealing.new_keypair()
    box_a, _ = sealing.seal_for(b"tip a", {"q": public}, CONTEXT)
    box_b, _ = sealing.seal_for(b"tip b", {"q": public}, CONTEXT)
    with pytest.raises(CannotOpen):
        sealing.open_box(box_b.ciphertext, box_a.wraps["q"], private, CONTEXT)


def test_attachments_reuse_the_data_key_under_their_own_context() -> None:
    private, public = sealing.new_keypair()
    box, data_key = sealing.seal_for(b"content", {"queue:1": public}, CONTEXT)
    attachment = sealing.seal(data_key, b"\xff\xd8jpeg", b"tip:42:attachment:1")
    recovered_key = sealing.unwrap_key(box.wraps["queue:1"], private, CONTEXT)
    assert sealing.open_sealed(recovered_key, attachment, b"tip:42:attachment:1") == b"\xff\xd8jpeg"
    with pytest.raises(CannotOpen):
        sealing.open_sealed(recovered_key, attachment, CONTEXT)


def test_seal_for_refuses_no_recipients() -> None:
    with pytest.raises(ValueError):
        sealing.seal_for(b"x", {}, CONTEXT)


def test_sealed_box_is_frozen() -> None:
    _, public = sealing.new_keypair()
    box, _ = sealing.seal_for(b"x", {"q": public}, CONTEXT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.ciphertext = b""  # type: ignore[misc]


def test_full_hierarchy_officer_to_tip() -> None:
    """Officer password -> officer key -> queue key -> data key -> tip content."""
    officer_private, officer_public = sealing.new_keypair()
    locked_officer = sealing.lock_private_key(officer_private, "officer pw", FAST_TEST_KDF)
    queue_private, queue_public = sealing.new_keypair()
    queue_for_officer = sealing.wrap_key(queue_private, officer_public, b"queue:12:private")
    box, _ = sealing.seal_for(b"tip text", {"queue:12": queue_public}, CONTEXT)

    officer = sealing.unlock_private_key(locked_officer, "officer pw")
    queue = sealing.unwrap_key(queue_for_officer, officer, b"queue:12:private")
    assert sealing.open_box(box.ciphertext, box.wraps["queue:12"], queue, CONTEXT) == b"tip text"


# --------------------------------------------------------------------------- receipts


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def test_example_receipt_is_luhn_valid() -> None:
    assert luhn_ok(RECEIPT)


def test_new_receipts_are_16_luhn_valid_distinct_digits() -> None:
    receipts = [sealing.new_receipt() for _ in range(10_000)]
    assert len(set(receipts)) == len(receipts)
    for receipt in receipts:
        assert len(receipt) == 16
        assert receipt.isascii()
        assert receipt.isdigit()
        assert luhn_ok(receipt)
        assert sealing.parse_receipt(receipt) == receipt
    # every position gets every digit somewhere (the first digit may be 0 as well)
    for position in range(15):
        assert {r[position] for r in receipts} == set("0123456789")


def test_format_receipt() -> None:
    assert sealing.format_receipt(RECEIPT) == "1234 5678 9012 3452"
    with pytest.raises(ValueError):
        sealing.format_receipt("123")
    with pytest.raises(ValueError):
        sealing.format_receipt("１２３４５６７８９０１２３４５２")


@pytest.mark.parametrize(
    "text",
    [
        "1234 5678 9012 3452",
        "1234567890123452",
        "  1234-5678-9012-3452  ",
        "1234.5678.9012.3452",
        "1234 - 5678 - 9012 - 3452",
        "１２３４ ５６７８ ９０１２ ３４５２",  # full-width digits
        "１２３４－５６７８－９０１２－３４５２",  # full-width digits and hyphens
        "1234\u30005678\u30009012\u30003452",  # ideographic spaces
        "1234–5678–9012–3452",  # en dashes
        "1234 5678 9012 3452.",
    ],
)
def test_parse_receipt_accepts_common_spellings(text: str) -> None:
    assert sealing.parse_receipt(text) == RECEIPT


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234 5678 9012 345",  # 15 digits
        "1234 5678 9012 34520",  # 17 digits
        "1234 5678 9012 3453",  # single-digit typo in the check digit
        "1234 5678 9012 3442",  # single-digit typo
        "1234 5678 9021 3452",  # adjacent transposition 1<->2
        "2134 5678 9012 3452",  # adjacent transposition at the start
        "1234 5678 9012 345a",
        "receipt: 1234 5678 9012 3452",
        "1234/5678/9012/3452",
        "1" * 200,
    ],
)
def test_parse_receipt_rejects(text: str) -> None:
    assert sealing.parse_receipt(text) is None


def test_parse_receipt_catches_every_single_digit_typo() -> None:
    for position in range(16):
        for digit in "0123456789":
            if digit == RECEIPT[position]:
                continue
            typo = RECEIPT[:position] + digit + RECEIPT[position + 1 :]
            assert sealing.parse_receipt(typo) is None, typo


def test_parse_receipt_catches_adjacent_transpositions_except_09() -> None:
    checked = 0
    for receipt in [RECEIPT, *(sealing.new_receipt() for _ in range(200))]:
        for position in range(15):
            a, b = receipt[position], receipt[position + 1]
            if a == b or {a, b} == {"0", "9"}:
                continue  # no change, or the one swap Luhn cannot see
            swapped = receipt[:position] + b + a + receipt[position + 2 :]
            assert sealing.parse_receipt(swapped) is None, swapped
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    "text",
    [
        "1234567890123452",
        "my receipt is 1234 5678 9012 3452, please help",
        "1234-5678-9012-3452",
        "mã: １２３４ ５６７８ ９０１２ ３４５２",
        "1234567 890123452",  # irregular grouping
        "9999 1234 5678 9012 3452",  # receipt at the end of a longer grouped number
        "1234 5678 9012 3452 7777",  # receipt at the start of a longer grouped number
        "line one\n1234 5678\n9012 3452\n",
    ],
)
def test_looks_like_receipt_detects(text: str) -> None:
    assert sealing.looks_like_receipt(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no numbers here",
        "call 0912 345 678 after 9pm",
        "1234 5678 9012 3453",  # not Luhn-valid
        "12345678901234520000",  # 20 contiguous digits (not four groups of four)
        "price 1.500.000 dong, 2 kg",
    ],
)
def test_looks_like_receipt_ignores(text: str) -> None:
    assert not sealing.looks_like_receipt(text)


# --------------------------------------------------------------------------- receipt keys


def test_derive_receipt_keys_is_deterministic() -> None:
    first = sealing.derive_receipt_keys(RECEIPT, INSTALL_SALT, FAST_TEST_KDF)
    second = sealing.derive_receipt_keys(RECEIPT, INSTALL_SALT, FAST_TEST_KDF)
    assert first == second
    assert len(first.lookup) == 32
    assert len(first.private) == 32
    assert sealing.public_key_of(first.private) == first.public
    assert first.lookup != first.private


def test_derive_receipt_keys_differs_across_salt_and_receipt() -> None:
    base = sealing.derive_receipt_keys(RECEIPT, INSTALL_SALT, FAST_TEST_KDF)
    other_salt = sealing.derive_receipt_keys(RECEIPT, b"\xff" * 16, FAST_TEST_KDF)
    other_receipt = sealing.derive_receipt_keys(sealing.new_receipt(), INSTALL_SALT, FAST_TEST_KDF)
    for other in (other_salt, other_receipt):
        assert other.lookup != base.lookup
        assert other.private != base.private
        assert other.public != base.public


def test_derive_receipt_keys_depends_on_kdf_params() -> None:
    cheap = sealing.derive_receipt_keys(RECEIPT, INSTALL_SALT, FAST_TEST_KDF)
    other = sealing.derive_receipt_keys(
        RECEIPT, INSTALL_SALT, KdfParams(memory_kib=16, iterations=1, lanes=1)
    )
    assert cheap.lookup != other.lookup


def test_derive_receipt_keys_validates_input() -> None:
    with pytest.raises(ValueError):
        sealing.derive_receipt_keys("1234 5678 9012 3452", INSTALL_SALT, FAST_TEST_KDF)
    with pytest.raises(ValueError):
        sealing.derive_receipt_keys("1234567890123453", INSTALL_SALT, FAST_TEST_KDF)
    with pytest.raises(ValueError):
        sealing.derive_receipt_keys(RECEIPT, b"short", FAST_TEST_KDF)


def test_reporter_can_read_what_was_sealed_for_reporter() -> None:
    receipt = sealing.new_receipt()
    stored = sealing.derive_receipt_keys(receipt, INSTALL_SALT, FAST_TEST_KDF)
    queue_private, queue_public = sealing.new_keypair()
    context = b"tip:42:question:1"
    box, _ = sealing.seal_for(
        b"Which house?", {"reporter": stored.public, "queue:12": queue_public}, context
    )
    # Later the reporter types the receipt back in, formatted and with full-width digits.
    typed = sealing.format_receipt(receipt).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    digits = sealing.parse_receipt(typed)
    assert digits == receipt
    again = sealing.derive_receipt_keys(digits, INSTALL_SALT, FAST_TEST_KDF)
    assert again.lookup == stored.lookup
    assert sealing.open_box(box.ciphertext, box.wraps["reporter"], again.private, context) == (
        b"Which house?"
    )
    # A different receipt cannot read it.
    stranger = sealing.derive_receipt_keys(sealing.new_receipt(), INSTALL_SALT, FAST_TEST_KDF)
    with pytest.raises(CannotOpen):
        sealing.open_box(box.ciphertext, box.wraps["reporter"], stranger.private, context)
    assert sealing.open_box(box.ciphertext, box.wraps["queue:12"], queue_private, context) == (
        b"Which house?"
    )


# --------------------------------------------------------------------------- chat secrets


def test_chat_tag_is_keyed_and_separated() -> None:
    secret = b"s" * 32
    tag = sealing.chat_tag(secret, "123456789", "state")
    assert len(tag) == 32
    assert tag == sealing.chat_tag(secret, "123456789", "state")
    assert tag != sealing.chat_tag(secret, "123456789", "throttle")
    assert tag != sealing.chat_tag(secret, "123456780", "state")
    assert tag != sealing.chat_tag(b"t" * 32, "123456789", "state")
    assert b"123456789" not in tag
    with pytest.raises(ValueError):
        sealing.chat_tag(secret, "1", "a|b")
    with pytest.raises(ValueError):
        sealing.chat_tag(b"short", "1", "state")


def test_chat_state_key_round_trip() -> None:
    secret = b"s" * 32
    key = sealing.chat_state_key(secret, "123456789")
    assert len(key) == 32
    assert key == sealing.chat_state_key(secret, "123456789")
    assert key != sealing.chat_state_key(secret, "987654321")
    assert key != sealing.chat_tag(secret, "123456789", "state")
    draft = sealing.seal(key, b"draft", b"chat-state")
    assert sealing.open_sealed(key, draft, b"chat-state") == b"draft"
    with pytest.raises(CannotOpen):
        sealing.open_sealed(sealing.chat_state_key(secret, "1"), draft, b"chat-state")


# --------------------------------------------------------------------------- recovery export


def test_recovery_export_import_round_trip() -> None:
    private, public = sealing.new_keypair()
    armor = sealing.export_recovery_key(private, "long passphrase", FAST_TEST_KDF, "Hà Nội 2025")
    lines = armor.splitlines()
    assert lines[0] == "-----BEGIN TIPLINE RECOVERY KEY-----"
    assert lines[-1] == "-----END TIPLINE RECOVERY KEY-----"
    assert "Label: Hà Nội 2025" in lines
    assert f"Fingerprint: {sealing.fingerprint(public)}" in lines
    body_lines = lines[lines.index("") + 1 : -1]
    assert all(len(line) <= 64 for line in body_lines)
    assert all(line.isascii() for line in body_lines)
    assert base64.b64encode(private).decode() not in armor
    assert sealing.import_recovery_key(armor, "long passphrase") == private


def test_recovery_import_tolerates_crlf_and_indentation() -> None:
    private, _ = sealing.new_keypair()
    armor = sealing.export_recovery_key(private, "pp", FAST_TEST_KDF, "label")
    mangled = "\n\n" + "\r\n".join("  " + line for line in armor.splitlines()) + "\r\n\n"
    assert sealing.import_recovery_key(mangled, "pp") == private


def test_recovery_import_wrong_passphrase() -> None:
    private, _ = sealing.new_keypair()
    armor = sealing.export_recovery_key(private, "right", FAST_TEST_KDF, "label")
    with pytest.raises(WrongPassword):
        sealing.import_recovery_key(armor, "wrong")


def test_recovery_import_malformed() -> None:
    private, _ = sealing.new_keypair()
    armor = sealing.export_recovery_key(private, "pp", FAST_TEST_KDF, "label")
    lines = armor.splitlines()
    body_index = lines.index("") + 1
    typo = list(lines)
    typo[body_index] = ("B" if typo[body_index][0] != "B" else "C") + typo[body_index][1:]
    other_fp = [
        line if not line.startswith("Fingerprint:") else "Fingerprint: 0000-0000-0000-0000"
        for line in lines
    ]
    cases = [
        "",
        "hello",
        armor.replace("BEGIN", "START"),
        "\n".join(lines[:-1]),
        armor.replace(lines[body_index], lines[body_index][:-1] + "!"),
        "\n".join(typo),
        "\n".join(other_fp),
    ]
    for text in cases:
        with pytest.raises(SealingError) as info:
            sealing.import_recovery_key(text, "pp")
        assert not isinstance(info.value, WrongPassword), text


def test_recovery_export_rejects_multiline_label() -> None:
    private, _ = sealing.new_keypair()
    with pytest.raises(ValueError):
        sealing.export_recovery_key(private, "pp", FAST_TEST_KDF, "a\nFingerprint: x")


# --------------------------------------------------------------------------- key certificates

QUEUE_ROW = (12, 1, 4)  # queue id, province, commune


def test_certificate_round_trip() -> None:
    signing = sealing.new_signing_key()
    trusted = sealing.signing_public_key(signing)
    _, public = sealing.new_keypair()
    certificate = sealing.certify_key(signing, "queue", QUEUE_ROW, public)
    assert len(certificate) == 65
    sealing.verify_certificate(trusted, "queue", QUEUE_ROW, public, certificate)


def test_a_certificate_does_not_cover_another_key_row_or_kind() -> None:
    signing = sealing.new_signing_key()
    trusted = sealing.signing_public_key(signing)
    _, public = sealing.new_keypair()
    _, attacker = sealing.new_keypair()
    certificate = sealing.certify_key(signing, "queue", QUEUE_ROW, public)
    for kind, identity, key in [
        ("queue", QUEUE_ROW, attacker),  # the key swapped, the certificate kept
        ("queue", (13, 1, 4), public),  # moved to another queue
        ("queue", (12, 1, ""), public),  # to the province queue of the same id
        ("queue", (12, 2, 4), public),  # another province
        ("officer", (12, "1"), public),  # another kind with look-alike fields
        ("recovery", (12,), public),
    ]:
        with pytest.raises(sealing.BadCertificate):
            sealing.verify_certificate(trusted, kind, identity, key, certificate)


def test_identity_fields_cannot_be_shifted_into_each_other() -> None:
    signing = sealing.new_signing_key()
    trusted = sealing.signing_public_key(signing)
    _, public = sealing.new_keypair()
    certificate = sealing.certify_key(signing, "officer", (1, "2canbo"), public)
    with pytest.raises(sealing.BadCertificate):
        sealing.verify_certificate(trusted, "officer", (12, "canbo"), public, certificate)


def test_a_certificate_by_another_signing_key_or_tampered_fails() -> None:
    signing = sealing.new_signing_key()
    trusted = sealing.signing_public_key(signing)
    forger = sealing.new_signing_key()
    _, public = sealing.new_keypair()
    forged = sealing.certify_key(forger, "recovery", (1,), public)
    with pytest.raises(sealing.BadCertificate):
        sealing.verify_certificate(trusted, "recovery", (1,), public, forged)
    good = sealing.certify_key(signing, "recovery", (1,), public)
    for broken in (None, b"", good[:-1], flip(good, 0), flip(good, 1), flip(good, 64)):
        with pytest.raises(sealing.BadCertificate):
            sealing.verify_certificate(trusted, "recovery", (1,), public, broken)


def test_certify_refuses_unknown_kinds() -> None:
    _, public = sealing.new_keypair()
    with pytest.raises(ValueError):
        sealing.certify_key(sealing.new_signing_key(), "api-token", (1,), public)


def test_signing_key_file_and_printed_form_round_trip() -> None:
    signing = sealing.new_signing_key()
    public = sealing.signing_public_key(signing)
    pem = sealing.export_signing_key(signing)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert sealing.import_signing_key(pem) == signing
    printed = sealing.format_signing_key(public)
    assert printed.startswith("ed25519:")
    assert sealing.parse_signing_key(f"  {printed}\n") == public
    assert sealing.signing_key_fingerprint(public) == sealing.fingerprint(public)


def test_malformed_signing_keys_are_refused() -> None:
    for text in ("", "ed25519:", "ed25519:!!!", "x25519:" + "A" * 44, "ed25519:" + "AAAA"):
        with pytest.raises(SealingError):
            sealing.parse_signing_key(text)
    with pytest.raises(SealingError):
        sealing.import_signing_key(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519

    other = x25519.X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(SealingError):
        sealing.import_signing_key(other)
