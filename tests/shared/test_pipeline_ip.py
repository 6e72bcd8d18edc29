"""The pipeline's client IP policy: fail closed, X-Forwarded-For only from trusted proxies.

The test settings trust proxies in 10.255.0.0/16 (Traefik's network).
"""

from __future__ import annotations

from shared.audit import EventType
from tests.factories import make_app_with_key
from tests.shared.test_pipeline_probe import assert_denied, call, denials, probe_app

PROXY = "10.255.0.7"


def test_application_without_allowed_ips_rejects_every_call(admin, runtime):
    app, key = make_app_with_key(admin, allowed_ips=[])
    probe = probe_app(runtime)
    assert_denied(call(probe, key), 403, "ip_not_allowed")
    assert_denied(call(probe, key, peer=PROXY, forwarded_for="127.0.0.1"), 403, "ip_not_allowed")
    recorded = denials(runtime)
    assert [r.type for r in recorded] == [EventType.API_DENIED_IP] * 2
    assert all(r.application_id == app["id"] for r in recorded)


def test_ip_outside_the_allowed_networks_is_403_and_audited(admin, runtime):
    app, key = make_app_with_key(admin, allowed_ips=["192.0.2.0/24", "127.0.0.2"])
    assert_denied(call(probe_app(runtime), key), 403, "ip_not_allowed")
    [denied] = denials(runtime)
    assert (denied.type, denied.application_id) == (EventType.API_DENIED_IP, app["id"])
    assert (denied.effective_ip, denied.forwarded_ip, denied.remote_addr) == (
        "127.0.0.1",
        None,
        "127.0.0.1",
    )
    assert denied.details == {"method": "GET", "path": "/probe/whoami"}


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(admin, runtime):
    _, key = make_app_with_key(admin, allowed_ips=["203.0.113.0/24"])
    probe = probe_app(runtime)
    assert_denied(call(probe, key, forwarded_for="203.0.113.9"), 403, "ip_not_allowed")
    [denied] = denials(runtime)
    # The header is kept for the audit log, but the peer is who called.
    assert (denied.effective_ip, denied.forwarded_ip, denied.remote_addr) == (
        "127.0.0.1",
        "203.0.113.9",
        "127.0.0.1",
    )


def test_forwarded_for_from_a_trusted_proxy_is_the_client(admin, runtime):
    _, key = make_app_with_key(admin, allowed_ips=["203.0.113.0/24"])
    probe = probe_app(runtime)
    # The client's own (forged) entry comes first; the proxy appends what it saw.
    response = call(probe, key, peer=PROXY, forwarded_for="192.0.2.1, 203.0.113.9")
    assert response.status_code == 200, response.text
    assert response.json()["ip"] == "203.0.113.9"

    assert_denied(
        call(probe, key, peer=PROXY, forwarded_for="203.0.113.9, 198.51.100.7"),
        403,
        "ip_not_allowed",
    )
    [denied] = denials(runtime)
    assert (denied.effective_ip, denied.forwarded_ip, denied.remote_addr) == (
        "198.51.100.7",
        "203.0.113.9, 198.51.100.7",
        PROXY,
    )


def test_a_trusted_proxy_without_forwarded_for_is_itself_the_client(admin, runtime):
    _, key = make_app_with_key(admin, allowed_ips=["203.0.113.0/24"])
    assert_denied(call(probe_app(runtime), key, peer=PROXY), 403, "ip_not_allowed")
    assert denials(runtime)[0].effective_ip == PROXY


def test_ipv6_peer_inside_and_outside_an_ipv6_network(admin, runtime):
    _, key = make_app_with_key(admin, allowed_ips=["2001:db8:abcd::/48", "127.0.0.1"])
    probe = probe_app(runtime)
    inside = call(probe, key, peer="2001:db8:abcd:12::42")
    assert inside.status_code == 200, inside.text
    assert inside.json()["ip"] == "2001:db8:abcd:12::42"

    assert_denied(call(probe, key, peer="2001:db8:ffff::1"), 403, "ip_not_allowed")
    [denied] = denials(runtime)
    assert (denied.effective_ip, denied.remote_addr) == ("2001:db8:ffff::1", "2001:db8:ffff::1")


def test_ipv4_client_behind_an_ipv4_mapped_peer_address(admin, runtime):
    _, key = make_app_with_key(admin, allowed_ips=["192.0.2.0/24"])
    response = call(probe_app(runtime), key, peer="::ffff:192.0.2.10")
    assert response.status_code == 200, response.text
    assert response.json()["ip"] == "192.0.2.10"
