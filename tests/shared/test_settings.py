"""Settings refuse unsafe production configurations and read secrets from files."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Environment, Settings, load_settings

STRONG = "k" * 40


@pytest.fixture(autouse=True)
def _no_identity_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test states its own environment; nothing leaks in from the shell."""
    for name in list(os.environ):
        if name.upper().startswith("IDENTITY_"):
            monkeypatch.delenv(name)


def test_production_is_the_default_and_needs_a_secret_key() -> None:
    with pytest.raises(ValidationError, match="IDENTITY_SECRET_KEY"):
        Settings()


@pytest.mark.parametrize("secret", ["change-me", "ChangeMe", "secret", "dev", "short-but-random"])
def test_production_refuses_placeholder_or_short_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="IDENTITY_SECRET_KEY"):
        Settings()


def test_production_refuses_a_weak_key_among_rotation_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEY", f"{STRONG},changeme")
    with pytest.raises(ValidationError, match="IDENTITY_SECRET_KEY"):
        Settings()


def test_production_accepts_strong_keys_and_lists_them_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    older = "o" * 32
    monkeypatch.setenv("IDENTITY_SECRET_KEY", f"{STRONG}, {older}")
    settings = Settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.secret_keys() == [STRONG, older]


def test_production_refuses_dev_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEY", STRONG)
    monkeypatch.setenv("IDENTITY_DEV_CODES", "true")
    with pytest.raises(ValidationError, match="DEV_CODES"):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDENTITY_DATABASE_URL", "sqlite:///identity.db"),
        ("IDENTITY_REDIS_URL", "memory://identity"),
    ],
)
def test_production_refuses_embedded_storage(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEY", STRONG)
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="dev only"):
        Settings()


def test_dev_allows_what_production_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENV", "dev")
    monkeypatch.setenv("IDENTITY_DEV_CODES", "1")
    monkeypatch.setenv("IDENTITY_DATABASE_URL", "sqlite:///identity.db")
    settings = Settings()
    assert settings.is_dev
    assert settings.dev_codes is True
    assert settings.secret_keys() == []


def test_trusted_proxies_comma_list_is_parsed_and_normalised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_ENV", "test")
    monkeypatch.setenv("IDENTITY_TRUSTED_PROXIES", " 10.0.0.7/8 , 192.168.1.1,, fd00::1/64 ")
    settings = Settings()
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.1/32", "fd00::/64"]
    assert settings.trusted_proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.1.1/32"),
        ipaddress.ip_network("fd00::/64"),
    )


def test_trusted_proxies_default_to_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_ENV", "test")
    assert Settings().trusted_proxy_networks == ()


@pytest.mark.parametrize("value", ["10.0.0.0/33", "not-a-network", "10.0.0.0/8,300.1.1.1"])
def test_bad_trusted_proxy_is_an_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("IDENTITY_ENV", "test")
    monkeypatch.setenv("IDENTITY_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IDENTITY_PASSWORD_HASHING_PROCESSES", "-1"),
        ("IDENTITY_PASSWORD_HASHING_PROCESSES", "1000"),
        ("IDENTITY_PASSWORD_HASHING_PROCESSES", "all of them"),
        ("IDENTITY_AUDIT_BATCH_LINGER_MS", "-5"),
        ("IDENTITY_AUDIT_BATCH_LINGER_MS", "60000"),
    ],
)
def test_out_of_range_tuning_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("IDENTITY_ENV", "test")
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("IDENTITY_").lower()):
        Settings()


def test_secrets_are_read_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Docker/Kubernetes secrets: one file per variable, usually with a trailing newline.
    (tmp_path / "identity_secret_key").write_text(STRONG + "\n")
    (tmp_path / "identity_database_url").write_text("mysql+pymysql://app:pw@db/identity\n")
    monkeypatch.setenv("IDENTITY_SECRETS_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.secret_keys() == [STRONG]
    assert settings.database_url == "mysql+pymysql://app:pw@db/identity"


def test_environment_wins_over_secret_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "identity_secret_key").write_text(STRONG)
    monkeypatch.setenv("IDENTITY_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("IDENTITY_SECRET_KEY", "e" * 32)
    assert load_settings().secret_keys() == ["e" * 32]


def test_weak_secret_file_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "identity_secret_key").write_text("change-me\n")
    monkeypatch.setenv("IDENTITY_SECRETS_DIR", str(tmp_path))
    with pytest.raises(ValidationError, match="IDENTITY_SECRET_KEY"):
        load_settings()


def test_load_settings_without_secrets_dir_uses_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_SECRET_KEY", STRONG)
    settings = load_settings(service_name="directory")
    assert settings.service_name == "directory"
    assert settings.secret_keys() == [STRONG]
