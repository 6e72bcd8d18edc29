"""Security primitives: password hashing, API keys, encryption at rest, constant-time checks."""
