"""Who may talk to whom (network policies), and the one hostname every route is on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Rendered, copy_with_example_secrets
from tests.deploy.kustomize import build

Obj = dict[str, Any]
CONTROLLERS = {"traefik": "traefik", "ingress": "ingress-nginx"}


def _controller_peer(overlay: Rendered) -> Obj:
    name = CONTROLLERS[overlay.name]
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
    }


def _policies(overlay: Rendered) -> dict[str, Obj]:
    return {p["metadata"]["name"]: p["spec"] for p in overlay.of_kind("NetworkPolicy")}


def test_everything_is_denied_that_is_not_allowed(overlay: Rendered) -> None:
    deny = _policies(overlay)["identity-default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_only_the_ingress_controller_reaches_the_services_and_only_their_port(
    overlay: Rendered,
) -> None:
    allowing_in = {n: p for n, p in _policies(overlay).items() if p.get("ingress")}
    assert list(allowing_in) == ["identity-from-ingress-controller"]
    policy = allowing_in["identity-from-ingress-controller"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "web"
    assert policy["ingress"] == [
        {"from": [_controller_peer(overlay)], "ports": [{"protocol": "TCP", "port": 8000}]}
    ]
    web = [
        d
        for d in overlay.of_kind("Deployment")
        if d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "web"
    ]
    # The pods the policy opens are exactly those a Service sends traffic to.
    assert {d["metadata"]["name"] for d in web} == {
        s["metadata"]["name"] for s in overlay.of_kind("Service")
    }


def _egress_ports(policy: Obj) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule.get("ports", [])}


def test_every_pod_reaches_dns_mysql_and_redis(overlay: Rendered) -> None:
    policy = _policies(overlay)["identity-to-dns-and-datastores"]
    assert policy["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/part-of": "identity-services"}
    }
    assert _egress_ports(policy) == {("UDP", 53), ("TCP", 53), ("TCP", 3306), ("TCP", 6379)}


def test_only_otp_delivery_reaches_the_providers_and_never_link_local(overlay: Rendered) -> None:
    policy = _policies(overlay)["identity-otp-to-providers"]
    (selector,) = policy["podSelector"]["matchExpressions"]
    assert set(selector["values"]) == {"otp-delivery", "otp-worker"}
    assert _egress_ports(policy) == {("TCP", port) for port in (443, 80, 587, 465, 25)}
    (rule,) = policy["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}]


def test_the_console_reaches_the_public_url_through_the_ingress_controller(
    overlay: Rendered,
) -> None:
    policy = _policies(overlay)["identity-console-to-ingress"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "console"
    assert policy["egress"][0] == {"to": [_controller_peer(overlay)]}
    base_url = overlay.settings["IDENTITY_CONSOLE_API_BASE_URL"]
    assert base_url == f"https://{overlay.settings['IDENTITY_PUBLIC_HOSTNAME']}"


def _route_hosts(overlay: Rendered) -> list[str]:
    if overlay.name == "traefik":
        route = overlay.named("IngressRoute", "identity")
        return [
            h for r in route["spec"]["routes"] for h in re.findall(r"Host\(`([^`]*)`\)", r["match"])
        ]
    ingress = overlay.named("Ingress", "identity")
    return [r["host"] for r in ingress["spec"]["rules"]] + [
        h for tls in ingress["spec"]["tls"] for h in tls["hosts"]
    ]


def test_every_route_is_on_the_public_hostname_over_https(overlay: Rendered) -> None:
    host = overlay.settings["IDENTITY_PUBLIC_HOSTNAME"]
    hosts = _route_hosts(overlay)
    assert hosts and set(hosts) == {host}
    assert overlay.settings["IDENTITY_TOKEN_ISSUER"] == f"https://{host}"
    if overlay.name == "traefik":
        route = overlay.named("IngressRoute", "identity")["spec"]
        assert route["entryPoints"] == ["websecure"] and route["tls"]["secretName"]


@pytest.mark.parametrize("name", sorted(CONTROLLERS))
def test_the_hostname_is_set_once_in_settings_env(tmp_path: Path, name: str) -> None:
    tree = copy_with_example_secrets(tmp_path)
    settings = tree / "overlays" / name / "settings.env"
    settings.write_text(
        settings.read_text().replace(
            "IDENTITY_PUBLIC_HOSTNAME=auth.example.com", "IDENTITY_PUBLIC_HOSTNAME=id.corp.test"
        )
    )
    rendered = Rendered(name, build(tree / "overlays" / name))
    assert rendered.settings["IDENTITY_PUBLIC_HOSTNAME"] == "id.corp.test"
    assert set(_route_hosts(rendered)) == {"id.corp.test"}
