"""Every HTML page the services serve sends the same strict headers: found by following the
pages' own links from where a user starts (the console, the hosted sign-in page), so a new
page cannot be left out of a hand-kept list."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

from fastapi.testclient import TestClient

from shared.web_pages import CONTENT_SECURITY_POLICY
from tests.auth.oidc_support import REDIRECT, Authorization
from tests.factories import make_app_with_key, make_user

LINK = re.compile(r'<a [^>]*href="([^"#]+)"')
GET_FORM = re.compile(r'<form [^>]*method="get"[^>]*action="([^"]+)"', re.IGNORECASE)
MAX_PAGES = 150
# Pages that answer a sign-in form may lead to the application's registered redirect URI.
HOSTED = "/auth/oidc/"
# FastAPI's interactive references (/auth/docs, /console/docs, ...) load Swagger UI's own
# scripts: they are the services' API documentation, not pages of the product.
NOT_PAGES = re.compile(r"^/[a-z-]+/docs$")


def _policy_is_ours(path: str, policy: str) -> bool:
    if policy == CONTENT_SECURITY_POLICY:
        return True
    if not path.startswith(HOSTED):
        return False
    # Only form-action may be wider, and only by the application's own origin.
    widened = re.sub(r"form-action 'self'[^;]*", "form-action 'self'", policy)
    return widened == CONTENT_SECURITY_POLICY


def _walk(client: TestClient, starts: list[str]) -> dict[str, object]:
    seen: dict[str, object] = {}
    queue = deque(starts)
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc not in ("", "testserver") or url in seen:
            continue
        response = client.get(url)
        seen[url] = response
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        for found in LINK.findall(response.text) + GET_FORM.findall(response.text):
            target = urljoin(url, found.replace("&amp;", "&"))
            if urlsplit(target).netloc in ("", "testserver") and target not in seen:
                queue.append(urlsplit(target)._replace(scheme="", netloc="").geturl())
    return seen


def test_every_page_reachable_from_the_console_and_the_sign_in_page_sends_the_headers(
    signed_in: TestClient, admin, auth_client, admin_headers
):
    app, _ = make_app_with_key(admin)
    make_user(admin, applications=[app["id"]])
    auth_client.put(
        f"/auth/admin/oidc/clients/{app['id']}",
        json={"redirect_uris": [REDIRECT]},
        headers=admin_headers,
    )
    hosted = f"/auth/oidc/authorize?{Authorization.with_pkce(app['id']).query()}"
    pages = _walk(signed_in, ["/setup", hosted, "/auth/oidc/logout", "/account"])
    html = {
        url: r
        for url, r in pages.items()
        if r.headers.get("content-type", "").startswith("text/html")  # type: ignore[attr-defined]
        and not NOT_PAGES.match(url)
    }
    # The walk found the sections, the pages below them and the hosted pages.
    assert len(html) >= 12, sorted(html)
    assert any(url.startswith("/setup/applications/") for url in html)
    assert any(url.startswith("/setup/directory/users/") for url in html)
    assert any(url.startswith(HOSTED) for url in html)
    assert "/account" in html
    for url, response in html.items():
        headers = response.headers  # type: ignore[attr-defined]
        assert _policy_is_ours(url, headers.get("content-security-policy", "")), url
        assert "frame-ancestors 'none'" in headers["content-security-policy"], url
        assert headers.get("x-frame-options") == "DENY", url
        assert headers.get("x-content-type-options") == "nosniff", url
        assert headers.get("referrer-policy") == "same-origin", url
        assert headers.get("cache-control") == "no-store", url
        for cookie in headers.get_list("set-cookie"):
            assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower(), (url, cookie)
