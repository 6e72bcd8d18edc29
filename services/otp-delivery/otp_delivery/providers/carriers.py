"""US carriers' email-to-SMS gateways: mail to `<10-digit number>@<gateway>` arrives as a text.

Carriers drop or rename gateways from time to time; a deployment can name
any gateway domain as its default, and a user's carrier may be stored as a
gateway domain too, so nothing here blocks an update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    key: str
    name: str
    gateway: str
    aliases: tuple[str, ...] = ()


US_CARRIERS: tuple[Carrier, ...] = (
    Carrier("att", "AT&T", "txt.att.net", ("atandt", "atnt")),
    Carrier("tmobile", "T-Mobile", "tmomail.net", ("tmo",)),
    Carrier("verizon", "Verizon", "vtext.com", ("verizonwireless", "vzw")),
    Carrier("uscellular", "US Cellular", "email.uscc.net", ("uscc",)),
    Carrier("cricket", "Cricket Wireless", "sms.cricketwireless.net", ("cricketwireless",)),
    Carrier("boost", "Boost Mobile", "sms.myboostmobile.com", ("boostmobile",)),
    Carrier("metropcs", "Metro by T-Mobile", "mymetropcs.com", ("metro", "metrobytmobile")),
    Carrier("googlefi", "Google Fi", "msg.fi.google.com", ("fi", "projectfi")),
    Carrier("sprint", "Sprint", "messaging.sprintpcs.com"),
    Carrier("virgin", "Virgin Mobile", "vmobl.com", ("virginmobile",)),
    Carrier("consumercellular", "Consumer Cellular", "mailmymobile.net"),
    Carrier("cspire", "C Spire", "cspire1.com"),
    Carrier("republic", "Republic Wireless", "text.republicwireless.com", ("republicwireless",)),
    Carrier("ting", "Ting", "message.ting.com"),
    Carrier("xfinity", "Xfinity Mobile", "vtext.com", ("xfinitymobile",)),
    Carrier("visible", "Visible", "vtext.com"),
    Carrier("mint", "Mint Mobile", "tmomail.net", ("mintmobile",)),
)

_BY_NAME = {
    alias: carrier
    for carrier in US_CARRIERS
    for alias in (carrier.key, re.sub(r"[^a-z0-9]", "", carrier.name.lower()), *carrier.aliases)
}
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


def gateway_for(carrier: str | None) -> str | None:
    """The gateway for a stored carrier ("AT&T", "att", "T-Mobile" or a gateway domain)."""
    if not carrier:
        return None
    value = carrier.strip().lower()
    if _DOMAIN.match(value):
        return value
    found = _BY_NAME.get(re.sub(r"[^a-z0-9]", "", value))
    return found.gateway if found else None
