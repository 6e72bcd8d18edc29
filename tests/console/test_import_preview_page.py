"""Directory → Import users: the preview lists each row's outcome, and the previewed file stays
chosen (kept server-side under a token) so Import needs no second pick."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from console.kept_uploads import UploadKeeper
from console.security.session import SessionStore
from shared.models import UserAccount
from tests.console.support import flash_texts, post_form
from tests.factories import make_user

CSV = b"name,email\nAna,ana@example.com\nBo,bo@example.com\n"


def user_count(runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(UserAccount)) or 0)


def preview(client, content: bytes = CSV):
    files = {"file": ("people.csv", content, "text/csv")}
    return post_form(client, "/setup/directory/import", {"action": "preview"}, files=files)


def kept_token(html: str) -> str:
    found = re.search(r'name="upload_token" value="([^"]+)"', html)
    assert found, "the preview kept no file"
    return found.group(1)


def test_after_the_preview_import_uses_the_kept_file(signed_in, runtime):
    page = preview(signed_in)
    assert page.status_code == 200
    assert "Chosen file: <strong>people.csv</strong>" in page.text
    assert user_count(runtime) == 1  # the preview wrote nothing

    token = kept_token(page.text)
    done = post_form(
        signed_in, "/setup/directory/import", {"action": "import", "upload_token": token}
    )
    assert done.status_code == 303
    assert "Import done: 2 created, 0 updated, 0 unchanged." in flash_texts(
        signed_in.get("/setup/directory").text
    )
    assert user_count(runtime) == 3
    # Used once: the same token imports nothing again.
    again = post_form(
        signed_in, "/setup/directory/import", {"action": "import", "upload_token": token}
    )
    assert again.status_code == 422 and "The previewed file is no longer kept" in again.text
    assert user_count(runtime) == 3


def test_the_preview_lists_what_each_row_would_do_and_why(signed_in, admin, runtime):
    make_user(admin, name="Bo", email="bo@example.com")
    content = CSV + b"Cy,cy@example.com\n"
    table = preview(signed_in, content).text.split('id="import-rows"')[1].split("</table>")[0]
    rows = re.findall(
        r'<tr class="import-(\w+)"><td>(\d+)</td><td class="wrap">([^<]+)</td>', table
    )
    assert rows == [
        ("created", "2", "ana@example.com"),
        ("unchanged", "3", "bo@example.com"),
        ("created", "4", "cy@example.com"),
    ]
    assert "already as in the directory" in table and "new user" in table


def test_a_refused_preview_lists_the_rejected_rows_with_the_reason(signed_in, runtime):
    before = user_count(runtime)
    response = preview(signed_in, b"name,email\nAna,ana@example.com\n,not-an-email\n")
    assert response.status_code == 422
    table = response.text.split('id="import-rows"')[1].split("</table>")[0]
    assert '<tr class="import-created"><td>2</td>' in table
    rejected = table.split('<tr class="import-rejected">')[1]
    assert rejected.startswith("<td>3</td>") and "A name is required." in rejected
    assert 'name="upload_token"' not in response.text  # nothing to import from a bad file
    assert user_count(runtime) == before


def test_a_made_up_or_another_sessions_token_imports_nothing(signed_in, runtime):
    before = user_count(runtime)
    other = SessionStore(runtime).new()
    foreign = UploadKeeper(runtime).keep(other, "theirs.csv", CSV)
    assert foreign is not None
    for token in ("made-up-token", foreign.token, "x" * 500):
        response = post_form(
            signed_in, "/setup/directory/import", {"action": "import", "upload_token": token}
        )
        assert response.status_code == 422, token
        assert "The previewed file is no longer kept" in response.text
    assert user_count(runtime) == before


def test_the_kept_file_is_encrypted_and_expires(signed_in, runtime):
    preview(signed_in)
    [key] = runtime.redis.keys(runtime.keys("console", "import", "*"))
    assert b"ana@example.com" not in str(runtime.redis.get(key)).encode()
    assert 0 < runtime.redis.ttl(key) <= 900
