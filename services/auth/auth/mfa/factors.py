"""What second factors a user has enrolled, in one query (sign-in reads it every time)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from shared.models import Application, PasskeyCredential, RecoveryCode, TotpFactor

TOTP, PASSKEY, RECOVERY_CODE, OTP = "totp", "passkey", "recovery_code", "otp"


@dataclass(frozen=True)
class Enrolled:
    totp: bool
    passkeys: int
    recovery_codes: int  # unused ones
    application_requires_mfa: bool = False

    @property
    def strong(self) -> bool:
        """An authenticator the user chose to set up: from then on it is asked for."""
        return self.totp or self.passkeys > 0

    @property
    def methods(self) -> tuple[str, ...]:
        """What may complete a second step, strongest first (OTP is the policy's to add)."""
        found = []
        if self.passkeys:
            found.append(PASSKEY)
        if self.totp:
            found.append(TOTP)
        if self.recovery_codes:
            found.append(RECOVERY_CODE)
        return tuple(found)


_USER: BindParameter[uuid.UUID] = bindparam("user_id")
_ENROLLED = select(
    exists().where(TotpFactor.user_id == _USER, TotpFactor.confirmed_at.is_not(None)),
    select(func.count())
    .select_from(PasskeyCredential)
    .where(PasskeyCredential.user_id == _USER)
    .scalar_subquery(),
    select(func.count())
    .select_from(RecoveryCode)
    .where(RecoveryCode.user_id == _USER, RecoveryCode.used_at.is_(None))
    .scalar_subquery(),
    select(Application.require_mfa)
    .where(Application.id == bindparam("application_id"))
    .scalar_subquery(),
)


def enrolled(
    session: Session, user_id: uuid.UUID, application_id: uuid.UUID | None = None
) -> Enrolled:
    """The user's factors and, for an application, whether it requires a second factor."""
    row = session.execute(_ENROLLED, {"user_id": user_id, "application_id": application_id}).one()
    return Enrolled(bool(row[0]), int(row[1] or 0), int(row[2] or 0), bool(row[3]))


def enrolled_methods(session: Session, user_ids: Sequence[uuid.UUID]) -> dict[str, list[str]]:
    """Each user's enrolled methods, for the console's directory (three grouped queries)."""
    found: dict[str, set[str]] = {str(u): set() for u in user_ids}
    totp = select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(user_ids), TotpFactor.confirmed_at.is_not(None)
    )
    passkeys = select(PasskeyCredential.user_id).where(PasskeyCredential.user_id.in_(user_ids))
    codes = select(RecoveryCode.user_id).where(
        RecoveryCode.user_id.in_(user_ids), RecoveryCode.used_at.is_(None)
    )
    for method, query in ((TOTP, totp), (PASSKEY, passkeys), (RECOVERY_CODE, codes)):
        for user_id in session.scalars(query.distinct()):
            found[str(user_id)].add(method)
    order = (PASSKEY, TOTP, RECOVERY_CODE)
    return {user: [m for m in order if m in methods] for user, methods in found.items()}
