"""Access tokens this process verified a moment ago.

Applications check the same token many times a minute; after the first check
a repeat costs a dict lookup instead of a signature verification. Only the
signature and claims are remembered, never the session state (that is read
from Redis on every call). An entry lives at most `REMEMBER_SECONDS` and never
past the token's `exp`, and all are dropped the moment the signing keys change
on any replica, so a rotation or an ended overlap bites within seconds.
"""

from __future__ import annotations

import time

from shared.invalidation import Topic
from shared.runtime import Runtime
from shared.tokens import VerifiedToken

REMEMBER_SECONDS = 30.0
MAX_ENTRIES = 50_000
# Expired entries are swept every this many new ones: the map then holds about
# the tokens checked in the last REMEMBER_SECONDS, not every token ever seen.
SWEEP_EVERY = 1_000


class VerifiedTokens:
    def __init__(self, runtime: Runtime) -> None:
        self._tokens = runtime.tokens
        self._entries: dict[str, tuple[float, VerifiedToken]] = {}
        self._added = 0
        runtime.bus.subscribe(Topic.SIGNING_KEYS, self.clear)

    def clear(self) -> None:
        self._entries = {}

    def remembered(self, token: str, audience: str) -> VerifiedToken | None:
        """A check done a moment ago, or None (then `verify`, which may read MySQL)."""
        hit = self._entries.get(token)
        if hit is not None and hit[0] > time.time() and hit[1].audience == audience:
            return hit[1]
        return None

    def verify(self, token: str, audience: str) -> VerifiedToken:
        now = time.time()
        hit = self.remembered(token, audience)
        if hit is not None:
            return hit
        verified = self._tokens.verify(token, audience=audience)
        self._added += 1
        if self._added % SWEEP_EVERY == 0 or len(self._entries) >= MAX_ENTRIES:
            # list(): one step under the GIL, while request threads may be adding entries.
            live = [(k, v) for k, v in list(self._entries.items()) if v[0] > now]
            self._entries = dict(live)
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {}  # that many live tokens: start over, refilled by the next calls
        self._entries[token] = (min(verified.expires_at, now + REMEMBER_SECONDS), verified)
        return verified

    def __len__(self) -> int:
        return len(self._entries)
