"""`GET/PUT /otp/settings`: provider settings with write-only secrets, audited."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from shared.audit import AuditRecord, EventType
from shared.models.otp import OtpProviderSetting
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink
from tests.otp_delivery.support import API_KEY, configure, fast2sms_settings, generic_api_settings


def provider_events(runtime: Runtime) -> list[AuditRecord]:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    records = [AuditRecord.from_stream(fields) for _, fields in entries]
    return [r for r in records if r.type is EventType.ADMIN_PROVIDER_UPDATED]


def stored_row(runtime: Runtime, channel: str) -> OtpProviderSetting | None:
    with runtime.session_factory() as session:
        return session.get(OtpProviderSetting, channel)


def test_nothing_configured_shows_defaults(otp_admin: TestClient) -> None:
    body = otp_admin.get("/otp/settings").json()
    assert body["sms"] is None and body["email"] is None
    assert "{code}" in body["defaults"]["sms_template"]


def test_admin_token_is_required(otp_client: TestClient) -> None:
    response = otp_client.get("/otp/settings")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_saved_secret_is_never_returned_and_stored_encrypted(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink
) -> None:
    answer = configure(otp_admin, generic_api_settings(http_sink))

    sms: dict[str, Any] = answer["sms"]
    assert sms["provider"] == "generic_api"
    assert sms["config"]["auth_header_value"] == {"set": True}
    assert sms["config"]["url"] == http_sink.url + "/sms/send"
    assert API_KEY not in otp_admin.get("/otp/settings").text
    row = stored_row(runtime, "sms")
    assert row is not None and row.secrets_encrypted
    assert API_KEY not in row.secrets_encrypted and API_KEY not in str(row.config)


def test_secret_left_out_keeps_the_stored_one_and_empty_clears_it(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    body = generic_api_settings(http_sink)
    del body["sms"]["config"]["auth_header_value"]
    body["sms"]["template"] = "{brand}: use {code} to sign in"
    configure(otp_admin, body)

    sent = otp_admin.post("/otp/test-sms", json={"mobile_number": "+14155550100"}).json()
    assert sent["ok"] is True
    assert http_sink.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"
    assert http_sink.requests[-1].json()["text"].startswith("Identity Services: use ")

    body["sms"]["config"]["auth_header_value"] = ""
    cleared = configure(otp_admin, body)
    assert cleared["sms"]["config"]["auth_header_value"] == {"set": False}


def test_switching_provider_does_not_carry_secrets_over(
    otp_admin: TestClient, http_sink: HttpSink
) -> None:
    configure(otp_admin, fast2sms_settings(http_sink))
    body = fast2sms_settings(http_sink)
    del body["sms"]["config"]["api_key"]
    kept = configure(otp_admin, body)  # same provider: the key stays
    assert kept["sms"]["config"]["api_key"] == {"set": True}

    configure(otp_admin, generic_api_settings(http_sink))
    response = otp_admin.put("/otp/settings", json=body)  # back, without a key
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "sms.config.api_key"


def test_every_change_is_audited_with_secrets_masked(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, admin_user: Any
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    body = generic_api_settings(http_sink, auth_header_value="Bearer rotated-secret-value")
    body["sms"]["is_enabled"] = False
    configure(otp_admin, body)
    del body["sms"]["config"]["auth_header_value"]
    configure(otp_admin, body)  # nothing changes: nothing to audit

    first, second = provider_events(runtime)
    assert first.actor_id == str(admin_user.id) and first.actor_type == "admin"
    assert first.details["channel"] == "sms"
    assert first.details["after"]["provider"] == "generic_api"
    assert second.details["before"] == {"is_enabled": True}
    assert second.details["after"] == {"is_enabled": False}
    assert second.details["write_only_changed"] == ["auth_header_value"]
    raw = str(runtime.redis.xrange(runtime.keys.audit_stream))
    assert API_KEY not in raw and "rotated-secret-value" not in raw


def test_email_channel_is_saved_beside_sms(otp_admin: TestClient, http_sink: HttpSink) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    email = {
        "provider": "smtp",
        "config": {
            "host": "smtp.example.com",
            "port": 465,
            "security": "tls",
            "username": "mailer",
            "password": "smtp-password-123",
            "from_address": "otp@example.com",
        },
        "subject": "{brand} code",
    }
    answer = configure(otp_admin, {"email": email})
    assert answer["sms"]["provider"] == "generic_api"  # untouched
    assert answer["email"]["config"]["password"] == {"set": True}
    assert answer["email"]["config"]["security"] == "tls"
    assert answer["email"]["subject"] == "{brand} code"
    assert "smtp-password-123" not in otp_admin.get("/otp/settings").text
