"""Token signing keys: rotation (by an administrator, the CLI or the schedule) and the JWKS."""
