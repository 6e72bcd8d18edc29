"""Fixtures of the audit service's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def auditor(audit_client: TestClient, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The audit API as a signed-in administrator."""
    audit_client.headers.update(admin_headers)
    yield audit_client
    for name in admin_headers:
        audit_client.headers.pop(name, None)
