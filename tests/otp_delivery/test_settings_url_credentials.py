"""A credential in the Generic HTTP API's URL is refused: the URL is shown back and audited in clear."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from otp_delivery.provider_settings.repository import load_channel, save_channel
from shared.audit import AuditRecord, EventType
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink
from tests.otp_delivery.support import configure, generic_api_settings

SECRET = "s3cr3t-Value-9f2"
SEND = "https://sms.example.com/send"

CREDENTIAL_URLS = {
    "api_key": f"{SEND}?api_key={SECRET}&to={{mobile}}",
    "upper-case Token": f"{SEND}?to={{mobile}}&Token={SECRET}",
    "apikey": f"{SEND}?apiKey={SECRET}",
    "access_token": f"{SEND}?access_token={SECRET}",
    "password": f"{SEND}?user=acme&password={SECRET}",
    "pass": f"{SEND}?user=acme&PASS={SECRET}",
    "sig": f"{SEND}?sig={SECRET}",
    "signature": f"{SEND}?Signature={SECRET}",
    "auth": f"{SEND}?auth={SECRET}",
    "key": f"{SEND}?key={SECRET}",
    "secret": f"{SEND}?secret={SECRET}",
    "authorization": f"{SEND}?authorization=Basic%20{SECRET}",
    "user:password": f"https://acme:{SECRET}@sms.example.com/send",
}


def _generic_api(url: str) -> dict:
    config = {"url": url, "body_template": '{"to": "{mobile}", "m": "{message}"}'}
    return {"sms": {"provider": "generic_api", "config": config}}


def _audited_urls(runtime: Runtime) -> str:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    return str([AuditRecord.from_stream(f).details for _, f in entries])


@pytest.mark.parametrize("url", CREDENTIAL_URLS.values(), ids=CREDENTIAL_URLS.keys())
def test_a_credential_in_the_url_is_refused_and_nothing_changes(
    otp_admin: TestClient, http_sink: HttpSink, runtime: Runtime, url: str
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    before = otp_admin.get("/otp/settings").json()

    response = otp_admin.put("/otp/settings", json=_generic_api(url))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["fields"]] == ["sms.generic_api.config.url"]
    # Where the credential belongs instead.
    assert "auth_header_name/auth_header_value" in error["message"]
    assert SECRET not in response.text
    assert otp_admin.get("/otp/settings").json() == before
    assert SECRET not in _audited_urls(runtime)


def test_a_url_with_harmless_query_parameters_is_accepted(
    otp_admin: TestClient, runtime: Runtime
) -> None:
    url = f"{SEND}?sender=ACME&keyword=otp&author=it&format=json&to={{mobile}}"
    answer = configure(otp_admin, _generic_api(url))
    assert answer["sms"]["config"]["url"] == url
    assert otp_admin.get("/otp/settings").json()["sms"]["config"]["url"] == url
    (event,) = [
        AuditRecord.from_stream(f)
        for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
        if AuditRecord.from_stream(f).type is EventType.ADMIN_PROVIDER_UPDATED
    ]
    assert event.details["after"]["config"]["url"] == url


def test_settings_saved_before_the_check_still_deliver(
    otp_admin: TestClient, http_sink: HttpSink, runtime: Runtime
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    # As an earlier version stored it, straight into the row.
    with runtime.session_factory() as db:
        stored = load_channel(db, runtime.box, "sms")
        assert stored is not None
        legacy = dict(stored.config, url=http_sink.url + f"/sms/send?api_key={SECRET}")
        save_channel(db, runtime.box, dataclasses.replace(stored, config=legacy))
        db.commit()

    response = otp_admin.post("/otp/test-sms", json={"mobile_number": "+14155550100"})

    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    [request] = http_sink.requests
    assert request.path == f"/sms/send?api_key={SECRET}"
