"""The console's API docs show each endpoint's call through the client, beside curl, and
every call they show is one the client has."""

from __future__ import annotations

import html
import re

from identity_client import AsyncIdentityClient, IdentityClient, SyncWalker

from console.apidocs.catalog import CLIENT_CALLS, ENDPOINTS


def test_every_endpoint_has_a_client_call_the_client_really_has():
    assert set(CLIENT_CALLS) == {(m, p) for m, p, _ in ENDPOINTS}
    for snippet in CLIENT_CALLS.values():
        for name in re.findall(r"identity\.(\w+)\(", snippet):
            assert callable(getattr(IdentityClient, name)), name
            assert callable(getattr(AsyncIdentityClient, name)), name
    assert callable(SyncWalker.run)


def test_the_api_docs_page_shows_curl_and_the_client(signed_in):
    page = signed_in.get("/setup/api-docs").text
    login = page.split('id="post-auth-login"')[1].split("</section>")[0]
    curl = html.unescape(login.split("<h3>With curl</h3>")[1].split("</pre>")[0])
    assert "curl -X POST" in curl and "/auth/login" in curl and '"login":' in curl
    assert "X-Auth-Service-Key: ask_your_api_key" in curl
    assert "identity.login(" in login
    assert "from identity_client import IdentityClient" in html.unescape(page)
