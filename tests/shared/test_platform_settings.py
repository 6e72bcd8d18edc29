"""Platform settings changed in the console reach every service's Runtime.settings."""

from __future__ import annotations

import time

from shared.invalidation import Topic
from shared.models.console import PlatformSetting
from shared.platform import apply_overrides
from shared.runtime import Runtime
from shared.settings import Environment


def store(runtime, **values) -> None:
    with runtime.session_factory() as session:
        for key, value in values.items():
            session.merge(PlatformSetting(key=key, value=value))
        session.commit()


def test_rows_are_laid_over_the_environment_on_invalidation(runtime):
    base_ttl = runtime.base_settings.otp_ttl_seconds
    store(runtime, otp_ttl_seconds=120, public_hostname="id.example.com")
    assert runtime.settings.otp_ttl_seconds == base_ttl  # not yet told
    runtime.bus.publish(Topic.PLATFORM)
    assert runtime.settings.otp_ttl_seconds == 120
    assert runtime.settings.public_hostname == "id.example.com"
    assert runtime.base_settings.otp_ttl_seconds == base_ttl


def test_another_replica_picks_the_change_up_over_pubsub(runtime, settings):
    replica = Runtime(settings)
    replica.start()
    try:
        store(runtime, otp_length=8)
        runtime.bus.publish(Topic.PLATFORM)
        deadline = time.monotonic() + 5
        while replica.settings.otp_length != 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert replica.settings.otp_length == 8
    finally:
        replica.stop()
        replica.close()


def test_values_that_do_not_fit_are_ignored(settings):
    effective = apply_overrides(settings, {"otp_length": "many", "otp_sms_enabled": False})
    assert effective.otp_length == settings.otp_length
    assert effective.otp_sms_enabled is False


def test_dev_codes_never_on_in_production(settings):
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    assert apply_overrides(production, {"dev_codes": True}).dev_codes is False
    assert apply_overrides(settings, {"dev_codes": True}).dev_codes is True
