"""Checking access tokens offline, against the keys the service publishes.

The key set (`/.well-known/jwks.json`) is cached for as long as its
`Cache-Control: max-age` says. A token signed by a key the cache does not
know makes one fetch, and not more often than `min_refresh_seconds`: a flood
of tokens with made-up key ids cannot make the application hammer the
service. The algorithm is the key's own (its `alg`), never the token's
header; the audience is this application; only access tokens pass (an ID
token is not one). A check offline cannot see a revocation: for that, ask
`/auth/session` (`IdentityClient.verify(..., check_revocation=True)`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from identity_client.errors import InvalidToken, TokenExpired, TransportError

ALGORITHMS = frozenset({"RS256", "ES256", "EdDSA"})
DEFAULT_MAX_AGE = 300.0
MAX_AGE = re.compile(r"max-age=(\d+)")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: str  # the user's auth_user_id
    audience: str
    session_id: str | None
    expires_at: int
    scope: str | None  # what an OIDC client was granted
    claims: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Key:
    alg: str
    key: Any


class _KeyCache:
    """The parsed key set and the rules for fetching it again (no I/O here)."""

    def __init__(self, min_refresh_seconds: float, algorithms: frozenset[str]) -> None:
        self.keys: dict[str, _Key] = {}
        self.fresh_until = 0.0
        self.fetched_at = float("-inf")
        self.min_refresh_seconds = min_refresh_seconds
        self.algorithms = algorithms

    def wants(self, kid: str) -> bool:
        now = time.monotonic()
        if now >= self.fresh_until:
            return True
        return kid not in self.keys and now - self.fetched_at >= self.min_refresh_seconds

    def store(self, response: httpx.Response) -> None:
        keys: dict[str, _Key] = {}
        for jwk in response.json().get("keys", []):
            alg, kid = jwk.get("alg"), jwk.get("kid")
            if alg not in self.algorithms or not kid or jwk.get("use", "sig") != "sig":
                continue
            try:
                keys[kid] = _Key(alg, jwt.PyJWK(jwk, algorithm=alg).key)
            except jwt.PyJWTError:
                continue  # a key this client cannot use is no key
        match = MAX_AGE.search(response.headers.get("cache-control", ""))
        max_age = float(match.group(1)) if match else DEFAULT_MAX_AGE
        now = time.monotonic()
        self.keys, self.fetched_at, self.fresh_until = keys, now, now + max_age

    def failed(self) -> None:
        # Keep serving the keys we have; look again after the floor, not on every call.
        now = time.monotonic()
        self.fetched_at = now
        self.fresh_until = max(self.fresh_until, now + self.min_refresh_seconds)


class _Checks:
    def __init__(
        self,
        jwks_url: str,
        audience: str,
        *,
        issuer: str | None,
        leeway: float,
        min_refresh_seconds: float,
        algorithms: frozenset[str],
    ) -> None:
        self.jwks_url = jwks_url
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.cache = _KeyCache(min_refresh_seconds, algorithms)

    @staticmethod
    def kid_of(token: str) -> str:
        """The key id, read from the header alone: it only picks a key; `jwt.decode` then
        checks the whole token. (PyJWT's own header reader validates every base64
        character of all three segments in Python: half the cost of a whole check.)"""
        segment = token.split(".", 1)[0]
        try:
            header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (ValueError, TypeError) as exc:
            raise InvalidToken("The access token is invalid.") from exc
        if not isinstance(header, dict):
            raise InvalidToken("The access token is invalid.")
        return str(header.get("kid") or "")

    def check(self, token: str, kid: str) -> VerifiedToken:
        entry = self.cache.keys.get(kid)
        if entry is None:
            raise InvalidToken("The access token is signed by an unknown key.")
        try:
            claims = jwt.decode(
                token,
                entry.key,
                algorithms=[entry.alg],  # the key's, so the header cannot choose
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("The access token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The access token is invalid.") from exc
        if claims.get("typ") != "access":  # an ID token (or a refresh JWT) is not one
            raise InvalidToken("This is not an access token.")
        return VerifiedToken(
            subject=str(claims["sub"]),
            audience=self.audience,
            session_id=claims.get("sid"),
            expires_at=int(claims["exp"]),
            scope=claims.get("scope"),
            claims=claims,
        )


class TokenVerifier(_Checks):
    """Offline checks of this application's access tokens (thread-safe)."""

    def __init__(
        self,
        jwks_url: str,
        audience: str,
        *,
        issuer: str | None = None,
        leeway: float = 30.0,
        min_refresh_seconds: float = 30.0,
        algorithms: frozenset[str] = ALGORITHMS,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            jwks_url,
            audience,
            issuer=issuer,
            leeway=leeway,
            min_refresh_seconds=min_refresh_seconds,
            algorithms=algorithms,
        )
        self._http = http or httpx.Client(timeout=httpx.Timeout(5.0, connect=3.0))
        self._lock = threading.Lock()

    def verify(self, token: str) -> VerifiedToken:
        kid = self.kid_of(token)
        if self.cache.wants(kid):
            self._fetch(kid)
        return self.check(token, kid)

    def _fetch(self, kid: str) -> None:
        with self._lock:
            if not self.cache.wants(kid):  # another thread fetched it meanwhile
                return
            try:
                response = self._http.get(self.jwks_url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                self.cache.failed()
                if not self.cache.keys:
                    raise TransportError(f"the key set could not be fetched: {exc!r}") from exc
                return
            self.cache.store(response)


class AsyncTokenVerifier(_Checks):
    """The same checks for asyncio applications (one fetch at a time per loop)."""

    def __init__(
        self,
        jwks_url: str,
        audience: str,
        *,
        issuer: str | None = None,
        leeway: float = 30.0,
        min_refresh_seconds: float = 30.0,
        algorithms: frozenset[str] = ALGORITHMS,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            jwks_url,
            audience,
            issuer=issuer,
            leeway=leeway,
            min_refresh_seconds=min_refresh_seconds,
            algorithms=algorithms,
        )
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=3.0))
        self._lock: asyncio.Lock | None = None

    async def verify(self, token: str) -> VerifiedToken:
        kid = self.kid_of(token)
        if self.cache.wants(kid):
            await self._fetch(kid)
        return self.check(token, kid)

    async def _fetch(self, kid: str) -> None:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if not self.cache.wants(kid):
                return
            try:
                response = await self._http.get(self.jwks_url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                self.cache.failed()
                if not self.cache.keys:
                    raise TransportError(f"the key set could not be fetched: {exc!r}") from exc
                return
            self.cache.store(response)
