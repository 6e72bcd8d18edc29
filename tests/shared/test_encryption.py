"""Encryption at rest (SecretBox): round trip, key rotation, keyed hashes."""

from __future__ import annotations

import pytest

from shared.security.encryption import SecretBox

OLD_KEY = "old-master-key-" + "o" * 32
NEW_KEY = "new-master-key-" + "n" * 32


def test_round_trip() -> None:
    box = SecretBox([NEW_KEY])
    for plaintext in ["twilio-auth-token", "", "ünïcødé ✓", "x" * 10_000]:
        assert box.decrypt(box.encrypt(plaintext)) == plaintext


def test_ciphertext_differs_every_time_and_hides_the_plaintext() -> None:
    box = SecretBox([NEW_KEY])
    first, second = box.encrypt("twilio-auth-token"), box.encrypt("twilio-auth-token")
    assert first != second
    assert "twilio" not in first


def test_rotation_decrypts_old_values_and_encrypts_with_the_new_key() -> None:
    old_ciphertext = SecretBox([OLD_KEY]).encrypt("smtp-password")
    rotated = SecretBox([NEW_KEY, OLD_KEY])
    assert rotated.decrypt(old_ciphertext) == "smtp-password"
    # New values are sealed under the first key only: the new key alone opens them.
    fresh = rotated.encrypt("smtp-password")
    assert SecretBox([NEW_KEY]).decrypt(fresh) == "smtp-password"
    with pytest.raises(ValueError, match="cannot decrypt"):
        SecretBox([OLD_KEY]).decrypt(fresh)


def test_wrong_key_is_a_value_error() -> None:
    ciphertext = SecretBox([OLD_KEY]).encrypt("smtp-password")
    with pytest.raises(ValueError, match="cannot decrypt"):
        SecretBox([NEW_KEY]).decrypt(ciphertext)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "gAAAAAB" + "A" * 80])
def test_corrupted_value_is_a_value_error(garbage: str) -> None:
    with pytest.raises(ValueError, match="cannot decrypt"):
        SecretBox([NEW_KEY]).decrypt(garbage)


def test_tampered_ciphertext_is_a_value_error() -> None:
    box = SecretBox([NEW_KEY])
    ciphertext = box.encrypt("smtp-password")
    flipped = ciphertext[:-6] + ("A" if ciphertext[-6] != "A" else "B") + ciphertext[-5:]
    with pytest.raises(ValueError, match="cannot decrypt"):
        box.decrypt(flipped)


def test_no_master_key_is_refused() -> None:
    with pytest.raises(ValueError, match="master key"):
        SecretBox([])


def test_keyed_hash_is_stable_and_depends_on_the_key() -> None:
    box = SecretBox([NEW_KEY])
    digest = box.keyed_hash("123456")
    assert digest == SecretBox([NEW_KEY]).keyed_hash("123456")
    assert len(digest) == 64
    assert digest != box.keyed_hash("123457")
    assert digest != SecretBox([OLD_KEY]).keyed_hash("123456")
    # The HMAC key is derived, not the master key itself, and the value is not exposed.
    assert "123456" not in digest


def test_keyed_hash_uses_the_current_key_only() -> None:
    assert SecretBox([NEW_KEY, OLD_KEY]).keyed_hash("123456") == SecretBox([NEW_KEY]).keyed_hash(
        "123456"
    )
