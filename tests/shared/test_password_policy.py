"""Password policy (NIST 800-63B): length, nothing personal, nothing common."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.errors import Unprocessable
from shared.security import password_policy
from shared.security.password_policy import WeakPassword, check_password, common_passwords

PERSONAL = ("Ada Lovelace", "ada.lovelace@example.com", "+14155550100")


def _check(password: str) -> None:
    check_password(password, min_length=12, personal=PERSONAL)


@pytest.fixture
def common_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Point the policy at a list of our own, and forget the cached one afterwards."""
    path = tmp_path / "common_passwords.txt"
    monkeypatch.setattr(password_policy, "COMMON_PASSWORDS_FILE", path)
    common_passwords.cache_clear()
    yield path
    common_passwords.cache_clear()


def test_a_long_unrelated_password_is_accepted() -> None:
    _check("violet-harbour-engine-41")


def test_weak_password_is_a_422_with_its_own_code() -> None:
    with pytest.raises(WeakPassword) as caught:
        _check("short")
    assert isinstance(caught.value, Unprocessable)
    assert caught.value.status_code == 422
    assert caught.value.code == "weak_password"
    assert caught.value.message == "Password must be at least 12 characters."


def test_length_limits_are_inclusive() -> None:
    _check("v" * 11 + "!")
    _check("violet-" + "x" * 121)
    with pytest.raises(WeakPassword, match="at least 12"):
        _check("v" * 10 + "!")
    with pytest.raises(WeakPassword, match="at most 128"):
        _check("violet-" + "x" * 122)


def test_length_counts_characters_after_normalisation() -> None:
    # Six "ﬃ" ligatures are 18 characters once normalised.
    _check("\ufb03" * 6)


def test_minimum_length_comes_from_the_caller() -> None:
    check_password("violet-harbour", min_length=8, personal=())
    with pytest.raises(WeakPassword, match="at least 20"):
        check_password("violet-harbour", min_length=20, personal=())


@pytest.mark.parametrize(
    "password",
    [
        "my name is ada lovelace!",  # full name, any case
        "LOVELACE-rules-forever",  # one word of the name
        "ada.lovelace@example.com",  # email
        "xx-ada.lovelace-2024-xx",  # email's local part
        "call me on 14155550100",  # mobile without the +
        "+14155550100-is-my-number",  # mobile as stored
    ],
)
def test_personal_information_is_refused(password: str) -> None:
    with pytest.raises(WeakPassword, match="name, email or mobile"):
        _check(password)


def test_short_fragments_and_missing_values_are_ignored() -> None:
    # "Ada" is shorter than four characters: too common a substring to refuse.
    check_password("adamant-harbour-41", min_length=12, personal=("Ada Li", None, ""))


def test_common_password_from_the_list_is_refused(common_list: Path) -> None:
    common_list.write_text("Password123456\nqwertyuiopasdf\n\n", encoding="utf-8")
    with pytest.raises(WeakPassword, match="too common"):
        _check("password123456")
    with pytest.raises(WeakPassword, match="too common"):
        _check("QWERTYUIOPASDF")
    _check("violet-harbour-engine-41")


def test_missing_common_list_refuses_nothing_as_common(common_list: Path) -> None:
    assert not common_list.exists()
    assert common_passwords() == frozenset()
    _check("password123456")


def test_email_domain_words_are_not_personal() -> None:
    check_password("example-harbour-41", min_length=12, personal=("x.y@example.com",))
