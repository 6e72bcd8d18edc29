"""Passkeys (WebAuthn, the maintained `webauthn` package): registration and sign-in ceremonies.

The relying party is the provider itself: its RP ID is the issuer's host name
and the only origin accepted is the issuer's, so a page on any other site
(or a look-alike host) cannot use a response. Attestation is `none` (no
vendor lists to keep), user verification preferred; a passkey used as the
first and only factor must have verified the user (PIN or biometrics).

Each ceremony's challenge is random, kept in Redis for `CEREMONY_SECONDS`
under the page's own binding (the sign-in flow or the account session) and
taken once. The signature counter must move forward: an authenticator whose
counter goes back (or stays) is refused as a possible clone
(`CounterWentBack`, audited by the caller). Authenticators that keep no
counter (synced passkeys send 0 every time) are left alone.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from shared.errors import Conflict, Unauthorized, Unprocessable
from shared.models import PasskeyCredential, UserAccount
from shared.models.base import new_id, utcnow
from shared.runtime import Runtime

CEREMONY_SECONDS = 300
MAX_CREDENTIAL_JSON = 8192
MAX_PASSKEYS = 20


class PasskeyRefused(Unauthorized):
    code = "passkey_refused"
    message = "The passkey could not be verified. Try again, or use another way to sign in."


class CounterWentBack(PasskeyRefused):
    """A valid signature with a counter not above the stored one: perhaps a copied key."""

    message = (
        "This passkey was refused: its counter went back, which can mean it was copied. "
        "Use another way to sign in and tell your administrator."
    )

    def __init__(self, credential: PasskeyCredential, reported: int) -> None:
        super().__init__()
        self.credential, self.reported = credential, reported


class PasskeyNotRegistered(Unprocessable):
    code = "passkey_invalid"
    message = "The passkey could not be registered. Try again."


class PasskeyExists(Conflict):
    code = "passkey_exists"
    message = "This passkey is already registered."


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party(runtime: Runtime, name: str) -> RelyingParty:
    parts = urlsplit(runtime.tokens.issuer)
    return RelyingParty(parts.hostname or "localhost", f"{parts.scheme}://{parts.netloc}", name)


class Ceremonies:
    """One pending challenge per (binding, purpose): a new one replaces it, taking it ends it."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _key(self, binding: str, purpose: str) -> str:
        digest = self._runtime.box.keyed_hash(f"passkey-ceremony:{binding}")
        return self._runtime.keys("auth", "passkey", purpose, digest)

    def keep(self, binding: str, purpose: str, challenge: bytes) -> None:
        self._runtime.redis.set(
            self._key(binding, purpose), bytes_to_base64url(challenge), ex=CEREMONY_SECONDS
        )

    def take(self, binding: str, purpose: str) -> bytes | None:
        raw = self._runtime.redis.getdel(self._key(binding, purpose))
        if raw is None:
            return None
        return base64url_to_bytes(raw.decode() if isinstance(raw, bytes) else str(raw))


def _descriptors(rows: list[PasskeyCredential]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(r.credential_id)) for r in rows]


def user_passkeys(session: Session, user_id: uuid.UUID) -> list[PasskeyCredential]:
    return list(
        session.scalars(
            select(PasskeyCredential)
            .where(PasskeyCredential.user_id == user_id)
            .order_by(PasskeyCredential.created_at)
        )
    )


def registration_options(
    session: Session, rp: RelyingParty, user: UserAccount
) -> tuple[str, bytes]:
    """The options for `navigator.credentials.create()` (JSON) and their challenge."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.id.bytes,  # the user handle a discoverable passkey returns at sign-in
        user_name=user.email or user.mobile_number or user.name,
        user_display_name=user.name,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(user_passkeys(session, user.id)),
    )
    return options_to_json(options), options.challenge


def _parsed(credential: str) -> dict[str, Any]:
    if len(credential) > MAX_CREDENTIAL_JSON:
        raise ValueError("credential too large")
    value = orjson.loads(credential)
    if not isinstance(value, dict):
        raise ValueError("credential is not an object")
    return value


def register(
    session: Session,
    rp: RelyingParty,
    user: UserAccount,
    challenge: bytes,
    credential: str,
    name: str,
) -> PasskeyCredential:
    """Check a `create()` response against the challenge, origin and RP ID; store the key."""
    if len(user_passkeys(session, user.id)) >= MAX_PASSKEYS:
        raise PasskeyNotRegistered(f"At most {MAX_PASSKEYS} passkeys per user.")
    try:
        body = _parsed(credential)
        verified = verify_registration_response(
            credential=body,
            expected_challenge=challenge,
            expected_origin=rp.origin,
            expected_rp_id=rp.id,
            require_user_verification=False,
        )
    except Exception as exc:  # malformed JSON, CBOR or keys: all the same to the user
        raise PasskeyNotRegistered() from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(
        select(PasskeyCredential.id).where(PasskeyCredential.credential_id == credential_id)
    ):
        raise PasskeyExists()
    transports = body.get("response", {}).get("transports") or []
    row = PasskeyCredential(
        id=new_id(),
        user_id=user.id,
        credential_id=credential_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=[str(t)[:16] for t in transports if isinstance(t, str)][:8],
        name=(name.strip() or "Passkey")[:64],
        is_backed_up=verified.credential_backed_up,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def authentication_options(
    session: Session, rp: RelyingParty, user_id: uuid.UUID | None
) -> tuple[str, bytes]:
    """Options for `navigator.credentials.get()`: the user's passkeys, or (no user yet:
    passwordless) any discoverable passkey for this RP."""
    allowed = _descriptors(user_passkeys(session, user_id)) if user_id else []
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def authenticate(
    session: Session,
    rp: RelyingParty,
    challenge: bytes,
    credential: str,
    *,
    user_id: uuid.UUID | None,
    require_user_verification: bool,
) -> PasskeyCredential:
    """The stored passkey a `get()` response proves (for `user_id`, when the user is known)."""
    try:
        body = _parsed(credential)
        credential_id = str(body["id"])
        handle = (body.get("response") or {}).get("userHandle")
    except Exception as exc:
        raise PasskeyRefused() from exc
    row = session.scalar(
        select(PasskeyCredential)
        .where(PasskeyCredential.credential_id == credential_id[:512])
        .with_for_update()
    )
    if row is None or (user_id is not None and row.user_id != user_id):
        raise PasskeyRefused()
    if handle and _handle_bytes(handle) != row.user_id.bytes:
        raise PasskeyRefused()
    try:
        verified = verify_authentication_response(
            credential=body,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(row.public_key),
            # The counter is judged below, after the signature: only a genuine response
            # with a stale counter says "clone".
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except Exception as exc:
        raise PasskeyRefused() from exc
    reported = verified.new_sign_count
    if (reported > 0 or row.sign_count > 0) and reported <= row.sign_count:
        raise CounterWentBack(row, reported)
    row.sign_count = reported
    row.is_backed_up = verified.credential_backed_up
    row.last_used_at = utcnow()
    return row


def _handle_bytes(handle: Any) -> bytes:
    text = str(handle)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return b""


def rename(session: Session, user_id: uuid.UUID, passkey_id: uuid.UUID, name: str) -> bool:
    row = session.get(PasskeyCredential, passkey_id)
    if row is None or row.user_id != user_id:
        return False
    row.name = (name.strip() or row.name)[:64]
    return True


def remove(session: Session, user_id: uuid.UUID, passkey_id: uuid.UUID) -> PasskeyCredential | None:
    row = session.get(PasskeyCredential, passkey_id)
    if row is None or row.user_id != user_id:
        return None
    session.delete(row)
    session.flush()
    return row
