"""Authenticator apps (RFC 6238 TOTP): enrolment with a QR code, and checking a code once.

The secret is stored encrypted (`SecretBox`). A code is accepted for the
current 30-second step or one step either side (a phone's clock a little off),
and only for a step newer than the last one accepted (`last_step`), so a code
seen over a shoulder or replayed by a proxy is refused inside its own window.
The row is locked while a code is checked, so two requests racing with one
code cannot both pass.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import Conflict
from shared.models import TotpFactor, UserAccount
from shared.models.base import utcnow
from shared.runtime import Runtime

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1


class TotpAlreadyEnrolled(Conflict):
    code = "totp_exists"
    message = "An authenticator app is already set up; remove it before adding another."


@dataclass(frozen=True)
class PendingTotp:
    """An enrolment waiting for its first code: what the user scans or types."""

    secret: str
    uri: str

    @property
    def qr_data_uri(self) -> str:
        # Rendered here (segno), never by a web service: the secret stays on this host.
        return str(segno.make(self.uri, error="m").svg_data_uri(scale=5, border=2))

    @property
    def grouped_secret(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def current_step(now: float | None = None) -> int:
    return int(time.time() if now is None else now) // STEP_SECONDS


def _locked(session: Session, user_id: uuid.UUID) -> TotpFactor | None:
    query = select(TotpFactor).where(TotpFactor.user_id == user_id).with_for_update()
    return session.scalar(query)


def start_enrolment(
    session: Session, runtime: Runtime, user: UserAccount, issuer: str
) -> PendingTotp:
    """A new secret for the user (replacing one never confirmed)."""
    row = _locked(session, user.id)
    if row is not None and row.confirmed_at is not None:
        raise TotpAlreadyEnrolled()
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    if row is None:
        row = TotpFactor(user_id=user.id)
        session.add(row)
    row.secret_encrypted = runtime.box.encrypt(secret)
    row.last_step = 0
    row.created_at = utcnow()
    row.confirmed_at = None
    row.last_used_at = None
    session.flush()
    account = user.email or user.mobile_number or user.name
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )
    return PendingTotp(secret, uri)


def pending_enrolment(
    session: Session, runtime: Runtime, user: UserAccount, issuer: str
) -> PendingTotp | None:
    """The unconfirmed enrolment shown again (a page reload), if there is one."""
    row = session.get(TotpFactor, user.id)
    if row is None or row.confirmed_at is not None:
        return None
    secret = runtime.box.decrypt(row.secret_encrypted)
    account = user.email or user.mobile_number or user.name
    uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
    return PendingTotp(secret, uri)


def confirm_enrolment(session: Session, runtime: Runtime, user_id: uuid.UUID, code: str) -> bool:
    """The first right code makes the authenticator count; False: wrong code (or none pending)."""
    row = _locked(session, user_id)
    if row is None or row.confirmed_at is not None or not _accept(runtime, row, code):
        return False
    row.confirmed_at = row.last_used_at
    return True


def check_code(session: Session, runtime: Runtime, user_id: uuid.UUID, code: str) -> bool:
    """Whether `code` is right now, for the first time, for the user's confirmed authenticator."""
    row = _locked(session, user_id)
    if row is None or row.confirmed_at is None:
        return False
    return _accept(runtime, row, code)


def _accept(runtime: Runtime, row: TotpFactor, code: str) -> bool:
    code = code.replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return False
    totp = pyotp.TOTP(runtime.box.decrypt(row.secret_encrypted), digits=DIGITS)
    now = current_step()
    matched = None
    # Every candidate compared in constant time, and all of them: no early exit to time.
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            matched = step
    if matched is None or matched <= row.last_step:
        return False
    row.last_step = matched
    row.last_used_at = utcnow()
    return True


def remove(session: Session, user_id: uuid.UUID) -> bool:
    row = _locked(session, user_id)
    if row is None:
        return False
    confirmed = row.confirmed_at is not None
    session.delete(row)
    session.flush()
    return confirmed
