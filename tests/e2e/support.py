"""How the end-to-end tests talk to the stack: as an administrator's script and as a consuming
application, both through Traefik, plus what the SMS and mail sinks received."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.otp_delivery.sinks import HttpSink, SmtpSink, wait_until

PASSWORD = "violet-harbour-lantern-42"
# Linux routes all of 127.0.0.0/8 to the loopback interface, so a client can
# bind this address and reach Traefik (or a service) as a caller other than
# Traefik's own 127.0.0.1 (see traefik/README.md, "What the local stack proves").
OTHER_LOOPBACK = "127.0.0.3"


def free_port_run(count: int, start: int = 20000, stop: int = 32768) -> int:
    """The first of `count` consecutive ports free on 127.0.0.1, below Linux's ephemeral range
    (32768-60999 by default): there a client's outgoing connection can take one between this
    check and the server's bind."""
    for base in range(start, stop, count + 7):
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise RuntimeError("no run of free ports")


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def client(base_url: str, local_address: str | None = None, **kwargs: Any) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    return httpx.Client(base_url=base_url, transport=transport, timeout=15.0, **kwargs)


@dataclass
class AppCaller:
    """A consuming application's server: its API key on every call."""

    http: httpx.Client
    api_key: str

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        headers = {"X-Auth-Service-Key": self.api_key, **extra}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers(token))

    def session(self, access_token: str) -> httpx.Response:
        return self.http.get("/auth/session", headers=self.headers(access_token))

    def sync(self, since: str | None = None) -> dict[str, Any]:
        params = {"since": since} if since else {}
        response = self.http.get("/users/sync", params=params, headers=self.headers())
        assert response.status_code == 200, response.text
        return dict(response.json())


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def make_app(admin: httpx.Client, name: str, allowed_ips: list[str]) -> tuple[dict[str, Any], str]:
    app = created(
        admin.post("/directory/applications", json={"name": name, "allowed_ips": allowed_ips})
    )
    key = created(admin.post(f"/directory/applications/{app['id']}/keys"))
    return app, str(key["api_key"])


def sms_code(sink: HttpSink, mobile: str, seen: int = 0) -> str:
    """The code of the newest SMS to `mobile`, once more than `seen` have arrived."""

    def codes() -> list[str]:
        return [r.json()["otp"] for r in sink.requests if r.json().get("to") == mobile]

    return str(wait_until(lambda: len(codes()) > seen, what=f"an SMS to {mobile}") and codes()[-1])


def email_code(sink: SmtpSink, address: str) -> str:
    def bodies() -> list[str]:
        found = []
        for recipients, message in sink.messages:
            if address in recipients:
                part: Any = message.get_payload(0) if message.is_multipart() else message
                found.append(part.get_payload(decode=True).decode())
        return found

    wait_until(bodies, what=f"an email to {address}")
    match = re.search(r"\b(\d{6,10})\b", bodies()[-1])
    assert match, bodies()[-1]
    return match.group(1)


def audit_events(
    admin: httpx.Client,
    count: int = 1,
    where: Callable[[dict[str, Any]], bool] = lambda event: True,
    **filters: str,
) -> list[dict[str, Any]]:
    """Audit events matching `filters` and `where`, newest first, once the audit consumer
    has stored at least `count` of them."""

    def events() -> list[dict[str, Any]]:
        response = admin.get("/audit/events", params=filters)
        assert response.status_code == 200, response.text
        items = [e for e in response.json()["items"] if where(e)]
        return items if len(items) >= count else []

    return list(wait_until(events, what=f"{count} audit event(s) {filters}"))


def access_log(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "logs" / "traefik-access.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
