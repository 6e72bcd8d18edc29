"""Token signing keys: asymmetric JWKs, their life cycle, and the set relying parties fetch.

Each algorithm (RS256, ES256, EdDSA) has, in `signing_key`:
- a *next* key (`activated_at` NULL): published in the JWKS before it signs
  anything, so a relying party that cached the set already has it when it starts;
- a *current* key (activated, not retired): signs every new token of that algorithm;
- *previous* keys (retired, `verify_until` in the future): still published and
  verifying, until the last token they signed has expired.

Private keys are stored only encrypted (PKCS#8 PEM sealed with the SecretBox);
only the auth service opens them. Every other service verifies with the public
JWK alone. Keys made before asymmetric signing (HS256 platform secrets) stay
in the table, retired, and verify the tokens they signed until `verify_until`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeyParameters, OKPKey, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import SigningKey
from shared.models.base import utcnow
from shared.security.encryption import SecretBox
from shared.settings import ACCESS_TOKEN_TTL_MAX_SECONDS

RS256, ES256, EDDSA = "RS256", "ES256", "EdDSA"
ALGORITHMS = (RS256, ES256, EDDSA)
DEFAULT_ALGORITHM = RS256  # the one every relying party accepts
LEGACY_ALGORITHM = "HS256"  # platform secrets from before asymmetric keys: verify only
# A retired key verifies this long by default: longer than any token it can have signed,
# whatever the lifetime setting was when it signed them.
DEFAULT_OVERLAP = timedelta(seconds=ACCESS_TOKEN_TTL_MAX_SECONDS + 60)


def _generate(alg: str, kid: str) -> RSAKey | ECKey | OKPKey:
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == RS256:
        return RSAKey.generate_key(2048, parameters=parameters)
    if alg == ES256:
        return ECKey.generate_key("P-256", parameters=parameters)
    if alg == EDDSA:
        return OKPKey.generate_key("Ed25519", parameters=parameters)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def new_signing_key(alg: str, box: SecretBox, *, activated_at: datetime | None) -> SigningKey:
    """A fresh key pair: the private half sealed, the public half as a JWK."""
    kid = secrets.token_hex(8)
    key = _generate(alg, kid)
    pem = key.as_pem(private=True).decode()
    return SigningKey(
        kid=kid,
        alg=alg,
        secret_encrypted=box.encrypt(pem),
        public_jwk=key.as_dict(private=False),
        created_at=utcnow(),
        activated_at=activated_at,
    )


def ensure_signing_keys(session: Session, box: SecretBox) -> list[str]:
    """A current and a next key for every algorithm (auth start-up); the kids made.

    Two replicas starting at once may both make one: harmless, since every
    published key verifies and the newest current key signs.
    """
    rows = session.scalars(
        select(SigningKey).where(SigningKey.retired_at.is_(None), SigningKey.alg.in_(ALGORITHMS))
    ).all()
    made = []
    now = utcnow()
    for alg in ALGORITHMS:
        mine = [r for r in rows if r.alg == alg]
        if not any(r.activated_at is not None for r in mine):
            made.append(new_signing_key(alg, box, activated_at=now))
        if not any(r.activated_at is None for r in mine):
            made.append(new_signing_key(alg, box, activated_at=None))
    session.add_all(made)
    session.commit()
    return [key.kid for key in made]


def is_published(key: SigningKey, now: datetime) -> bool:
    """In the JWKS: an asymmetric key that is next, current, or still verifying."""
    if key.public_jwk is None:
        return False
    return key.verify_until is None or key.verify_until > now


def jwks_document(keys: list[SigningKey], now: datetime | None = None) -> dict[str, Any]:
    """The JSON Web Key Set relying parties verify tokens with (public halves only)."""
    moment = now or utcnow()
    published = sorted(
        (k for k in keys if is_published(k, moment)), key=lambda k: (k.alg, k.created_at)
    )
    return {"keys": [dict(k.public_jwk or {}) for k in published]}


@dataclass(frozen=True)
class KeyState:
    """One row as the console and the admin API describe it."""

    kid: str
    alg: str
    state: str  # next, current, previous
    created_at: datetime
    activated_at: datetime | None
    verify_until: datetime | None


def describe(key: SigningKey) -> KeyState:
    if key.activated_at is None:
        state = "next"
    elif key.retired_at is None:
        state = "current"
    else:
        state = "previous"
    return KeyState(key.kid, key.alg, state, key.created_at, key.activated_at, key.verify_until)
