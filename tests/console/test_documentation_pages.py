"""API docs (generated from the live OpenAPI) and System documentation; the seed's words."""

from __future__ import annotations

import html as html_lib
import re

from console.apidocs.catalog import ENDPOINTS
from shared.sync_contract import compute_sync_hash

# Headings and help texts of the seed (the product brief), word for word.
SEED_TEXTS = {
    "/setup": ["Service setup", "Checking", "Deployment", "Branding", "Platform"],
    "/setup/service/deployment": [
        "Service setup",
        "Configure shared identity for apps. App-level authorization stays inside each application.",
        "Deployment",
        "Runtime values used by the service and Traefik deployment.",
    ],
    "/setup/service/branding": ["Service setup", "Branding"],
    "/setup/access": [
        "Console access",
        "Identity Services administrators sign in with local accounts using either mobile number or email address.",
        "Local administrator access only.",
    ],
    "/setup/audit": [
        "Audit log",
        "Recent security events emitted by the shared auth service.",
        "Purge audit history",
        "Event User IP Date Time",
    ],
    "/setup/api-docs": [
        "API docs",
        "Shared authentication endpoints for registered applications. Use an API Auth Key from the Applications section.",
        "User sync contract",
        "This auth service is the source of truth for shared users. Application sync is one-way from auth service to the calling application.",
        "Authentication header",
        "Applications call protected endpoints with X-Auth-Service-Key: ask_your_api_key. Access-token checks also include Authorization: Bearer access_token_here.",
    ],
    "/setup/docs": [
        "System documentation",
        "End-to-end guidance for installing, operating, and integrating IDENTITY Services as a shared directory and authentication service.",
        "What this service does",
        "Installation and local deployment",
        "Initial setup",
        "Application onboarding model",
        "Application registration",
        "API auth key",
        "User assignment",
        "Fail-closed IP policy",
        "How other applications integrate",
        "Recommended end-user login flow for consuming apps",
        "User sync contract",
        "Maintenance and operations",
        "Audit review",
        "Audit purge",
        "Key rotation",
        "User lifecycle",
        "Backup and recovery",
        "Security checklist",
        "Troubleshooting",
        "Request rejected by IP policy",
        "User cannot sign in to an app",
        "OTP not delivered",
        "Sync result is empty",
        "Important: This service handles authentication and shared directory data.",
        "If the user does not exist, the response is User not in the directory service.",
        "You are not allowed to access this application. Contact Administrator.",
        "docker compose up -d --build",
        "Check the application allow-list and compare the Effective IP, Forwarded IP, and Remote Address shown in the Audit log.",
    ],
}


def visible(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def section(html: str, section_id: str) -> str:
    return html.split(f'id="{section_id}"')[1].split("</section>")[0]


def test_api_docs_list_every_app_endpoint_as_served(signed_in):
    page = signed_in.get("/setup/api-docs")
    assert page.status_code == 200
    text = visible(page.text)
    for method, path, description in ENDPOINTS:
        assert f"{method} {path}" in text
        assert description in text
    assert "not served by the running services" not in page.text


def test_api_docs_examples_come_from_the_openapi(signed_in):
    page = signed_in.get("/setup/api-docs").text
    text = visible(page)
    login = visible(section(page, "post-auth-login"))
    assert '"login": "ada@example.com"' in login and '"refresh_token"' in login
    sync = visible(section(page, "get-users-sync"))
    assert '"next_cursor"' in sync and '"sync_hash"' in sync and "since" in sync
    # Administrators' endpoints are listed from the same documents.
    assert "/directory/users/import" in text and "/console/api/platform" in text


# The auth service's tags for what consuming applications call (the rest is the console's,
# operations' and OpenID Connect's, which has a guide of its own).
APP_TAGS = {"sign-in", "sessions", "recovery"}


def test_the_catalog_covers_every_app_facing_endpoint_of_the_auth_openapi(signed_in):
    spec = signed_in.get("/auth/openapi.json").json()
    app_facing = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if APP_TAGS & set(operation.get("tags", []))
    }
    assert ("POST", "/auth/mfa/verify") in app_facing  # the tags still say what they did
    assert app_facing <= {(m, p) for m, p, _ in ENDPOINTS}


def test_the_second_step_is_documented_with_its_answers(signed_in):
    page = signed_in.get("/setup/api-docs").text
    login = visible(section(page, "post-auth-login"))
    # The usual answer (tokens), and the other one: a challenge, no tokens.
    assert "Or response 200: MfaRequired" in login
    assert "a second factor is needed: no tokens yet" in login
    other = login.split("Or response 200: MfaRequired")[1]
    assert '"mfa_required": true' in other and '"mfa_challenge_id": "mfa_Qx8r..."' in other
    assert '"methods": [ "totp", "recovery_code", "otp" ]' in other
    assert '"otp_request_id"' not in other and '"access_token"' not in other
    assert "Or response 200: MfaRequired" in visible(section(page, "post-auth-otp-verify"))
    verify = visible(section(page, "post-auth-mfa-verify"))
    assert '"mfa_challenge_id": "mfa_Qx8r..."' in verify and '"method": "totp"' in verify
    assert "curl -X POST" in verify and '"refresh_token"' in verify
    assert 'identity.verify_mfa(challenge, "totp", code_from_the_app)' in verify
    send = visible(section(page, "post-auth-mfa-otp"))
    assert "Response 202" in send and '"otp_request_id"' in send
    assert "identity.send_mfa_code(challenge)" in send
    # Listed once: not again among the administrators' endpoints.
    admin_rows = visible(section(page, "admin-api"))
    assert "/auth/mfa/verify" not in admin_rows and "/auth/admin/mfa/verify" in admin_rows


def test_the_sync_hash_recipe_matches_the_directory(signed_in):
    text = visible(signed_in.get("/setup/api-docs").text)
    fields = {
        "name": "Ada Lovelace",
        "mobile_number": "+15551234567",
        "email": "ada@example.com",
        "emp_id": None,
        "status": "active",
    }
    assert compute_sync_hash(fields) in text
    assert 'sort_keys=True, separators=(",", ":"), ensure_ascii=False' in text


def test_seed_texts_appear_word_for_word(signed_in):
    for path, texts in SEED_TEXTS.items():
        text = visible(signed_in.get(path).text)
        for expected in texts:
            assert expected in text, (path, expected)


def test_the_openid_connect_guide_is_in_both_documents_and_its_python_app_is_python(
    signed_in, runtime
):
    import html as html_module

    for path in ("/setup/docs", "/setup/api-docs"):
        page = signed_in.get(path).text
        guide = page.split('id="openid-connect"')[1].split("</section>")[0]
        assert f"{runtime.settings.issuer}/.well-known/openid-configuration" in guide
        for heading in ("Grafana (generic OAuth)", "GitLab (OmniAuth OpenID Connect)"):
            assert f"<h3>{heading}</h3>" in guide
        assert "not IP-filtered" in guide
        sample = guide.split("Your own application in Python")[1].split("<pre>")[1]
        code = html_module.unescape(sample.split("</pre>")[0])
        compile(code, "sample.py", "exec")  # the 20 lines a developer copies do parse
        assert len(code.strip().splitlines()) <= 26
