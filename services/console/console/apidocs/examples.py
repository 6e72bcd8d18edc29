"""Example JSON values made from an OpenAPI schema (for the API docs' request/response examples)."""

from __future__ import annotations

from typing import Any

# Field names whose made-up values should look like the real thing.
SAMPLES: dict[str, Any] = {
    "login": "ada@example.com",
    "email": "ada@example.com",
    "mobile_number": "+15551234567",
    "name": "Ada Lovelace",
    "emp_id": "E-1001",
    "code": "123456",
    "password": "correct horse battery staple",
    "new_password": "correct horse battery staple",
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLiJ9...",
    "refresh_token": "rt_3q2-9Vx...",
    "token": "recovery_token_from_the_message",
    "sync_hash": "9f2b6c1e...64 hex characters",
    "next_cursor": "c_1042",
    "otp_request_id": "otp_7f3a...",
    "mfa_challenge_id": "mfa_Qx8r...",
    "methods": ["totp", "recovery_code", "otp"],
    "destination": "+1555***4567",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_expires_in": 2592000,
    "resend_after": 30,
    "dev_code": "123456",
    "device_id": "laptop-7f3a",
    "platform": "web",
    "limit": 1000,
}
MAX_DEPTH = 6


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`s to the schema they name."""
    seen = 0
    while "$ref" in node and seen < 20:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {})
        node, seen = target, seen + 1
    return node


def example_for(
    spec: dict[str, Any], schema: dict[str, Any] | None, name: str = "", depth: int = 0
) -> Any:
    if not schema or depth > MAX_DEPTH:
        return None
    schema = resolve(spec, schema)
    for key in ("example", "const", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if name in SAMPLES:
        return SAMPLES[name]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [s for s in schema[key] if resolve(spec, s).get("type") != "null"]
            return example_for(spec, choices[0], name, depth + 1) if choices else None
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_for(spec, part, name, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop: example_for(spec, sub, prop, depth + 1)
            for prop, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        item = example_for(spec, schema.get("items"), name, depth + 1)
        return [] if item is None else [item]
    return _scalar(kind, schema.get("format", ""))


def _scalar(kind: Any, fmt: str) -> Any:
    if kind == "integer":
        return 0
    if kind == "number":
        return 0.0
    if kind == "boolean":
        return True
    if fmt == "date-time":
        return "2025-01-15T09:30:00Z"
    if fmt == "uuid":
        return "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    if fmt == "email":
        return "ada@example.com"
    return "string"
