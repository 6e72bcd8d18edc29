"""The rendered ConfigMap and Secret, loaded as each service loads its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import Settings, load_settings
from tests.deploy.conftest import Rendered

STRONG_KEY = "k8s-test-" + "x" * 40


def _secret_volume(folder: Path, secrets: dict[str, str]) -> Path:
    """A directory laid out as the kubelet mounts a Secret: each key a symlink into ..data."""
    data = folder / "..2026_01_01_00_00_00.000000000"
    data.mkdir(parents=True)
    for key, value in secrets.items():
        (data / key).write_text(value)
    (folder / "..data").symlink_to(data.name)
    for key in secrets:
        (folder / key).symlink_to(f"..data/{key}")
    return folder


def _load(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], secrets_dir: Path) -> Settings:
    import os

    for name in list(os.environ):
        if name.startswith("IDENTITY_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IDENTITY_SECRETS_DIR", str(secrets_dir))
    return load_settings()


@pytest.mark.parametrize("service", ["auth", "auth-session", "directory", "console", "otp-worker"])
def test_each_service_gets_its_settings_and_secrets(
    overlay: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    secrets = {**overlay.secrets, "IDENTITY_SECRET_KEY": STRONG_KEY}
    folder = _secret_volume(tmp_path / "secrets", secrets)
    (container,) = overlay.deployments()[service]["spec"]["template"]["spec"]["containers"]
    env = {**overlay.settings, **{e["name"]: e["value"] for e in container.get("env", [])}}
    settings = _load(monkeypatch, env, folder)
    assert settings.secret_key.get_secret_value() == STRONG_KEY
    assert settings.database_url == overlay.secrets["IDENTITY_DATABASE_URL"]
    assert settings.redis_url == overlay.secrets["IDENTITY_REDIS_URL"]
    assert settings.public_hostname == overlay.settings["IDENTITY_PUBLIC_HOSTNAME"]
    assert settings.issuer == overlay.settings["IDENTITY_TOKEN_ISSUER"]


def test_the_example_secrets_are_refused_in_production(
    overlay: Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # secrets.env.example leaves the key empty: applied unchanged, nothing starts.
    assert overlay.secrets["IDENTITY_SECRET_KEY"] == ""
    folder = _secret_volume(tmp_path / "secrets", overlay.secrets)
    with pytest.raises(ValueError, match="IDENTITY_SECRET_KEY"):
        _load(monkeypatch, overlay.settings, folder)
