"""What the seed promises a caller is told, and the IP policy behind the real Traefik.

Who is who on one host: Traefik reaches the services from 127.0.0.1, the one
address they trust for X-Forwarded-For. Tests that need a caller other than
Traefik bind 127.0.0.3 (all of 127/8 is loopback): through Traefik it becomes
the forwarded client address; straight to a service it is an untrusted peer.
"""

from __future__ import annotations

import httpx

from stack.runner import Stack
from tests.e2e.conftest import World
from tests.e2e.support import OTHER_LOOPBACK, AppCaller, audit_events, client, error_of, make_app

NOT_IN_DIRECTORY = (404, "user_not_found", "User not in the directory service.")
NOT_ALLOWED = (
    403,
    "not_assigned",
    "You are not allowed to access this application. Contact Administrator.",
)
IP_REJECTED = "api.denied.ip_rejected"


def test_unknown_user_is_not_in_the_directory(caller: AppCaller):
    assert error_of(caller.post("/auth/register", {"login": "nobody@example.com"})) == (
        NOT_IN_DIRECTORY
    )
    assert error_of(caller.post("/auth/otp/request", {"login": "+14155550100"})) == (
        NOT_IN_DIRECTORY
    )


def test_unassigned_user_is_not_allowed(caller: AppCaller, world: World):
    login = world.carol["email"]
    assert error_of(caller.post("/auth/register", {"login": login})) == NOT_ALLOWED
    assert error_of(caller.post("/auth/otp/request", {"login": login})) == NOT_ALLOWED


def test_an_application_without_allowed_ips_is_rejected(
    admin: httpx.Client, gateway_url: str, world: World
):
    app, key = make_app(admin, "No networks yet", [])
    with client(gateway_url) as http:
        caller = AppCaller(http, key)
        status, code, _ = error_of(caller.post("/auth/register", {"login": "bob@example.com"}))
        assert (status, code) == (403, "ip_not_allowed")
        assert http.get("/users/sync", headers=caller.headers()).status_code == 403
    events = audit_events(admin, count=2, type=IP_REJECTED, application_id=app["id"])
    assert {e["effective_ip"] for e in events} == {"127.0.0.1"}


def test_a_spoofed_forwarded_for_is_not_honoured(admin: httpx.Client, gateway_url: str):
    app, key = make_app(admin, "Allows one partner IP", ["203.0.113.7/32"])
    with client(gateway_url) as http:
        caller = AppCaller(http, key)
        spoofed = http.post(
            "/auth/register",
            json={"login": "bob@example.com"},
            headers=caller.headers(**{"X-Forwarded-For": "203.0.113.7"}),
        )
    assert error_of(spoofed)[:2] == (403, "ip_not_allowed")
    (event,) = audit_events(admin, type=IP_REJECTED, application_id=app["id"])
    # Traefik trusts nobody in front of it: it replaced the header with the real client.
    assert (event["effective_ip"], event["forwarded_ip"]) == ("127.0.0.1", "127.0.0.1")


def test_audit_log_shows_effective_forwarded_and_remote_ip_of_a_rejected_call(
    admin: httpx.Client, gateway_url: str, world: World
):
    # Payroll allows 127.0.0.1/32 only; this caller is 127.0.0.3 and claims to be 127.0.0.1.
    with client(gateway_url, local_address=OTHER_LOOPBACK) as http:
        caller = AppCaller(http, world.api_key)
        response = http.get(
            "/users/sync", headers=caller.headers(**{"X-Forwarded-For": "127.0.0.1"})
        )
    assert error_of(response)[:2] == (403, "ip_not_allowed")
    event = audit_events(
        admin,
        where=lambda e: e["remote_addr"] == "127.0.0.1",
        type=IP_REJECTED,
        application_id=world.app["id"],
        ip=OTHER_LOOPBACK,
    )[0]
    assert (event["effective_ip"], event["forwarded_ip"], event["remote_addr"]) == (
        OTHER_LOOPBACK,
        OTHER_LOOPBACK,  # what Traefik forwarded: the caller's claim was dropped
        "127.0.0.1",  # Traefik, the trusted peer
    )
    assert event["application_name"] == "Payroll"


def test_a_caller_going_around_traefik_gains_nothing_from_the_header(
    admin: httpx.Client, stack: Stack, world: World
):
    """Not through Traefik on purpose: the services trust X-Forwarded-For from Traefik only."""
    directory = next(p for p in stack.plan.processes if p.name == "directory")
    direct_url = f"http://127.0.0.1:{directory.port}"
    with client(direct_url, local_address=OTHER_LOOPBACK) as http:
        caller = AppCaller(http, world.api_key)
        response = http.get(
            "/users/sync", headers=caller.headers(**{"X-Forwarded-For": "127.0.0.1"})
        )
    assert error_of(response)[:2] == (403, "ip_not_allowed")
    event = audit_events(
        admin,
        where=lambda e: e["remote_addr"] == OTHER_LOOPBACK,
        type=IP_REJECTED,
        application_id=world.app["id"],
    )[0]
    # The claim is recorded for the audit, and not believed.
    assert (event["effective_ip"], event["forwarded_ip"]) == (OTHER_LOOPBACK, "127.0.0.1")
