"""Applications section: register with an allow-list, edit, disable, delete; keys shown once."""

from __future__ import annotations

import re

from sqlalchemy import select

from shared.models import ApiKey, Application
from tests.console.support import flash_texts, post_form
from tests.factories import make_application


def applications(runtime) -> list[tuple[str, str, list[str]]]:
    """(name, status, allowed networks) of every stored application."""
    with runtime.session_factory() as session:
        return [
            (a.name, a.status, sorted(n.cidr for n in a.networks))
            for a in session.scalars(select(Application)).unique()
        ]


def table(html: str, table_id: str) -> str:
    return html.split(f'id="{table_id}"')[1].split("</table>")[0]


def test_page_shows_the_seed_headings_and_columns(signed_in):
    html = signed_in.get("/setup/applications").text
    assert (
        "Register applications, create API auth keys, and use the registry for user assignments."
        in html
    )
    for heading in ("Register application", "Request API auth key"):
        assert f"<h2>{heading}</h2>" in html
    for columns in (
        ("Application", "Allowed IPs", "Status", "Users", "Created", "Action"),
        ("Application", "Status", "Created", "Last used", "Action"),
    ):
        assert "".join(f"<th>{c}</th>" for c in columns) in html


def test_register_an_application_with_an_allow_list(signed_in, runtime):
    response = post_form(
        signed_in,
        "/setup/applications",
        {"name": "Payroll", "allowed_ips": "10.0.0.0/8\n192.0.2.7, 2001:db8::/32"},
    )
    assert response.status_code == 303
    page = signed_in.get("/setup/applications").text
    assert "Application Payroll registered." in flash_texts(page)
    assert "<code>10.0.0.0/8</code>" in page and "<code>2001:db8::/32</code>" in page
    assert applications(runtime) == [
        ("Payroll", "active", ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"])
    ]


def test_a_bad_network_is_named_next_to_the_field_and_nothing_is_registered(signed_in, runtime):
    response = post_form(
        signed_in,
        "/setup/applications",
        {"name": "Payroll", "allowed_ips": "10.0.0.0/8\n10.1.2.300"},
    )
    assert response.status_code == 422
    assert re.search(r'class="field-error"[^>]*>[^<]*10\.1\.2\.300', response.text)
    assert 'value="Payroll"' in response.text  # what was typed is kept
    assert applications(runtime) == []


def test_edit_disable_enable_and_delete(signed_in, admin, runtime):
    app = make_application(admin, name="Ledger")
    edit = signed_in.get(f"/setup/applications/{app['id']}")
    assert edit.status_code == 200 and "127.0.0.1/32" in edit.text

    saved = post_form(
        signed_in,
        f"/setup/applications/{app['id']}",
        {"name": "Ledger 2", "allowed_ips": "198.51.100.0/24"},
    )
    assert saved.status_code == 303
    disabled = post_form(
        signed_in, f"/setup/applications/{app['id']}/status", {"status": "disabled"}
    )
    assert disabled.status_code == 303
    assert applications(runtime) == [("Ledger 2", "disabled", ["198.51.100.0/24"])]

    post_form(signed_in, f"/setup/applications/{app['id']}/status", {"status": "active"})
    assert applications(runtime)[0][1] == "active"
    deleted = post_form(signed_in, f"/setup/applications/{app['id']}/delete")
    assert deleted.status_code == 303
    assert applications(runtime) == []


def test_a_requested_key_is_shown_once(signed_in, admin, runtime):
    app = make_application(admin, name="Payroll")
    response = post_form(signed_in, "/setup/keys", {"application_id": app["id"]})
    assert response.status_code == 201
    key = re.search(r'<code id="new-key-value" class="secret">([^<]+)</code>', response.text).group(
        1
    )
    assert "It will not be shown again" in response.text
    assert 'data-copy-target="new-key-value"' in response.text
    assert response.headers["cache-control"] == "no-store"
    # The key works for the application, and never appears again.
    assert signed_in.get("/users/sync", headers={"X-Auth-Service-Key": key}).status_code == 200
    again = signed_in.get("/setup/applications").text
    assert key not in again and "Payroll" in again
    with runtime.session_factory() as session:
        assert session.scalar(select(ApiKey.key_hash)) != key


def test_delete_a_key(signed_in, admin, runtime):
    app = make_application(admin)
    post_form(signed_in, "/setup/keys", {"application_id": app["id"]})
    with runtime.session_factory() as session:
        key_id = session.scalar(select(ApiKey.id))
    assert post_form(signed_in, f"/setup/keys/{key_id}/delete").status_code == 303
    with runtime.session_factory() as session:
        assert session.scalar(select(ApiKey.id)) is None


def test_requesting_a_key_without_choosing_an_application(signed_in, runtime):
    response = post_form(signed_in, "/setup/keys", {"application_id": ""})
    assert response.status_code == 422
    assert "Choose an application." in response.text


def test_the_application_list_pages(signed_in, admin):
    for number in range(55):
        make_application(admin, name=f"app-{number:03d}")
    first = signed_in.get("/setup/applications").text
    assert "1\u201350 of 55" in first and "offset=50" in first
    second = signed_in.get("/setup/applications?offset=50").text
    assert "51\u201355 of 55" in second
    found = table(signed_in.get("/setup/applications?q=app-007").text, "applications-table")
    assert "app-007" in found and "app-008" not in found


def required_mfa(runtime) -> dict[str, bool]:
    with runtime.session_factory() as session:
        return {a.name: a.require_mfa for a in session.scalars(select(Application)).unique()}


def test_require_a_second_factor_when_registering_and_editing(signed_in, runtime):
    registered = post_form(
        signed_in,
        "/setup/applications",
        {"name": "Treasury", "allowed_ips": "10.0.0.0/8", "require_mfa": "on"},
    )
    assert registered.status_code == 303
    post_form(signed_in, "/setup/applications", {"name": "Canteen", "allowed_ips": "10.0.0.0/8"})
    assert required_mfa(runtime) == {"Treasury": True, "Canteen": False}
    listed = table(signed_in.get("/setup/applications").text, "applications-table")
    treasury, canteen = (
        listed.split(f"<td>{name}")[1].split("</tr>")[0] for name in ("Treasury", "Canteen")
    )
    assert "requires a second factor" in treasury and "requires a second factor" not in canteen

    app_id = registered_id(runtime, "Treasury")
    edit = signed_in.get(f"/setup/applications/{app_id}").text
    assert re.search(r'<input type="checkbox" name="require_mfa"\s+checked>', edit)
    assert "a second factor required" in edit
    # Unticked and saved: no longer required.
    saved = post_form(
        signed_in,
        f"/setup/applications/{app_id}",
        {"name": "Treasury", "allowed_ips": "10.0.0.0/8"},
    )
    assert saved.status_code == 303
    assert required_mfa(runtime)["Treasury"] is False
    edit = signed_in.get(f"/setup/applications/{app_id}").text
    assert re.search(r'<input type="checkbox" name="require_mfa"\s+>', edit)
    assert "no second factor required" in edit


def test_a_refused_edit_keeps_the_box_as_it_was_left(signed_in, admin, runtime):
    app = make_application(admin, name="Vault")
    admin.patch(f"/directory/applications/{app['id']}", json={"require_mfa": True})
    refused = post_form(
        signed_in,
        f"/setup/applications/{app['id']}",
        {"name": "Vault", "allowed_ips": "10.1.2.300"},
    )
    assert refused.status_code == 422
    assert re.search(r'<input type="checkbox" name="require_mfa"\s+>', refused.text)  # unticked
    assert required_mfa(runtime)["Vault"] is True  # nothing was saved


def test_the_edit_page_title_is_the_application_name(signed_in, admin):
    app = make_application(admin, name="Ledger")
    page = signed_in.get(f"/setup/applications/{app['id']}").text
    title = page.split("<title>")[1].split("</title>")[0]
    assert title.startswith("Edit Ledger · ") and "<" not in title


def registered_id(runtime, name: str) -> str:
    with runtime.session_factory() as session:
        return str(session.scalar(select(Application.id).where(Application.name == name)))
