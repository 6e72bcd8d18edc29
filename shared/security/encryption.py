"""Encryption at rest for provider credentials and signing secrets (Fernet, rotatable)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(master: str, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"identity-services", info=purpose
    ).derive(master.encode())


class SecretBox:
    """Encrypts with the first master key; decrypts with any (key rotation)."""

    def __init__(self, master_keys: list[str]) -> None:
        if not master_keys:
            raise ValueError("at least one master key is required")
        self._fernet = MultiFernet(
            [
                Fernet(base64.urlsafe_b64encode(_derive(k, b"encryption-at-rest")))
                for k in master_keys
            ]
        )
        self._mac_key = _derive(master_keys[0], b"keyed-hash")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: wrong key or corrupted value") from exc

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 under a derived key (OTP codes, recovery tokens)."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()
