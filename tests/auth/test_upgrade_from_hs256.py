"""An upgrade from HS256 platform secrets: a populated database, migrated forward, keeps its
signed-in users signed in until their tokens expire, and new tokens are asymmetric."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pymysql
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, create_engine

from auth.app import create_app
from auth.sessions.tokens import hash_refresh_token
from shared.migrate import upgrade
from shared.runtime import Runtime
from shared.security.api_keys import generate_api_key
from shared.security.encryption import SecretBox
from shared.settings import Settings
from shared.sync_contract import compute_sync_hash
from shared.testing.plugin import MYSQL_URL, _mysql_params
from tests.conftest import PEER

BEFORE_ASYMMETRIC_KEYS = "0003"


@pytest.fixture
def old_database() -> Iterator[str]:
    name = f"identity_upgrade_{uuid.uuid4().hex[:12]}"
    server = pymysql.connect(autocommit=True, **_mysql_params())
    with server.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield f"{MYSQL_URL}/{name}"
    finally:
        with server.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def _populate_as_the_old_release_did(url: str, box: SecretBox, issuer: str) -> dict[str, str]:
    """Rows as the HS256 release left them, written against its schema (reflected, not the
    models of today), and an access token that release signed."""
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    now = datetime.now(UTC).replace(tzinfo=None)
    user, app, session = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    key = generate_api_key()
    secret, kid = secrets.token_urlsafe(48), secrets.token_hex(8)
    refresh = "rt_" + secrets.token_urlsafe(32)
    fields = {
        "name": "Old Timer",
        "email": "old.timer@example.com",
        "mobile_number": None,
        "emp_id": None,
        "status": "active",
    }
    rows = {
        "signing_key": {"kid": kid, "secret_encrypted": box.encrypt(secret), "created_at": now},
        "user_account": {
            **fields,
            "id": user.hex,
            "is_admin": False,
            "mfa_enabled": False,
            "sync_hash": compute_sync_hash(fields),
            "created_at": now,
            "updated_at": now,
        },
        "application": {
            "id": app.hex,
            "name": "legacy-app",
            "status": "active",
            "created_at": now,
            "updated_at": now,
        },
        "allowed_network": {"application_id": app.hex, "cidr": "127.0.0.1/32", "position": 0},
        "api_key": {
            "id": uuid.uuid4().hex,
            "application_id": app.hex,
            "prefix": key.prefix,
            "key_hash": key.key_hash,
            "status": "active",
            "created_at": now,
        },
        "assignment": {"user_id": user.hex, "application_id": app.hex, "created_at": now},
        "auth_session": {
            "id": session.hex,
            "user_id": user.hex,
            "application_id": app.hex,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + timedelta(days=30),
            "absolute_expires_at": now + timedelta(days=90),
        },
        "refresh_token": {
            "id": uuid.uuid4().hex,
            "session_id": session.hex,
            "token_hash": hash_refresh_token(refresh),
            "created_at": now,
            "expires_at": now + timedelta(days=30),
        },
    }
    with engine.begin() as connection:
        for table, row in rows.items():
            connection.execute(tables.tables[table].insert(), [row])
    engine.dispose()
    issued = int(time.time())
    claims = {
        "iss": issuer,
        "sub": str(user),
        "aud": str(app),
        "iat": issued,
        "exp": issued + 900,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "sid": str(session),
    }
    access = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})
    return {"api_key": key.plaintext, "access": access, "refresh": refresh, "user": str(user)}


def test_tokens_of_the_hs256_release_keep_working_after_the_upgrade(
    old_database: str, settings: Settings
) -> None:
    upgrade(old_database, BEFORE_ASYMMETRIC_KEYS)
    box = SecretBox(settings.secret_keys())
    old = _populate_as_the_old_release_did(old_database, box, settings.issuer)

    upgrade(old_database)
    upgraded = settings.model_copy(
        update={"database_url": old_database, "redis_prefix": f"upgrade-{uuid.uuid4().hex[:8]}:"}
    )
    runtime = Runtime(upgraded)
    try:
        with TestClient(create_app(runtime), client=PEER) as client:
            headers = {"X-Auth-Service-Key": old["api_key"]}
            session = client.get(
                "/auth/session", headers={**headers, "Authorization": f"Bearer {old['access']}"}
            )
            assert session.status_code == 200, session.text
            assert session.json()["user"]["auth_user_id"] == old["user"]

            refreshed = client.post(
                "/auth/token/refresh", headers=headers, json={"refresh_token": old["refresh"]}
            )
            assert refreshed.status_code == 200, refreshed.text
            fresh = refreshed.json()["access_token"]
            assert jwt.get_unverified_header(fresh)["alg"] == "RS256"
            bearer = {**headers, "Authorization": f"Bearer {fresh}"}
            assert client.get("/auth/session", headers=bearer).status_code == 200
            # The old secret verifies only what it signed: it is not in the published set,
            # and it signs nothing new.
            published = client.get("/.well-known/jwks.json").json()["keys"]
            old_kid = jwt.get_unverified_header(old["access"])["kid"]
            assert old_kid not in {k["kid"] for k in published}
    finally:
        for key in runtime.redis.scan_iter(match=upgraded.redis_prefix + "*"):
            runtime.redis.delete(key)
        runtime.close()
