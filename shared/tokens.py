"""Signing and verifying access tokens (HS256 JWT with `kid`) with the platform token secret.

Secrets live encrypted in `signing_key`. The newest un-retired key signs;
every key not past `verify_until` verifies, which gives rotation its overlap
window. Keys are cached per process and reloaded on a `signing_keys`
invalidation, so a rotation reaches every replica within a second.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import Unauthorized
from shared.invalidation import InvalidationBus, Topic
from shared.models import SigningKey
from shared.models.base import utcnow
from shared.security.encryption import SecretBox

ALGORITHM = "HS256"
CONSOLE_AUDIENCE = "console"
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


def ensure_signing_key(session: Session, box: SecretBox) -> None:
    """Create the first platform token secret if none exists (auth service start-up)."""
    if session.scalar(select(SigningKey.kid).limit(1)) is not None:
        return
    session.add(
        SigningKey(
            kid=secrets.token_hex(8), secret_encrypted=box.encrypt(secrets.token_urlsafe(48))
        )
    )
    try:
        session.commit()
    except IntegrityError:  # another replica won the race; its key is as good
        session.rollback()


def rotate_signing_key(session: Session, box: SecretBox, overlap: timedelta) -> str:
    """New signing secret; the previous ones keep verifying for `overlap`."""
    now = utcnow()
    for key in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
        key.verify_until = now + overlap
    kid = secrets.token_hex(8)
    session.add(SigningKey(kid=kid, secret_encrypted=box.encrypt(secrets.token_urlsafe(48))))
    session.flush()
    return kid


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
        self._signing: tuple[str, str] | None = None
        self._verifying: dict[str, tuple[str, float | None]] = {}
        bus.subscribe(Topic.SIGNING_KEYS, self.reset)

    def reset(self) -> None:
        self._loaded_at = 0.0

    def _keys(self) -> tuple[tuple[str, str] | None, dict[str, tuple[str, float | None]]]:
        if time.monotonic() - self._loaded_at < self._reload_seconds:
            return self._signing, self._verifying
        with self._lock, self._session_factory() as session:
            rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
            now = utcnow()
            verifying: dict[str, tuple[str, float | None]] = {}
            signing: tuple[str, str] | None = None
            for row in rows:
                if row.verify_until is not None and row.verify_until <= now:
                    continue
                secret = self._box.decrypt(row.secret_encrypted)
                until = row.verify_until.timestamp() if row.verify_until else None
                verifying[row.kid] = (secret, until)
                if row.retired_at is None:
                    signing = (row.kid, secret)
            self._signing, self._verifying = signing, verifying
            self._loaded_at = time.monotonic()
        return self._signing, self._verifying

    def mint(
        self,
        *,
        subject: str,
        audience: str,
        ttl_seconds: int,
        session_id: str | None = None,
        token_type: str = "access",
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        signing, _ = self._keys()
        if signing is None:
            raise RuntimeError("no platform token secret; the auth service creates one at start")
        kid, secret = signing
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
        token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid})
        return token, claims

    def verify(self, token: str, *, audience: str, token_type: str = "access") -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        # Pinning the algorithm here, not trusting the header, rules out `none` and confusion.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken()
        _, verifying = self._keys()
        entry = verifying.get(str(header.get("kid", "")))
        if entry is None and time.monotonic() - self._loaded_at > FORCED_RELOAD_SECONDS:
            # A replica may have rotated just now; at most one forced reload a second,
            # so a flood of tokens with made-up kids cannot turn into a flood of queries.
            self.reset()
            _, verifying = self._keys()
            entry = verifying.get(str(header.get("kid", "")))
        if entry is None or (entry[1] is not None and entry[1] <= time.time()):
            raise InvalidToken()
        try:
            claims = jwt.decode(
                token,
                entry[0],
                algorithms=[ALGORITHM],
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
