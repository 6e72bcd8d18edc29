"""Test helpers: configure providers through the admin API, enqueue deliveries, read the log."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from shared.models.base import utcnow
from shared.models.otp import OtpDelivery
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.otp_sender import CeleryOtpSender
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, SmtpSink

API_KEY = "f2s-" + "k" * 40  # a recognisable secret to look for in logs and answers


def generic_api_settings(sink: HttpSink, **overrides: Any) -> dict[str, Any]:
    config = {
        "url": sink.url + "/sms/send",
        "method": "POST",
        "headers": {"X-Client": "identity-tests"},
        "auth_header_name": "Authorization",
        "auth_header_value": f"Bearer {API_KEY}",
        "body_template": '{"to": "{mobile}", "text": "{message}", "otp": "{code}"}',
        "success_json_field": "ok",
        "success_json_value": "true",
    }
    return {"sms": {"provider": "generic_api", "config": {**config, **overrides}}}


def fast2sms_settings(sink: HttpSink, route: str = "q") -> dict[str, Any]:
    return {
        "sms": {
            "provider": "fast2sms",
            "config": {"base_url": sink.url, "route": route, "api_key": API_KEY},
        }
    }


def smtp_config(sink: SmtpSink, **overrides: Any) -> dict[str, Any]:
    return {
        "host": sink.host,
        "port": sink.port,
        "security": "none",
        "from_address": "otp@identity.example.com",
        "from_name": "Identity",
        **overrides,
    }


def carrier_settings(sink: SmtpSink, default_gateway: str | None = None) -> dict[str, Any]:
    config = smtp_config(sink, default_gateway=default_gateway)
    return {"sms": {"provider": "carrier_email", "config": config}}


def email_settings(sink: SmtpSink) -> dict[str, Any]:
    return {"email": {"provider": "smtp", "config": smtp_config(sink)}}


def configure(admin: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = admin.put("/otp/settings", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def enqueue(
    runtime: Runtime,
    destination: str,
    *,
    channel: Channel = Channel.SMS,
    expires_in: float = 300,
    carrier: str | None = None,
    delivery_id: uuid.UUID | None = None,
) -> tuple[OtpDeliveryTask, str]:
    """What the auth service does after a code request commits; the task and its code."""
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    task = OtpDeliveryTask(
        delivery_id=delivery_id or uuid.uuid4(),
        channel=channel,
        purpose=Purpose.LOGIN,
        destination=destination,
        mobile_carrier=carrier,
        secret_encrypted=runtime.box.encrypt(code),
        requested_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )
    producer(runtime)(task)
    return task, code


_producers: dict[str, CeleryOtpSender] = {}


def producer(runtime: Runtime) -> CeleryOtpSender:
    """The auth service's producer (not `runtime.send_otp`, which other tests may stub)."""
    prefix = runtime.settings.redis_prefix
    if prefix not in _producers:
        _producers[prefix] = CeleryOtpSender.from_settings(runtime.settings, runtime.box)
    return _producers[prefix]


def delivery_row(runtime: Runtime, delivery_id: uuid.UUID) -> OtpDelivery | None:
    with runtime.session_factory() as session:
        return session.get(OtpDelivery, delivery_id)


def final_row(runtime: Runtime, delivery_id: uuid.UUID) -> OtpDelivery | None:
    row = delivery_row(runtime, delivery_id)
    return row if row is not None and row.status != "queued" else None


def celery_backlog(runtime: Runtime) -> int:
    """Messages still queued or held unacknowledged by some worker under this run's prefix."""
    prefix = f"{runtime.settings.redis_prefix}celery:"
    return int(runtime.redis.llen(prefix + "otp")) + int(runtime.redis.hlen(prefix + "unacked"))
