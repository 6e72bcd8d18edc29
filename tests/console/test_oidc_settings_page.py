"""An application's OpenID Connect settings in the Applications section."""

from __future__ import annotations

from sqlalchemy import select

from shared.models import OidcClient
from tests.console.support import flash_texts, post_form
from tests.factories import make_application


def _stored(runtime, app_id):
    with runtime.session_factory() as db:
        return db.scalars(select(OidcClient).where(OidcClient.application_id == app_id)).first()


def test_the_application_page_shows_the_client_id_and_discovery_url(signed_in, admin, runtime):
    app = make_application(admin)
    page = signed_in.get(f"/setup/applications/{app['id']}").text
    card = page.split('id="oidc"')[1]
    assert "<h2>OpenID Connect</h2>" in page and "not an OpenID Connect client yet" in card
    assert app["id"] in card
    assert f"{runtime.settings.issuer}/.well-known/openid-configuration" in card


def test_saving_makes_a_confidential_client_and_shows_its_secret_once(signed_in, admin, runtime):
    app = make_application(admin)
    form = {
        "client_type": "confidential",
        "redirect_uris": "https://grafana.example/login/generic_oauth\nhttps://grafana.example/x",
        "post_logout_redirect_uris": "https://grafana.example/login",
        "token_signing_alg": "ES256",
    }
    response = post_form(signed_in, f"/setup/applications/{app['id']}/oidc", form)
    assert response.status_code == 201
    secret = response.text.split('id="new-client-secret"')[1].split("<code>")[1].split("</code>")[0]
    assert secret.startswith("ocs_")
    stored = _stored(runtime, app["id"])
    assert stored.redirect_uris == form["redirect_uris"].split("\n")
    assert stored.token_signing_alg == "ES256" and secret not in stored.secret_hash
    again = signed_in.get(f"/setup/applications/{app['id']}").text
    assert secret not in again and secret[:8] in again  # only its start, to tell it apart
    rotated = post_form(signed_in, f"/setup/applications/{app['id']}/oidc/secret")
    assert rotated.status_code == 201 and secret not in rotated.text
    assert "new-client-secret" in rotated.text


def test_a_bad_redirect_uri_is_named_next_to_the_field_and_nothing_is_saved(
    signed_in, admin, runtime
):
    app = make_application(admin)
    form = {"client_type": "confidential", "redirect_uris": "http://grafana.example/cb"}
    response = post_form(signed_in, f"/setup/applications/{app['id']}/oidc", form)
    assert response.status_code == 422
    card = response.text.split('id="oidc-form"')[1].split("</form>")[0]
    assert 'class="field-error"' in card and "plain http" in card
    assert "http://grafana.example/cb" in card  # what was typed stays
    assert _stored(runtime, app["id"]) is None
    empty = post_form(signed_in, f"/setup/applications/{app['id']}/oidc", {"redirect_uris": ""})
    assert empty.status_code == 422 and _stored(runtime, app["id"]) is None


def test_a_public_client_and_turning_it_off(signed_in, admin, runtime):
    app = make_application(admin)
    form = {"client_type": "public", "redirect_uris": "http://127.0.0.1:8765/cb"}
    response = post_form(signed_in, f"/setup/applications/{app['id']}/oidc", form)
    assert response.status_code == 303
    assert "OpenID Connect settings saved." in flash_texts(signed_in.get("/setup/docs").text)
    page = signed_in.get(f"/setup/applications/{app['id']}").text
    assert "Rotate client secret" not in page and "Turn OpenID Connect off" in page
    assert _stored(runtime, app["id"]).secret_hash is None
    off = post_form(signed_in, f"/setup/applications/{app['id']}/oidc/delete")
    assert off.status_code == 303 and _stored(runtime, app["id"]) is None
