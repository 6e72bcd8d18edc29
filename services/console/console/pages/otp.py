"""OTP providers: a tab per channel (SMS, email), each with its delivery settings and its test
(Test SMS, Test email) with the outcome; recent deliveries below both."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console.api import Api, ApiError
from console.otp_forms import (
    EMAIL_PROVIDER,
    SMS_PROVIDERS,
    config_from_form,
    form_from_config,
)
from console.pages.common import SignedIn, checked, form_values, offset_of, page_router, pager
from console.rendering import redirect, render, session_of

router = page_router()
DELIVERIES_PAGE = 20


def _stored_values(settings: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    sms, email = settings.get("sms"), settings.get("email")
    defaults = settings.get("defaults") or {}
    values["sms.template"] = (sms or {}).get("template") or defaults.get("sms_template", "")
    values["email.template"] = (email or {}).get("template") or defaults.get("email_template", "")
    values["email.subject"] = (email or {}).get("subject") or defaults.get("email_subject", "")
    if sms:
        values["sms.provider"] = sms["provider"]
        values["sms.is_enabled"] = "on" if sms["is_enabled"] else ""
        values.update(form_from_config(sms["provider"], sms["config"]))
    if email:
        values["email.is_enabled"] = "on" if email["is_enabled"] else ""
        values.update(form_from_config("smtp", email["config"]))
    return values


async def otp_page(
    request: Request,
    api: Api,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
    test_result: dict[str, Any] | None = None,
) -> Response:
    offset = offset_of(request)
    settings = await api.get("/otp/settings")
    carriers = await api.get("/otp/carriers")
    deliveries = await api.get(
        "/otp/deliveries", params={"offset": offset, "limit": DELIVERIES_PAGE}
    )
    shown = _stored_values(settings)
    if values:
        shown.update(values)
    context = {
        "settings": settings,
        "carriers": carriers,
        "sms_providers": SMS_PROVIDERS,
        "email_provider": EMAIL_PROVIDER,
        "deliveries": deliveries["items"],
        "page": pager(deliveries["total"], offset, DELIVERIES_PAGE),
        "test_result": test_result,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": shown,
    }
    status = error.status if error else 200
    email_forms = ("email", "test-email")
    asked = request.query_params.get("tab")
    context["tab"] = "email" if form in email_forms or asked == "email" else "sms"
    return await render(request, "otp.html", context, section="otp", status_code=status)


@router.get("/otp")
async def otp_providers(request: Request, api: Api, _: SignedIn) -> Response:
    return await otp_page(request, api)


@router.post("/otp/sms")
async def save_sms(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    provider = values.get("sms.provider", "")
    fields = SMS_PROVIDERS.get(provider, ("", ()))[1]
    sms = {
        "provider": provider,
        "is_enabled": checked(values, "sms.is_enabled"),
        "template": values.get("sms.template", ""),
        "config": config_from_form(values, provider, fields),
    }
    return await _save(request, api, {"sms": sms}, "sms", values, "SMS delivery settings saved.")


@router.post("/otp/email")
async def save_email(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    email = {
        "provider": "smtp",
        "is_enabled": checked(values, "email.is_enabled"),
        "subject": values.get("email.subject", ""),
        "template": values.get("email.template", ""),
        "config": config_from_form(values, "smtp", EMAIL_PROVIDER[2]),
    }
    return await _save(
        request, api, {"email": email}, "email", values, "Email delivery settings saved."
    )


async def _save(
    request: Request,
    api: Api,
    body: dict[str, Any],
    form: str,
    values: dict[str, str],
    done: str,
) -> Response:
    try:
        await api.call("PUT", "/otp/settings", json=body)
    except ApiError as exc:
        return await otp_page(request, api, error=exc, form=form, values=values)
    session_of(request).notify(done)
    return redirect("/setup/otp?tab=email" if form == "email" else "/setup/otp")


@router.post("/otp/test-sms")
async def send_test_sms(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    body = {"mobile_number": values.get("mobile_number", "")}
    if values.get("mobile_carrier"):
        body["mobile_carrier"] = values["mobile_carrier"]
    try:
        result = await api.post("/otp/test-sms", json=body)
    except ApiError as exc:
        return await otp_page(request, api, error=exc, form="test-sms", values=values)
    return await otp_page(request, api, values=values, test_result={"channel": "SMS", **result})


@router.post("/otp/test-email")
async def send_test_email(request: Request, api: Api, _: SignedIn) -> Response:
    values = await form_values(request)
    try:
        result = await api.post("/otp/test-email", json={"email": values.get("email", "")})
    except ApiError as exc:
        return await otp_page(request, api, error=exc, form="test-email", values=values)
    return await otp_page(
        request, api, form="test-email", values=values, test_result={"channel": "Email", **result}
    )
