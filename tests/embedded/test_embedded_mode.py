"""`make dev`'s configuration: one process, SQLite, in-process Redis, same paths as behind Traefik."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.embedded


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dev_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("IDENTITY_")}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("dev-data")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port), "--data-dir", str(data_dir)],
        env=dev_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/directory/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"embedded mode did not start:\n{output}")
            time.sleep(0.2)
        yield base, data_dir
    finally:
        process.terminate()
        process.wait(timeout=10)


def cli(data_dir: Path, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    env = {**dev_env(), "IDENTITY_ADMIN_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "-m", "auth.cli", "--dev", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serves_setup_page_and_health(embedded):
    base, data_dir = embedded
    assert httpx.get(f"{base}/setup").status_code == 200
    ready = httpx.get(f"{base}/directory/readyz").json()
    assert ready == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    assert (data_dir / "identity.db").exists()
    assert httpx.get(f"{base}/users/sync").json()["error"]["code"] == "invalid_api_key"


def test_weak_admin_password_refused(embedded):
    _, data_dir = embedded
    result = cli(
        data_dir, "create-admin", "--name", "X", "--email", "x@example.com", password="short"
    )
    assert result.returncode == 2
    assert "at least" in result.stderr


def test_admin_bootstrap_sign_in_and_directory_round_trip(embedded):
    base, data_dir = embedded
    created = cli(
        data_dir,
        "create-admin",
        "--name",
        "Dev Admin",
        "--email",
        "dev@example.com",
        password="a long dev passphrase",
    )
    assert created.returncode == 0, created.stderr
    signed_in = httpx.post(
        f"{base}/auth/admin/login",
        json={"login": "dev@example.com", "password": "a long dev passphrase"},
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    response = httpx.post(
        f"{base}/directory/users",
        json={"name": "Linus", "email": "linus@example.com"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    listed = httpx.get(f"{base}/directory/users", params={"q": "linus"}, headers=headers)
    assert [u["email"] for u in listed.json()["items"]] == ["linus@example.com"]
    assert httpx.get(f"{base}/directory/users").status_code == 401
    # Only while no administrator exists.
    again = cli(
        data_dir,
        "create-admin",
        "--name",
        "Two",
        "--email",
        "two@example.com",
        password="another long passphrase",
    )
    assert again.returncode == 2


def test_refuses_production_settings(tmp_path):
    env = {**dev_env(), "IDENTITY_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "embedded", "--data-dir", str(tmp_path), "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "dev only" in result.stderr
