"""An application's OpenID Connect settings: exact redirect URIs, a secret shown once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.audit import EventType
from shared.models import OidcClient
from tests.auth.oidc_support import REDIRECT, Authorization, Browser, exchange, returned
from tests.auth.support import PASSWORD, audit_events, error_of


def _put(admin_auth, app_id, **body):
    return admin_auth.put(f"/auth/admin/oidc/clients/{app_id}", json=body)


def _stored(runtime, app_id):
    with runtime.session_factory() as db:
        return db.scalars(select(OidcClient).where(OidcClient.application_id == app_id)).first()


def test_an_application_is_no_client_until_settings_are_saved(admin_auth, application):
    body = admin_auth.get(f"/auth/admin/oidc/clients/{application[0]['id']}").json()
    assert body["enabled"] is False and body["redirect_uris"] == []
    missing = admin_auth.get("/auth/admin/oidc/clients/01a23700-0000-7000-8000-000000000000")
    assert error_of(missing) == (404, "application_not_found")


def test_a_confidential_clients_secret_is_shown_once_and_stored_as_a_hash(
    admin_auth, application, runtime
):
    app_id = application[0]["id"]
    saved = _put(admin_auth, app_id, redirect_uris=[REDIRECT]).json()
    secret = saved["client_secret"]
    assert secret.startswith("ocs_") and saved["secret_hint"] == secret[:8]
    assert saved["client_id"] == app_id and saved["token_signing_alg"] == "RS256"
    again = admin_auth.get(f"/auth/admin/oidc/clients/{app_id}").json()
    assert again["client_secret"] is None and again["enabled"] is True
    row = _stored(runtime, app_id)
    assert secret not in (row.secret_hash, row.secret_hint) and len(row.secret_hash) == 64
    # Saving again keeps the secret; only a rotation changes it.
    assert _put(admin_auth, app_id, redirect_uris=[REDIRECT]).json()["client_secret"] is None
    (event, *_) = audit_events(runtime, EventType.ADMIN_OIDC_CLIENT_UPDATED)
    assert event.details["client_auth"] == "new secret issued"
    assert secret not in str(event.details)


@pytest.mark.parametrize(
    "uris",
    [
        [],
        ["http://rp.example/callback"],  # plain http outside loopback
        ["https://rp.example/cb#frag"],
        ["https://*.example/cb"],
        ["/relative/cb"],
        ["https://user:pass@rp.example/cb"],
        ["javascript:alert(1)"],
        ["https://rp.example/" + "x" * 600],
        [f"https://rp.example/{n}" for n in range(11)],
        "https://rp.example/cb",
    ],
)
def test_bad_redirect_uris_are_refused_and_nothing_changes(admin_auth, application, runtime, uris):
    app_id = application[0]["id"]
    assert error_of(_put(admin_auth, app_id, redirect_uris=uris))[0] == 422
    assert _stored(runtime, app_id) is None


def test_loopback_http_redirects_are_allowed_for_native_and_local_apps(admin_auth, application):
    uris = ["http://127.0.0.1:8765/cb", "http://localhost/cb", "http://[::1]:9/cb"]
    assert _put(admin_auth, application[0]["id"], redirect_uris=uris).status_code == 200


def test_other_bad_settings_are_refused(admin_auth, application, runtime):
    app_id = application[0]["id"]
    for body in (
        {"redirect_uris": [REDIRECT], "client_type": "secretive"},
        {"redirect_uris": [REDIRECT], "token_signing_alg": "HS256"},
        {"redirect_uris": [REDIRECT], "token_signing_alg": "none"},
        {"redirect_uris": [REDIRECT], "scope": "admin"},
    ):
        assert error_of(_put(admin_auth, app_id, **body)) == (422, "validation_error")
    assert _stored(runtime, app_id) is None


def test_a_public_client_has_no_secret_and_cannot_rotate_one(admin_auth, application, runtime):
    app_id = application[0]["id"]
    _put(admin_auth, app_id, redirect_uris=[REDIRECT])
    public = _put(admin_auth, app_id, redirect_uris=[REDIRECT], client_type="public").json()
    assert public["client_secret"] is None and public["secret_hint"] is None
    assert _stored(runtime, app_id).secret_hash is None
    rotate = admin_auth.post(f"/auth/admin/oidc/clients/{app_id}/secret")
    assert error_of(rotate) == (404, "not_a_confidential_client")


def test_a_rotated_secret_replaces_the_old_one_at_once(
    auth_app, auth_client, admin_auth, rp, member, runtime
):
    rotated = admin_auth.post(f"/auth/admin/oidc/clients/{rp['id']}/secret").json()
    assert rotated["client_secret"] != rp["secret"]
    browser = Browser(auth_app)
    request = Authorization.with_pkce(rp["id"])
    code = returned(browser.sign_in(request, member["email"], PASSWORD), request)["code"]
    assert exchange(auth_client, request, code, rp["secret"]).status_code == 401
    assert exchange(auth_client, request, code, rotated["client_secret"]).status_code == 200
    assert audit_events(runtime, EventType.ADMIN_OIDC_CLIENT_SECRET_ROTATED)


def test_deleting_the_settings_makes_the_application_unknown_to_authorize(
    auth_app, admin_auth, rp, runtime
):
    assert admin_auth.delete(f"/auth/admin/oidc/clients/{rp['id']}").status_code == 204
    page = Browser(auth_app).authorize(Authorization.with_pkce(rp["id"]))
    assert page.status_code == 400 and "Unknown application" in page.text
    assert audit_events(runtime, EventType.ADMIN_OIDC_CLIENT_DELETED)


def test_only_administrators_see_or_change_client_settings(
    auth_client, caller, member, application
):
    tokens = caller.signed_in(member["email"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    path = f"/auth/admin/oidc/clients/{application[0]['id']}"
    assert auth_client.get(path, headers=headers).status_code == 401
    assert (
        auth_client.put(path, headers=headers, json={"redirect_uris": [REDIRECT]}).status_code
        == 401
    )
