"""The auth and console fixtures, shared here so each hostile case sits beside its kin.

Imported (not redefined) so the security tests run the very setup the auth and
console tests do: an app with its key and a member, the captured OTP outbox,
and the console served with every service in one ASGI app.
"""

from __future__ import annotations

from tests.auth.conftest import application, caller, member, outbox
from tests.console.conftest import (
    browser_like,
    console,
    console_admin,
    console_app,
    signed_in,
    whole_system,
)

__all__ = [
    "application",
    "browser_like",
    "caller",
    "console",
    "console_admin",
    "console_app",
    "member",
    "outbox",
    "signed_in",
    "whole_system",
]
