"""Bad delivery settings get a 422 and change nothing; unsafe worker timings refuse to start."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.runtime import Runtime
from shared.settings import Environment, Settings
from tests.otp_delivery.sinks import HttpSink
from tests.otp_delivery.support import configure, generic_api_settings

GOOD_SMTP = {
    "host": "smtp.example.com",
    "port": 587,
    "security": "starttls",
    "from_address": "otp@example.com",
}


def sms(**config: Any) -> dict[str, Any]:
    base = {
        "url": "https://sms.example.com/send",
        "body_template": '{"to": "{mobile}", "m": "{message}"}',
    }
    return {"sms": {"provider": "generic_api", "config": {**base, **config}}}


def email(**config: Any) -> dict[str, Any]:
    return {"email": {"provider": "smtp", "config": {**GOOD_SMTP, **config}}}


BAD = {
    "malformed url": sms(url="htp//sms.example.com"),
    "url without host": sms(url="https:///send"),
    "url with credentials": sms(url="https://user:pw@sms.example.com/send"),
    "url port out of range": sms(url="https://sms.example.com:99999/send"),
    "metadata ip in url": sms(url="http://169.254.169.254/latest/meta-data"),
    "ec2 ipv6 metadata in url": sms(url="http://[fd00:ec2::254]/"),
    "alibaba metadata in url": sms(url="http://100.100.100.200/"),
    "body without mobile": sms(body_template='{"m": "{message}"}'),
    "body not json": sms(body_template='{"to": "{mobile}", "m": {message}'),
    "credential in plain headers": sms(headers={"X-Api-Key": "abc"}),
    "header with line break": sms(headers={"X-Client": "a\r\nInjected: 1"}),
    "template without code": {
        "sms": {**sms()["sms"], "template": "Your {brand} sign-in code is ready"}
    },
    "template with unknown placeholder": {"sms": {**sms()["sms"], "template": "{code} {user}"}},
    "template with format spec": {"sms": {**sms()["sms"], "template": "{code:>99999999}"}},
    "unknown provider": {"sms": {"provider": "twilio", "config": {"sid": "x"}}},
    "email provider on sms": {"sms": {"provider": "smtp", "config": GOOD_SMTP}},
    "smtp port out of range": email(port=70000),
    "smtp port zero": email(port=0),
    "smtp metadata host": email(host="169.254.169.254"),
    "smtp unspecified host": email(host="0.0.0.0"),
    "smtp host not a name": email(host="smtp example com"),
    "smtp bad security": email(security="ssl3"),
    "from not an address": email(from_address="not-an-address"),
    "subject with the code": {"email": {**email()["email"], "subject": "Code {code}"}},
    "unknown field": {"sms": {**sms()["sms"], "colour": "blue"}},
    "fast2sms without key": {"sms": {"provider": "fast2sms", "config": {"route": "q"}}},
    "fast2sms dlt without template": {
        "sms": {"provider": "fast2sms", "config": {"route": "dlt", "api_key": "k"}}
    },
    "carrier gateway not a domain": {
        "sms": {"provider": "carrier_email", "config": {**GOOD_SMTP, "default_gateway": "vtext"}}
    },
    "empty body": {},
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_settings_are_refused_and_nothing_changes(
    otp_admin: TestClient, http_sink: HttpSink, body: dict[str, Any]
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    before = otp_admin.get("/otp/settings").json()

    response = otp_admin.put("/otp/settings", json=copy.deepcopy(body))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert otp_admin.get("/otp/settings").json() == before


def test_a_bad_channel_keeps_the_good_one_from_being_saved(otp_admin: TestClient) -> None:
    body = {**sms(), **email(port=0)}
    assert otp_admin.put("/otp/settings", json=body).status_code == 422
    assert otp_admin.get("/otp/settings").json()["sms"] is None


def test_private_hosts_are_refused_unless_the_deployment_allows_them(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "otp_allow_private_hosts", False)
    for body in (
        generic_api_settings(http_sink),  # 127.0.0.1
        sms(url="http://10.1.2.3/send"),
        sms(url="http://localhost:8080/send"),
        {"email": {"provider": "smtp", "config": smtp_config_for("192.168.1.10")}},
    ):
        response = otp_admin.put("/otp/settings", json=body)
        assert response.status_code == 422, body
        assert "not allowed by this deployment" in response.json()["error"]["message"]
    assert otp_admin.get("/otp/settings").json()["sms"] is None


def smtp_config_for(host: str) -> dict[str, Any]:
    return {**GOOD_SMTP, "host": host}


# Deployment settings of the worker: refused at start when they could double a send.


def test_visibility_timeout_must_outlast_a_task_and_its_longest_retry_wait() -> None:
    with pytest.raises(ValidationError, match="VISIBILITY_TIMEOUT"):
        Settings(
            env=Environment.TEST,
            otp_task_time_limit_seconds=60,
            otp_retry_backoff_max_seconds=30,
            otp_visibility_timeout_seconds=90,
        )
    Settings(env=Environment.TEST, otp_visibility_timeout_seconds=91)


def test_task_time_limit_must_exceed_the_provider_timeouts() -> None:
    with pytest.raises(ValidationError, match="TASK_TIME_LIMIT"):
        Settings(env=Environment.TEST, otp_smtp_timeout_seconds=30, otp_task_time_limit_seconds=30)
