"""The OTP providers' settings forms: which fields each provider has, and form <-> API body.

Secrets are write-only: the form never shows them; left empty they keep the
stored value, and "clear" removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | number | select | textarea | headers | secret
    choices: tuple[str, ...] = ()
    help: str = ""


SMTP_FIELDS = (
    FormField("host", "SMTP host"),
    FormField("port", "Port", "number", help="587 for STARTTLS, 465 for TLS"),
    FormField("security", "Security", "select", ("starttls", "tls", "none")),
    FormField("username", "Username"),
    FormField("password", "Password", "secret"),
    FormField("from_address", "From address"),
    FormField("from_name", "From name"),
)

SMS_PROVIDERS = {
    "generic_api": (
        "Generic API",
        (
            FormField(
                "url",
                "URL",
                help="May contain {mobile}, {message} and {code}; "
                "a key or token goes in the credential header",
            ),
            FormField("method", "Method", "select", ("POST", "PUT", "GET")),
            FormField(
                "content_type",
                "Content type",
                "select",
                ("application/json", "application/x-www-form-urlencoded", "text/plain"),
            ),
            FormField("body_template", "Body template", "textarea"),
            FormField("headers", "Extra headers", "headers", help="One `Name: value` per line"),
            FormField("auth_header_name", "Credential header name"),
            FormField("auth_header_value", "Credential header value", "secret"),
            FormField("success_json_field", "Success JSON field", help="e.g. status"),
            FormField("success_json_value", "Success JSON value", help="e.g. ok"),
        ),
    ),
    "fast2sms": (
        "Fast2SMS",
        (
            FormField("api_key", "API key", "secret"),
            FormField("route", "Route", "select", ("q", "otp", "dlt")),
            FormField("sender_id", "Sender ID", help="DLT route only"),
            FormField("dlt_message_id", "DLT message ID", help="DLT route only"),
            FormField("base_url", "Base URL"),
        ),
    ),
    "carrier_email": (
        "US carrier email-to-SMS",
        (
            *SMTP_FIELDS,
            FormField(
                "default_gateway",
                "Default gateway",
                help="For users whose carrier is unknown, e.g. txt.att.net",
            ),
        ),
    ),
}
EMAIL_PROVIDER = ("smtp", "SMTP email", SMTP_FIELDS)


def config_from_form(
    values: dict[str, str], prefix: str, fields: tuple[FormField, ...]
) -> dict[str, Any]:
    """The `config` object of PUT /otp/settings from form fields named `<prefix>.<field>`."""
    config: dict[str, Any] = {}
    for field in fields:
        raw = values.get(f"{prefix}.{field.name}", "")
        if field.kind == "secret":
            if values.get(f"{prefix}.{field.name}.clear") == "on":
                config[field.name] = ""
            elif raw:
                config[field.name] = raw
            continue  # left out: the stored secret stays
        if field.kind == "headers":
            config[field.name] = parse_headers(raw)
        elif raw == "":
            continue  # the provider's default applies
        elif field.kind == "number":
            config[field.name] = int(raw) if raw.isdigit() else raw
        else:
            config[field.name] = raw
    return config


def parse_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip()] = value.strip()
    return headers


def form_from_config(prefix: str, config: dict[str, Any]) -> dict[str, str]:
    """Form values showing stored settings (secrets appear only as set / not set)."""
    values: dict[str, str] = {}
    for name, value in config.items():
        if isinstance(value, dict) and set(value) == {"set"}:
            continue
        if name == "headers" and isinstance(value, dict):
            values[f"{prefix}.{name}"] = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif value is not None:
            values[f"{prefix}.{name}"] = str(value)
    return values
