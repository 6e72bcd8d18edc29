"""OTP providers section: delivery settings (secrets write-only), Test SMS, recent deliveries."""

from __future__ import annotations

import pytest

from tests.console.support import flash_texts, post_form
from tests.otp_delivery.sinks import HttpSink


@pytest.fixture
def sms_sink(runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "otp_allow_private_hosts", True)
    sink = HttpSink()
    yield sink
    sink.stop()


def generic_api_form(url: str, secret: str = "") -> dict[str, str]:
    return {
        "sms.provider": "generic_api",
        "sms.is_enabled": "on",
        "sms.template": "{code} is your {brand} code",
        "generic_api.url": url,
        "generic_api.method": "POST",
        "generic_api.content_type": "application/json",
        "generic_api.body_template": '{"to": "{mobile}", "text": "{message}"}',
        "generic_api.auth_header_name": "Authorization",
        "generic_api.auth_header_value": secret,
        "generic_api.headers": "X-Tenant: acme",
    }


def test_page_shows_the_seed_headings(signed_in):
    html = signed_in.get("/setup/otp").text
    assert (
        "Configure SMS and email delivery used by OTP login. Generic API, Fast2SMS, "
        "and US carrier email-to-SMS match the VMTS setup."
    ) in html
    for heading in ("Delivery settings", "Test SMS", "Recent deliveries"):
        assert f"<h2>{heading}</h2>" in html
    for provider in ("Generic API", "Fast2SMS", "US carrier email-to-SMS", "SMTP email"):
        assert provider in html


def test_sms_settings_are_saved_and_the_secret_never_shown(signed_in, sms_sink, admin_headers):
    response = post_form(
        signed_in, "/setup/otp/sms", generic_api_form(sms_sink.url, "Bearer s3cr3t-value")
    )
    assert response.status_code == 303
    page = signed_in.get("/setup/otp").text
    assert "SMS delivery settings saved." in flash_texts(page)
    assert "s3cr3t-value" not in page
    assert "set — leave empty to keep" in page
    stored = signed_in.get("/otp/settings", headers=admin_headers).json()["sms"]
    assert stored["provider"] == "generic_api" and stored["config"]["auth_header_value"] == {
        "set": True
    }
    assert stored["config"]["headers"] == {"X-Tenant": "acme"}
    # Saving again with the secret left empty keeps it.
    post_form(signed_in, "/setup/otp/sms", generic_api_form(sms_sink.url))
    again = signed_in.get("/otp/settings", headers=admin_headers).json()["sms"]
    assert again["config"]["auth_header_value"] == {"set": True}


def test_a_settings_error_is_shown_and_nothing_is_saved(signed_in, admin_headers):
    form = generic_api_form("ftp://nowhere")
    response = post_form(signed_in, "/setup/otp/sms", form)
    assert response.status_code == 422
    assert 'class="field-error"' in response.text or 'class="form-error"' in response.text
    assert signed_in.get("/otp/settings", headers=admin_headers).json()["sms"] is None


def test_a_credential_in_the_url_is_refused_next_to_the_url_field(signed_in, admin_headers):
    form = generic_api_form("https://sms.example.com/send?api_key=s3cr3t-value")
    response = post_form(signed_in, "/setup/otp/sms", form)
    assert response.status_code == 422
    # The error paragraph inside the URL field's label.
    after_input = response.text.split('name="generic_api.url"', 1)[1].split("</label>", 1)[0]
    assert '<p class="field-error">' in after_input
    assert "put it in the authentication header" in after_input
    assert signed_in.get("/otp/settings", headers=admin_headers).json()["sms"] is None


def test_test_sms_shows_the_outcome_and_the_delivery(signed_in, sms_sink):
    post_form(signed_in, "/setup/otp/sms", generic_api_form(sms_sink.url, "Bearer k"))
    response = post_form(signed_in, "/setup/otp/test-sms", {"mobile_number": "+12025550143"})
    assert response.status_code == 200
    outcome = response.text.split('id="test-outcome"')[1].split("</div>")[0]
    assert "SMS sent" in outcome and "generic_api" in outcome
    assert len(sms_sink.requests) == 1
    assert sms_sink.requests[0].json()["to"] == "+12025550143"
    deliveries = response.text.split('id="deliveries"')[1]
    assert "test" in deliveries and "sent" in deliveries


def test_test_sms_without_a_provider_says_so(signed_in):
    response = post_form(signed_in, "/setup/otp/test-sms", {"mobile_number": "+12025550143"})
    assert response.status_code == 409
    assert "not configured" in response.text


def test_each_channel_is_a_tab_with_its_settings_and_its_test(signed_in):
    sms = signed_in.get("/setup/otp").text
    assert 'id="sms-form"' in sms and 'id="test-sms-form"' in sms
    assert 'id="email-form"' not in sms and 'id="test-email-form"' not in sms
    assert '<a href="/setup/otp" aria-current="page">SMS</a>' in sms
    email = signed_in.get("/setup/otp?tab=email").text
    assert 'id="email-form"' in email and "<h2>Test email</h2>" in email
    assert 'id="sms-form"' not in email
    # A tab that does not exist shows the first one.
    assert 'id="sms-form"' in signed_in.get("/setup/otp?tab=fax").text


def test_a_bad_email_setting_comes_back_on_the_email_tab(signed_in, admin_headers):
    response = post_form(signed_in, "/setup/otp/email", {"smtp.port": "not a port"})
    assert response.status_code == 422
    assert 'id="email-form"' in response.text and 'id="sms-form"' not in response.text
    assert signed_in.get("/otp/settings", headers=admin_headers).json()["email"] is None
