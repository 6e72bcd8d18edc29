"""Signing and verifying access tokens: JWTs signed with the asymmetric keys of `signing_key`.

The current key of an algorithm signs (RS256 unless the application chose
ES256 or EdDSA); every published key verifies, and so do the HS256 platform
secrets of before the upgrade until their `verify_until`. The algorithm is
the key's own, looked up by `kid`: the token's header never chooses it, which
rules out `none` and HS/RS confusion. Keys are cached per process and
reloaded on a `signing_keys` invalidation, so a rotation reaches every
replica within a second (and within the bus's resync if that message is lost).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import Unauthorized
from shared.invalidation import InvalidationBus, Topic
from shared.models import SigningKey
from shared.models.base import utcnow
from shared.security.encryption import SecretBox
from shared.signing_keys import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    EDDSA,
    ES256,
    LEGACY_ALGORITHM,
    RS256,
)

CONSOLE_AUDIENCE = "console"
JWK_TYPES: dict[str, Any] = {RS256: RSAKey, ES256: ECKey, EDDSA: OKPKey}
FORCED_RELOAD_SECONDS = 1.0


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = "The access token is invalid."


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "The access token has expired."


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    audience: str
    session_id: str | None
    token_id: str
    expires_at: int
    claims: dict[str, Any]


@dataclass(frozen=True)
class _VerifyingKey:
    alg: str
    key: Any  # a public key object, or the HS256 secret
    until: float | None


@dataclass(frozen=True)
class SigningMaterial:
    """The current key of one algorithm, private half opened (the auth service only)."""

    kid: str
    alg: str
    # Both loaded once: parsing an RSA key's PEM costs about 30 ms, a hundred signatures.
    private_key: Any  # for PyJWT (access tokens)
    jwk: Any  # the same key for joserfc (Authlib's ID tokens)


class TokenService:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        box: SecretBox,
        bus: InvalidationBus,
        issuer: str,
        reload_seconds: float = 60.0,
    ) -> None:
        self._session_factory = session_factory
        self._box = box
        self._issuer = issuer
        self._reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._verifying: dict[str, _VerifyingKey] = {}
        self._signing_loaded_at = 0.0
        self._signing: dict[str, SigningMaterial] = {}
        bus.subscribe(Topic.SIGNING_KEYS, self.reset)

    @property
    def issuer(self) -> str:
        return self._issuer

    def reset(self) -> None:
        self._loaded_at = 0.0
        self._signing_loaded_at = 0.0

    def _verifying_keys(self) -> dict[str, _VerifyingKey]:
        if time.monotonic() - self._loaded_at < self._reload_seconds:
            return self._verifying
        with self._lock, self._session_factory() as session:
            now = utcnow()
            verifying: dict[str, _VerifyingKey] = {}
            for row in session.scalars(select(SigningKey)):
                if row.verify_until is not None and row.verify_until <= now:
                    continue
                until = row.verify_until.timestamp() if row.verify_until else None
                known = self._verifying.get(row.kid)
                if known is not None:  # a kid's key never changes: parsed once
                    verifying[row.kid] = _VerifyingKey(known.alg, known.key, until)
                elif row.alg == LEGACY_ALGORITHM:
                    secret = self._box.decrypt(row.secret_encrypted)
                    verifying[row.kid] = _VerifyingKey(row.alg, secret, until)
                elif row.alg in ALGORITHMS and row.public_jwk:
                    public = jwt.PyJWK(row.public_jwk, algorithm=row.alg).key
                    verifying[row.kid] = _VerifyingKey(row.alg, public, until)
            self._verifying = verifying
            self._loaded_at = time.monotonic()
        return self._verifying

    def signing_key(self, alg: str = DEFAULT_ALGORITHM) -> SigningMaterial:
        """The current key of `alg`; RuntimeError when the auth service has made none yet."""
        if time.monotonic() - self._signing_loaded_at >= self._reload_seconds:
            with self._lock, self._session_factory() as session:
                rows = session.scalars(
                    select(SigningKey)
                    .where(
                        SigningKey.activated_at.is_not(None),
                        SigningKey.retired_at.is_(None),
                        SigningKey.alg.in_(ALGORITHMS),
                    )
                    .order_by(SigningKey.activated_at)
                ).all()
                # The newest current key of each algorithm signs; a kid already open is
                # not decrypted and parsed again.
                opened = {m.kid: m for m in self._signing.values()}
                self._signing = {row.alg: opened.get(row.kid) or self._open(row) for row in rows}
                self._signing_loaded_at = time.monotonic()
        material = self._signing.get(alg)
        if material is None:
            raise RuntimeError(f"no current {alg} signing key; the auth service creates one")
        return material

    def _open(self, row: SigningKey) -> SigningMaterial:
        pem = self._box.decrypt(row.secret_encrypted)
        private_key = serialization.load_pem_private_key(pem.encode(), password=None)
        jwk = JWK_TYPES[row.alg].import_key(private_key, {"kid": row.kid, "alg": row.alg})
        return SigningMaterial(row.kid, row.alg, private_key, jwk)

    def sign(self, claims: dict[str, Any], alg: str = DEFAULT_ALGORITHM) -> str:
        """Any JWT this service issues (access and ID tokens), with `kid` in its header."""
        material = self.signing_key(alg)
        return jwt.encode(
            claims, material.private_key, algorithm=material.alg, headers={"kid": material.kid}
        )

    def mint(
        self,
        *,
        subject: str,
        audience: str,
        ttl_seconds: int,
        session_id: str | None = None,
        token_type: str = "access",
        extra: dict[str, Any] | None = None,
        alg: str = DEFAULT_ALGORITHM,
    ) -> tuple[str, dict[str, Any]]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "typ": token_type,
            **({"sid": session_id} if session_id else {}),
            **(extra or {}),
        }
        return self.sign(claims, alg), claims

    def _key_for(self, kid: str) -> _VerifyingKey | None:
        entry = self._verifying_keys().get(kid)
        if entry is None and time.monotonic() - self._loaded_at > FORCED_RELOAD_SECONDS:
            # A replica may have rotated just now; at most one forced reload a second,
            # so a flood of tokens with made-up kids cannot turn into a flood of queries.
            self._loaded_at = 0.0
            entry = self._verifying_keys().get(kid)
        return entry

    def verify(self, token: str, *, audience: str, token_type: str = "access") -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        entry = self._key_for(str(header.get("kid", "")))
        if entry is None or (entry.until is not None and entry.until <= time.time()):
            raise InvalidToken()
        # The key decides the algorithm; a header naming another one (`none`, HS256 over
        # an RSA key's public half) is refused before any signature check.
        if header.get("alg") != entry.alg:
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                entry.key,
                algorithms=[entry.alg],
                audience=audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if claims.get("typ") != token_type:
            raise InvalidToken()
        return VerifiedToken(
            subject=str(claims["sub"]),
            audience=audience,
            session_id=claims.get("sid"),
            token_id=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            claims=claims,
        )
