"""Provider URLs may not reach cloud metadata or link-local, however the address is spelled.

Checked through the admin API with private hosts allowed (as a dev deployment
would), so only the never-allowed ranges can be what refuses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shared.models.otp import OtpProviderSetting
from shared.runtime import Runtime

SPELLINGS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",  # the same address as one decimal number
    "http://0xa9fea9fe/latest/meta-data/",  # ... in hex
    "http://0251.0376.0251.0376/latest/meta-data/",  # ... in octal parts
    "http://169.254.43518/",  # ... with a short form
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://0.0.0.0:8080/",
]


@pytest.fixture
def otp_admin(
    otp_client: TestClient, admin_headers: dict[str, str], runtime: Runtime, monkeypatch
) -> Iterator[TestClient]:
    monkeypatch.setattr(runtime.base_settings, "otp_allow_private_hosts", True)
    monkeypatch.setattr(runtime.settings, "otp_allow_private_hosts", True)
    otp_client.headers.update(admin_headers)
    yield otp_client
    for name in admin_headers:
        otp_client.headers.pop(name, None)


def _sms(url: str) -> dict[str, Any]:
    config = {"url": url, "body_template": '{"to": "{mobile}", "m": "{message}"}'}
    return {"sms": {"provider": "generic_api", "config": config}}


def _saved(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return session.scalar(select(func.count()).select_from(OtpProviderSetting)) or 0


@pytest.mark.parametrize("url", SPELLINGS)
def test_metadata_and_link_local_urls_are_refused_in_any_spelling(otp_admin, runtime, url):
    response = otp_admin.put("/otp/settings", json=_sms(url))
    assert response.status_code == 422, response.text
    assert _saved(runtime) == 0
    assert otp_admin.get("/otp/settings").json()["sms"] is None


@pytest.mark.parametrize("host", ["169.254.169.254", "2852039166", "::ffff:169.254.169.254"])
def test_an_smtp_host_on_the_metadata_address_is_refused(otp_admin, runtime, host):
    config = {"host": host, "port": 25, "security": "none", "from_address": "otp@example.com"}
    response = otp_admin.put(
        "/otp/settings", json={"email": {"provider": "smtp", "config": config}}
    )
    assert response.status_code == 422, response.text
    assert _saved(runtime) == 0
