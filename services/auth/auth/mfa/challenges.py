"""The REST API's pending second step: `mfa_challenge_id`, from `/auth/login` to `/auth/mfa/verify`.

Kept in Redis for `CHALLENGE_SECONDS` under a digest of its id, bound to the
audience (application) it was issued for, and ended by the first request
that completes it. Wrong codes do not end it: they count towards the
account's lockout, which ends the guessing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass

import orjson

from auth.context import SignInContext
from auth.mfa.policy import SecondStep
from shared.models import UserAccount
from shared.runtime import Runtime

CHALLENGE_SECONDS = 300


@dataclass(frozen=True)
class MfaChallenge:
    id: str
    user_id: str
    audience: str
    first: str
    methods: tuple[str, ...]
    login_kind: str | None  # the login typed first: an OTP goes to its channel


class MfaChallenges:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _key(self, challenge_id: str) -> str:
        digest = hashlib.sha256(challenge_id.encode()).hexdigest()
        return self._runtime.keys("auth", "mfa", "challenge", digest)

    def start(
        self, ctx: SignInContext, user: UserAccount, step: SecondStep, login_kind: str | None
    ) -> MfaChallenge:
        challenge = MfaChallenge(
            secrets.token_urlsafe(24),
            str(user.id),
            ctx.audience,
            step.first,
            step.methods,
            login_kind,
        )
        self._runtime.redis.set(
            self._key(challenge.id), orjson.dumps(asdict(challenge)), ex=CHALLENGE_SECONDS
        )
        return challenge

    def load(self, challenge_id: str, audience: str) -> MfaChallenge | None:
        if not challenge_id or len(challenge_id) > 64:
            return None
        raw = self._runtime.redis.get(self._key(challenge_id))
        if raw is None:
            return None
        data = orjson.loads(raw)
        challenge = MfaChallenge(**{**data, "methods": tuple(data["methods"])})
        return challenge if challenge.audience == audience else None

    def end(self, challenge: MfaChallenge) -> bool:
        """True for the one request that ends it (a concurrent twin gets False)."""
        return bool(self._runtime.redis.delete(self._key(challenge.id)))

    def _code_key(self, otp_request_id: str) -> str:
        digest = hashlib.sha256(otp_request_id.encode()).hexdigest()
        return self._runtime.keys("auth", "mfa", "challenge-of-code", digest)

    def link_code(self, challenge: MfaChallenge, otp_request_id: str, seconds: int) -> None:
        """An SMS or email code was sent for this challenge: whichever completes first (the
        code or an authenticator) ends both. The challenge lives as long as the code."""
        redis, key = self._runtime.redis, self._key(challenge.id)
        redis.set(self._code_key(otp_request_id), challenge.id, ex=seconds)
        if int(redis.ttl(key)) < seconds:
            redis.expire(key, seconds)

    def end_for_code(self, otp_request_id: str) -> bool | None:
        """A code of a challenge was verified: end the challenge. None: the code belongs to
        none (the hosted page's second step); False: it was already completed otherwise."""
        challenge_id = self._runtime.redis.getdel(self._code_key(otp_request_id))
        if challenge_id is None:
            return None
        text = challenge_id.decode() if isinstance(challenge_id, bytes) else str(challenge_id)
        return bool(self._runtime.redis.delete(self._key(text)))
