"""Which channel a code goes out on: what was asked for, else what the user has."""

from __future__ import annotations

from dataclasses import dataclass

from auth.errors import ChannelUnavailable
from shared.contact import Login
from shared.models import UserAccount
from shared.otp_contract import Channel
from shared.settings import Settings


@dataclass(frozen=True)
class Route:
    channel: Channel
    destination: str


def enabled_channels(settings: Settings) -> set[Channel]:
    enabled = set()
    if settings.otp_sms_enabled:
        enabled.add(Channel.SMS)
    if settings.otp_email_enabled:
        enabled.add(Channel.EMAIL)
    return enabled


def channel_of(login: Login) -> Channel:
    return Channel.EMAIL if login.kind == "email" else Channel.SMS


def choose_route(
    settings: Settings, user: UserAccount, login: Login, requested: Channel | None
) -> Route:
    destinations = {Channel.SMS: user.mobile_number, Channel.EMAIL: user.email}
    enabled = enabled_channels(settings)
    if requested is not None:
        if requested not in enabled:
            raise ChannelUnavailable(
                f"The {requested.value} channel is turned off.", code="channel_disabled"
            )
        destination = destinations[requested]
        if not destination:
            what = "mobile number" if requested is Channel.SMS else "email address"
            raise ChannelUnavailable(f"This user has no {what} for {requested.value} codes.")
        return Route(requested, destination)
    # The channel of the login the person typed first: that is where they expect it.
    preferred = channel_of(login)
    for channel in (preferred, Channel.EMAIL if preferred is Channel.SMS else Channel.SMS):
        destination = destinations[channel]
        if channel in enabled and destination:
            return Route(channel, destination)
    raise ChannelUnavailable("No enabled delivery channel reaches this user.")
