"""The user sync contract (DESIGN.md §8) that consuming applications rely on.

`sync_hash` is SHA-256 hex of the canonical JSON of the mapped fields. Any
application can recompute it:

    json.dumps({"name": ..., "mobile_number": ..., "email": ..., "emp_id": ...,
                "status": ...}, sort_keys=True, separators=(",", ":"),
               ensure_ascii=False).encode("utf-8")
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

MAPPED_FIELDS = ("name", "mobile_number", "email", "emp_id", "status")


def compute_sync_hash(fields: Mapping[str, Any]) -> str:
    canonical = {name: fields.get(name) for name in MAPPED_FIELDS}
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
