"""scripts/backup.sh and scripts/restore.sh, as README "Backup and restore" tells an operator
to run them: a database populated through the API is backed up with its branding files,
restored into a new database and data directory, and everything still works there: sign-in
(the signing keys decrypt), the users and assignments, the application's API key, the logo."""

from __future__ import annotations

import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import make_url

from auth.app import create_app as create_auth_app
from console.app import create_app as create_console_app
from directory.app import create_app as create_directory_app
from shared.runtime import Runtime
from shared.settings import Settings
from shared.testing.plugin import _mysql_params
from tests.auth.support import PASSWORD
from tests.conftest import PEER
from tests.factories import make_app_with_key, make_user

ROOT = Path(__file__).resolve().parents[2]


def run_script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def script_env(database: str, data_dir: Path) -> dict[str, str]:
    params = _mysql_params()
    return {
        "DB_HOST": params["host"],
        "DB_PORT": str(params["port"]),
        "DB_USER": params["user"],
        "MYSQL_PWD": params["password"],
        "DB_NAME": database,
        "DATA_DIR": str(data_dir),
    }


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "teal").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def restored_database(settings: Settings) -> Iterator[str]:
    name = f"identity_restore_{secrets.token_hex(4)}"
    yield name
    connection = pymysql.connect(autocommit=True, **_mysql_params())
    with connection.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    connection.close()


@pytest.fixture
def populated(
    runtime: Runtime, admin: TestClient, admin_headers: dict[str, str], tmp_path, monkeypatch
) -> dict[str, Any]:
    """Through the API: an administrator with a password, an application and its key, a user
    assigned to it, and an uploaded logo in the data directory."""
    data_dir = tmp_path / "data"
    monkeypatch.setattr(runtime.settings, "data_dir", data_dir)
    operator = make_user(
        admin, name="Olga Operator", is_admin=True, password=PASSWORD, email="olga@example.com"
    )
    app, key = make_app_with_key(admin, name="Payroll")
    member = make_user(admin, name="Mia Member", applications=[app["id"]])
    with TestClient(create_console_app(runtime), client=PEER, headers=admin_headers) as console:
        answer = console.post(
            "/console/api/platform/logo", files={"file": ("logo.png", png(), "image/png")}
        )
        assert answer.status_code == 200, answer.text
    [logo] = list((data_dir / "branding").iterdir())
    return {"operator": operator, "key": key, "member": member, "logo": logo, "data": data_dir}


def test_a_backup_restored_into_a_new_database_works_as_the_original(
    settings: Settings, populated: dict[str, Any], restored_database: str, tmp_path: Path
):
    database = make_url(settings.database_url).database or ""
    backup_dir, restored_dir = tmp_path / "backup", tmp_path / "restored"
    backed_up = run_script(
        "backup.sh", str(backup_dir), env=script_env(database, populated["data"])
    )
    assert backed_up.returncode == 0, backed_up.stderr
    assert {p.name for p in backup_dir.iterdir()} == {
        "database.sql.gz",
        "branding.tar.gz",
        "SHA256SUMS",
    }

    env = script_env(restored_database, restored_dir)
    restored = run_script("restore.sh", str(backup_dir), env=env)
    assert restored.returncode == 0, restored.stderr

    url = make_url(settings.database_url).set(database=restored_database)
    # `python -m shared.migrate` after a restore (README "Upgrading"): at head already, a no-op.
    migrated = subprocess.run(
        [sys.executable, "-m", "shared.migrate"],
        env={**os.environ, "IDENTITY_DATABASE_URL": url.render_as_string(hide_password=False),
             "IDENTITY_SECRET_KEY": settings.secret_key.get_secret_value(), "IDENTITY_ENV": "test"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr

    runtime = Runtime(
        settings.model_copy(
            update={
                "database_url": url.render_as_string(hide_password=False),
                "redis_prefix": f"{settings.redis_prefix}restored:",
                "data_dir": restored_dir,
            }
        )
    )
    try:
        with TestClient(create_auth_app(runtime), client=PEER) as auth:
            signed_in = auth.post(
                "/auth/admin/login", json={"login": "olga@example.com", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
            token = signed_in.json()["access_token"]
        with TestClient(create_directory_app(runtime), client=PEER) as directory:
            users = directory.get(
                "/directory/users", headers={"Authorization": f"Bearer {token}"}
            ).json()
            assert {"Olga Operator", "Mia Member"} <= {u["name"] for u in users["items"]}
            sync = directory.get("/users/sync", headers={"X-Auth-Service-Key": populated["key"]})
            assert sync.status_code == 200, sync.text
            assert [u["name"] for u in sync.json()["users"]] == ["Mia Member"]
        with TestClient(create_console_app(runtime), client=PEER) as console:
            logo = console.get("/console/branding/logo")
            assert logo.status_code == 200
            assert logo.content == populated["logo"].read_bytes()
    finally:
        for key in runtime.redis.scan_iter(match=f"{settings.redis_prefix}restored:*"):
            runtime.redis.delete(key)
        runtime.close()

    # A restore never merges into live data: a second one is refused and changes nothing.
    again = run_script("restore.sh", str(backup_dir), env=env)
    assert again.returncode == 1 and "already has" in again.stderr


def test_a_damaged_backup_is_refused_before_anything_is_written(
    settings: Settings, populated: dict[str, Any], restored_database: str, tmp_path: Path
):
    database = make_url(settings.database_url).database or ""
    backup_dir = tmp_path / "backup"
    assert (
        run_script(
            "backup.sh", str(backup_dir), env=script_env(database, populated["data"])
        ).returncode
        == 0
    )
    with (backup_dir / "database.sql.gz").open("ab") as dump:
        dump.write(b"tampered")
    refused = run_script(
        "restore.sh", str(backup_dir), env=script_env(restored_database, tmp_path / "r")
    )
    assert refused.returncode != 0
    connection = pymysql.connect(autocommit=True, **_mysql_params())
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
            (restored_database,),
        )
        assert cur.fetchone() == (0,)
    connection.close()
    assert not (tmp_path / "r").exists()
