"""Service setup: Checking, Deployment (platform settings, token secret), Branding (logo)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from shared.audit import AuditRecord
from shared.models import BrandingAsset, PlatformSetting, SigningKey
from tests.console.support import flash_texts, post_form


def picture(fmt: str, size: tuple[int, int] = (64, 32), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "navy").save(out, format=fmt)
    return out.getvalue()


@pytest.fixture
def data_dir(runtime, tmp_path, monkeypatch):
    monkeypatch.setattr(runtime.settings, "data_dir", tmp_path)
    return tmp_path


def rows(runtime) -> dict:
    with runtime.session_factory() as session:
        return {r.key: r.value for r in session.scalars(select(PlatformSetting))}


SEED_LEAD = (
    "Configure shared identity for apps. App-level authorization stays inside each application."
)
PAGES = {
    "/setup": "Checking",
    "/setup/service/deployment": "Deployment",
    "/setup/service/platform": "Platform and token secret",
    "/setup/service/branding": "Branding",
}


def test_each_part_of_service_setup_is_a_page_of_its_own_in_the_sidebar(signed_in):
    for path, title in PAGES.items():
        html = signed_in.get(path).text
        assert "<h1>Service setup</h1>" in html and SEED_LEAD in html, path
        assert f"<h2>{title}</h2>" in html, path
        assert f'<a href="{path}" aria-current="page">{title}</a>' in html, path
        for other, other_title in PAGES.items():  # every page lists the others
            assert f'<a href="{other}"' in html and other_title in html
    deployment = signed_in.get("/setup/service/deployment").text
    assert "Runtime values used by the service and Traefik deployment." in deployment
    assert 'id="platform-form"' not in deployment and 'id="checks"' not in deployment


def test_service_setup_pages_need_a_sign_in(console):
    for path in list(PAGES)[1:]:
        response = console.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/setup"


def test_checking_says_what_it_checked_and_all_is_well(signed_in, runtime):
    html = signed_in.get("/setup").text
    checking = html.split('id="checks"')[1].split("</table>")[0]
    for name in ("auth", "directory", "otp-delivery", "audit", "console"):
        assert f"<td>{name}</td>" in checking
    for name in ("Database", "Redis", "Celery workers", "Audit consumer lag"):
        assert f"<td>{name}</td>" in checking
    assert "<td>MySQL</td>" not in checking
    assert "GET /auth/readyz: ready" in checking
    assert re.search(
        r"MariaDB [0-9.]+ at 127\.0\.0\.1:3306/identity_test_\w+: SELECT answered", checking
    )
    assert re.search(r"Redis [0-9.]+ at [^:]+:6379/\d+: PING answered", checking)
    assert checking.count('<span class="badge ok">ok</span>') >= 7  # five services, database, Redis


def test_deployment_shows_durations_in_human_units(signed_in, runtime):
    html = signed_in.get("/setup/service/deployment").text
    assert "<dt>Access token lifetime</dt><dd>15 min</dd>" in html
    assert "<dt>Session maximum lifetime</dt><dd>90 days</dd>" in html
    assert "<dt>Refresh token lifetime</dt><dd>30 days</dd>" in html
    assert "<code>/auth/*, /.well-known/*, /account</code>" in html
    platform = signed_in.get("/setup/service/platform").text
    # The form keeps exact seconds, with the human reading beside it.
    assert 'name="access_token_ttl_seconds" value="900"' in platform and "Now 15 min." in platform


def test_platform_settings_are_saved_and_audited(signed_in, runtime):
    form = {
        "public_hostname": "id.example.com",
        "access_token_ttl_seconds": "600",
        "refresh_token_ttl_seconds": "86400",
        "otp_length": "8",
        "otp_ttl_seconds": "240",
        "otp_verify_max_attempts": "3",
        "otp_resend_cooldown_seconds": "45",
        "otp_hourly_cap_per_login": "6",
        "otp_sms_enabled": "on",
    }
    response = post_form(signed_in, "/setup/platform", form)
    assert response.status_code == 303
    assert response.headers["location"] == "/setup/service/platform"
    stored = rows(runtime)
    assert stored["public_hostname"] == "id.example.com" and stored["otp_length"] == 8
    assert stored["otp_email_enabled"] is False and stored["dev_codes"] is False
    events = [
        AuditRecord.from_stream(f) for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    [update] = [e for e in events if e.type == "admin.settings.updated"]
    assert update.actor_type == "admin"
    assert update.details["after"]["public_hostname"] == "id.example.com"


def test_a_bad_platform_value_is_shown_and_nothing_is_saved(signed_in, runtime):
    response = post_form(
        signed_in, "/setup/platform", {"public_hostname": "bad host!", "otp_length": "3"}
    )
    assert response.status_code == 422
    assert (
        'class="field-error"' in response.text.split('name="public_hostname"')[1].split("</div>")[0]
    )
    assert rows(runtime) == {}


@pytest.mark.usefixtures("restore_signing_keys")
def test_rotate_the_signing_keys(signed_in, runtime):
    page = signed_in.get("/setup/service/platform").text
    assert page.count("<td>current</td>") == 3 and page.count("<td>next</td>") == 3
    with runtime.session_factory() as session:
        before = set(session.scalars(select(SigningKey.kid)))
    response = post_form(signed_in, "/setup/platform/rotate-secret")
    assert response.status_code == 303
    with runtime.session_factory() as session:
        after = set(session.scalars(select(SigningKey.kid)))
    assert len(after - before) == 3  # a new next key per algorithm
    assert any("Signing keys rotated" in m for m in flash_texts(signed_in.get("/setup/docs").text))
    assert signed_in.get("/setup/service/platform").text.count("<td>previous</td>") == 3
    # The console's own session survives: the old secret still verifies its token.
    assert signed_in.get("/setup/access").status_code == 200


def test_branding_name_and_colour_apply_to_the_console(signed_in, runtime):
    response = post_form(signed_in, "/setup/branding", {"name": "Acme Login", "colour": "#aa3300"})
    assert response.status_code == 303
    assert response.headers["location"] == "/setup/service/branding"
    assert rows(runtime)["branding"]["name"] == "Acme Login"
    assert "Acme Login" in signed_in.get("/setup/docs").text
    assert "--brand: #aa3300" in signed_in.get("/console/branding.css").text
    bad = post_form(signed_in, "/setup/branding", {"name": "X", "colour": "red;}body{"})
    assert bad.status_code == 422
    assert rows(runtime)["branding"]["colour"] == "#aa3300"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_a_logo_is_re_encoded_and_stored_under_a_server_name(signed_in, runtime, data_dir, fmt):
    files = {"file": ("../../etc/evil.svg", picture(fmt), "image/svg+xml")}
    response = post_form(signed_in, "/setup/branding/logo", files=files)
    assert response.status_code == 303
    [stored] = list((data_dir / "branding").iterdir())
    assert stored.name.startswith("logo-") and stored.suffix == ".png"
    assert Image.open(stored).format == "PNG"
    with runtime.session_factory() as session:
        assert session.get(BrandingAsset, stored.name).content_type == "image/png"
    logo = signed_in.get(f"/console/branding/logo?v={stored.name}")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert logo.content == stored.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "SVG images are not accepted",
        ),
        (b"GIF89a" + b"\x00" * 64, "Only PNG, JPEG or WebP images are accepted."),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "Only PNG, JPEG or WebP images are accepted."),
        (picture("PNG", (4097, 2), "L"), "at most 4096 x 4096 pixels"),
        (picture("GIF"), "Only PNG, JPEG or WebP images are accepted."),
    ],
)
def test_a_bad_logo_is_refused_and_nothing_is_stored(
    signed_in, runtime, data_dir, content, message
):
    response = post_form(
        signed_in, "/setup/branding/logo", files={"file": ("logo.png", content, "image/png")}
    )
    assert response.status_code == 422
    assert message in response.text
    assert not (data_dir / "branding").exists() or list((data_dir / "branding").iterdir()) == []
    assert "branding" not in rows(runtime)


def test_a_logo_too_large_in_bytes_is_refused(signed_in, data_dir):
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024 + 10)
    response = post_form(
        signed_in, "/setup/branding/logo", files={"file": ("big.png", huge, "image/png")}
    )
    assert response.status_code == 413


def test_replacing_and_removing_the_logo_removes_the_old_file(signed_in, data_dir):
    post_form(
        signed_in, "/setup/branding/logo", files={"file": ("a.png", picture("PNG"), "image/png")}
    )
    [first] = list((data_dir / "branding").iterdir())
    post_form(
        signed_in, "/setup/branding/logo", files={"file": ("b.webp", picture("WEBP"), "image/webp")}
    )
    [second] = list((data_dir / "branding").iterdir())
    assert first.name != second.name
    assert post_form(signed_in, "/setup/branding/logo/remove").status_code == 303
    assert list((data_dir / "branding").iterdir()) == []
    assert signed_in.get("/console/branding/logo").status_code == 404
