"""`/otp/settings`, `/otp/test-sms`, `/otp/test-email`, `/otp/carriers`: delivery settings."""

from __future__ import annotations

from fastapi import APIRouter, Request

from otp_delivery.provider_settings import service, testsend
from otp_delivery.provider_settings.schemas import (
    CarrierOut,
    EmailTestIn,
    OtpSettingsOut,
    OtpSettingsUpdate,
    SendCheckOut,
    SmsTestIn,
)
from otp_delivery.providers.carriers import US_CARRIERS
from shared.admin_auth import CurrentAdmin
from shared.contact import InvalidContact, normalize_email, normalize_mobile
from shared.db import DbSession
from shared.errors import Unprocessable, error_responses
from shared.otp_contract import Channel

router = APIRouter(prefix="/otp", tags=["delivery settings"], responses=error_responses(401, 403))


@router.get("/settings", response_model=OtpSettingsOut)
def get_settings(request: Request, db: DbSession, _: CurrentAdmin) -> OtpSettingsOut:
    """Show the SMS and email delivery settings (secrets only as set / not set)."""
    return service.current_settings(db, request.app.state.runtime)


@router.put("/settings", response_model=OtpSettingsOut, responses=error_responses(422))
def put_settings(
    request: Request, db: DbSession, admin: CurrentAdmin, body: OtpSettingsUpdate
) -> OtpSettingsOut:
    """Replace the SMS and/or email delivery settings."""
    return service.update_settings(db, request.app.state.runtime, admin, body)


@router.post("/test-sms", response_model=SendCheckOut, responses=error_responses(409, 422))
def test_sms(request: Request, db: DbSession, admin: CurrentAdmin, body: SmsTestIn) -> SendCheckOut:
    """Send a test SMS through the configured provider and report the outcome."""
    runtime = request.app.state.runtime
    try:
        mobile = normalize_mobile(body.mobile_number, runtime.settings.default_region)
    except InvalidContact as exc:
        raise Unprocessable(
            f"mobile_number: {exc}", fields=[{"field": "mobile_number", "message": str(exc)}]
        ) from exc
    return testsend.send_test(db, runtime, admin, Channel.SMS, mobile, body.mobile_carrier)


@router.post("/test-email", response_model=SendCheckOut, responses=error_responses(409, 422))
def test_email(
    request: Request, db: DbSession, admin: CurrentAdmin, body: EmailTestIn
) -> SendCheckOut:
    """Send a test email through the configured SMTP server and report the outcome."""
    runtime = request.app.state.runtime
    try:
        email = normalize_email(body.email)
    except InvalidContact as exc:
        raise Unprocessable(
            f"email: {exc}", fields=[{"field": "email", "message": str(exc)}]
        ) from exc
    return testsend.send_test(db, runtime, admin, Channel.EMAIL, email)


@router.get("/carriers", response_model=list[CarrierOut])
def list_carriers(_: CurrentAdmin) -> list[CarrierOut]:
    """List the built-in US carrier email-to-SMS gateways."""
    return [CarrierOut(key=c.key, name=c.name, gateway=c.gateway) for c in US_CARRIERS]
