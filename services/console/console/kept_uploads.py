"""A CSV file kept between "Preview (dry run)" and "Import", so it need not be chosen again.

Browsers forget a file input's choice when the preview page loads, and no page may set
one. So the previewed file is kept in Redis for KEEP_SECONDS, encrypted (it holds people's
contact details), under a random token bound to the console session that uploaded it. The
Import form posts only that token: never a path or a name the server would have to trust.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from console.security.session import ConsoleSession
from shared.runtime import Runtime

KEEP_SECONDS = 900
# Bigger files are previewed as usual but must be chosen again to import (Redis is no file store).
KEEP_MAX_BYTES = 8 * 1024 * 1024
TOKEN_CHARS = 64


@dataclass(frozen=True)
class KeptUpload:
    token: str
    filename: str
    content: bytes


class UploadKeeper:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def _key(self, token: str) -> str:
        return self._runtime.keys("console", "import", self._runtime.box.keyed_hash(token))

    def keep(self, session: ConsoleSession, filename: str, content: bytes) -> KeptUpload | None:
        """The file kept under a new token; None when it is too big to keep."""
        if len(content) > KEEP_MAX_BYTES:
            return None
        token = secrets.token_urlsafe(32)
        record = {
            "session": self._runtime.box.keyed_hash(session.id),
            "filename": filename[:255],
            "content": base64.b64encode(content).decode(),
        }
        payload = self._runtime.box.encrypt(json.dumps(record))
        self._runtime.redis.set(self._key(token), payload, ex=KEEP_SECONDS)
        return KeptUpload(token, record["filename"], content)

    def take(self, session: ConsoleSession, token: str) -> KeptUpload | None:
        """The file kept under `token` for this session; None if unknown, expired or another's."""
        if not token or len(token) > TOKEN_CHARS:
            return None
        raw = self._runtime.redis.get(self._key(token))
        if raw is None:
            return None
        try:
            record = json.loads(self._runtime.box.decrypt(str(raw)))
        except ValueError:
            return None
        if record.get("session") != self._runtime.box.keyed_hash(session.id):
            return None
        return KeptUpload(token, str(record["filename"]), base64.b64decode(record["content"]))

    def forget(self, token: str) -> None:
        self._runtime.redis.delete(self._key(token))
