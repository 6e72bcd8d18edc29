"""Every service, route, port, health path and setting of docker-compose.yml and traefik/ has
its counterpart in deploy/kubernetes, so the two deployments cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings
from stack.gateway import write_config
from stack.topology import SERVICES, make_plan
from tests.deploy.conftest import KUBERNETES, ROOT, Rendered
from tests.deploy.kustomize import read_env_file, split_image

Obj = dict[str, Any]
COMPOSE: Obj = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
BUILT = {name: s for name, s in COMPOSE["services"].items() if "build" in s}
HOST = "${PUBLIC_HOSTNAME:-auth.localhost}"
# Settings read outside the Settings model: load_settings reads the secrets' folder itself.
NOT_FIELDS = {"IDENTITY_SECRETS_DIR"}
Route = tuple[str, frozenset[tuple[str, str]], str | None, int | None]


def _labels(service: str, kind: str) -> dict[str, dict[str, str]]:
    """`traefik.http.<kind>.<name>.<key>` labels of a compose service, by name."""
    found: dict[str, dict[str, str]] = {}
    for label, value in COMPOSE["services"][service].get("labels", {}).items():
        parts = label.split(".")
        if parts[:3] == ["traefik", "http", kind]:
            found.setdefault(parts[3], {})[".".join(parts[4:])] = str(value)
    return found


def _matchers(rule: str) -> tuple[frozenset[tuple[str, str]], str | None]:
    """The paths (prefix or exact) and the method a Traefik rule matches; Host aside."""
    rest = re.sub(r"(Host|PathPrefix|Path|Method)\(`[^`]*`\)", "", rule)
    assert re.fullmatch(r"[\s()&|]*", rest), f"a matcher this test does not know: {rule}"
    paths = {("prefix", p) for p in re.findall(r"PathPrefix\(`([^`]*)`\)", rule)}
    paths |= {("exact", p) for p in re.findall(r"\bPath\(`([^`]*)`\)", rule)}
    methods = re.findall(r"Method\(`([^`]*)`\)", rule)
    return frozenset(paths or {("prefix", "/")}), methods[0] if methods else None


def _compose_routes() -> set[Route]:
    routes: set[Route] = set()
    for service in BUILT:
        for router in _labels(service, "routers").values():
            paths, method = _matchers(router["rule"])
            priority = int(router["priority"]) if "priority" in router else None
            routes.add((router["service"], paths, method, priority))
    return routes


def _stack_routes(tmp_path: Path) -> tuple[set[Route], Obj]:
    write_config(make_plan("127.0.0.1", 8101), tmp_path, "127.0.0.1:8080")
    config: Obj = yaml.safe_load((tmp_path / "traefik" / "dynamic.yml").read_text())["http"]
    routes = {
        (r["service"], *_matchers(r["rule"]), r.get("priority")) for r in config["routers"].values()
    }
    return routes, config["services"]


def _ingressroute_routes(overlay: Rendered) -> set[Route]:
    routes = set()
    for route in overlay.named("IngressRoute", "identity")["spec"]["routes"]:
        (service,) = route["services"]
        routes.add((service["name"], *_matchers(route["match"]), route.get("priority")))
    return routes


def test_every_compose_service_is_a_deployment_and_the_migration_a_job(overlay: Rendered) -> None:
    assert set(overlay.deployments()) == set(BUILT) - {"migrate"}
    overlay.named("Job", "identity-migrate")
    # MySQL and Redis are the cluster's (or managed) services: not deployed here.
    assert set(COMPOSE["services"]) - set(BUILT) == {"mysql", "redis"}


def _image_service(image: str) -> str:
    name, tag, _ = split_image(image)
    assert tag, f"{image} names no version"
    return name.rpartition("/")[2]


def test_each_runs_compose_image_and_command(overlay: Rendered) -> None:
    objects = {**overlay.deployments(), "migrate": overlay.named("Job", "identity-migrate")}
    for name, compose in BUILT.items():
        spec = objects[name]["spec"]["template"]["spec"]
        dockerfile = Path(compose["build"]["dockerfile"])
        assert dockerfile.name == "Dockerfile" and dockerfile.parts[0] == "services"
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert _image_service(container["image"]) == dockerfile.parts[1], name
        (main,) = spec["containers"]
        assert main.get("command") == compose.get("command"), name


def test_the_workers_health_checks_are_compose_s(overlay: Rendered) -> None:
    for name in ("otp-worker", "audit-consumer"):
        test = BUILT[name]["healthcheck"]["test"]
        expected = ["sh", "-c", test[1].replace("$$", "$")] if test[0] == "CMD-SHELL" else test[1:]
        (main,) = overlay.deployments()[name]["spec"]["template"]["spec"]["containers"]
        assert main["livenessProbe"]["exec"]["command"] == expected
        # compose's interval and timeout
        assert (
            f"{main['livenessProbe']['periodSeconds']}s" == BUILT[name]["healthcheck"]["interval"]
        )
        assert (
            f"{main['livenessProbe']['timeoutSeconds']}s" == BUILT[name]["healthcheck"]["timeout"]
        )


def test_the_ingressroute_has_compose_s_routers_rules_and_priorities(
    render: Callable[[str], Rendered],
) -> None:
    overlay = render("traefik")
    host = overlay.settings["IDENTITY_PUBLIC_HOSTNAME"]
    expected = set()
    for service in BUILT:
        for router in _labels(service, "routers").values():
            priority = int(router["priority"]) if "priority" in router else None
            rule = router["rule"].replace(HOST, host)
            expected.add((router["service"], rule, priority))
    spec = overlay.named("IngressRoute", "identity")["spec"]
    actual = {(r["services"][0]["name"], r["match"], r.get("priority")) for r in spec["routes"]}
    assert actual == expected
    assert _ingressroute_routes(overlay) == _compose_routes()


def test_the_ingressroute_retries_as_compose_s_routers_do(
    render: Callable[[str], Rendered],
) -> None:
    overlay = render("traefik")
    attempts = {int(m["retry.attempts"]) for s in BUILT for m in _labels(s, "middlewares").values()}
    retry = overlay.named("Middleware", "identity-retry")["spec"]["retry"]
    assert attempts == {retry["attempts"]}
    for route in overlay.named("IngressRoute", "identity")["spec"]["routes"]:
        assert route["middlewares"] == [{"name": "identity-retry"}]


def test_the_local_stack_routes_the_same_paths(
    render: Callable[[str], Rendered], tmp_path: Path
) -> None:
    stack_routes, _ = _stack_routes(tmp_path)
    assert _ingressroute_routes(render("traefik")) == stack_routes == _compose_routes()


def test_the_plain_ingress_sends_every_path_where_compose_does(
    render: Callable[[str], Rendered],
) -> None:
    expected = {(service, *path) for service, paths, _, _ in _compose_routes() for path in paths}
    spec = render("ingress").named("Ingress", "identity")["spec"]
    (rule,) = spec["rules"]
    actual = {
        (p["backend"]["service"]["name"], p["pathType"].lower(), p["path"])
        for p in rule["http"]["paths"]
    }
    assert actual == expected


def _ports(overlay: Rendered) -> set[int]:
    ports: set[int] = set()
    if overlay.name == "traefik":
        routes = overlay.named("IngressRoute", "identity")["spec"]["routes"]
        ports |= {s["port"] for r in routes for s in r["services"]}
    else:
        (rule,) = overlay.named("Ingress", "identity")["spec"]["rules"]
        ports |= {p["backend"]["service"]["port"]["number"] for p in rule["http"]["paths"]}
    for service in overlay.of_kind("Service"):
        ports |= {p["port"] for p in service["spec"]["ports"]}
    for deployment in overlay.of_kind("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            ports |= {p["containerPort"] for p in container.get("ports", [])}
    return ports


def test_one_port_everywhere_the_port_compose_and_the_images_use(overlay: Rendered) -> None:
    compose_ports = {
        int(settings["loadbalancer.server.port"])
        for service in BUILT
        for settings in _labels(service, "services").values()
    }
    for name in {Path(s["build"]["dockerfile"]).parts[1] for s in BUILT.values()}:
        dockerfile = (ROOT / "services" / name / "Dockerfile").read_text()
        assert re.findall(r"^EXPOSE (\d+)", dockerfile, re.M) == ["8000"]
        assert '"--port", "8000"' in dockerfile
    assert compose_ports == _ports(overlay) == {8000}


def test_health_paths_are_compose_s_and_the_images(overlay: Rendered, tmp_path: Path) -> None:
    _, stack_services = _stack_routes(tmp_path)
    for service in [n for n in BUILT if _labels(n, "services")]:
        (settings,) = _labels(service, "services").values()
        (main,) = overlay.deployments()[service]["spec"]["template"]["spec"]["containers"]
        assert (
            main["readinessProbe"]["httpGet"]["path"] == settings["loadbalancer.healthcheck.path"]
        )
        dockerfile = (ROOT / BUILT[service]["build"]["dockerfile"]).read_text()
        (healthz,) = re.findall(r"http://127\.0\.0\.1:8000(/[\w/-]+)", dockerfile)
        assert main["livenessProbe"]["httpGet"]["path"] == healthz
        stack = (
            stack_services.get(f"identity-{service}-replicas")
            or stack_services[f"identity-{service}"]
        )
        assert (
            stack["loadBalancer"]["healthCheck"]["path"]
            == main["readinessProbe"]["httpGet"]["path"]
        )


def test_the_local_stack_s_services_are_deployments_too(overlay: Rendered) -> None:
    web = {s.name for s in SERVICES} | {
        f"{s.name}-{s.dedicated.suffix}" for s in SERVICES if s.dedicated
    }
    assert web == {n for n in overlay.deployments() if n not in {"otp-worker", "audit-consumer"}}


def test_at_least_compose_s_replicas(overlay: Rendered) -> None:
    autoscalers = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["minReplicas"]
        for h in overlay.of_kind("HorizontalPodAutoscaler")
    }
    for name, compose in BUILT.items():
        if name == "migrate":
            continue
        least = (
            autoscalers.get(f"identity-{name}") or overlay.deployments()[name]["spec"]["replicas"]
        )
        assert least >= compose.get("deploy", {}).get("replicas", 1), name


def _compose_env(service: str) -> dict[str, str | None]:
    env: dict[str, str | None] = COMPOSE["services"][service]["environment"]
    return env


def _set_in(overlay: Rendered, service: str) -> set[str]:
    """Every variable one Deployment's pods get: ConfigMap, Secret files, its own env."""
    spec = (
        overlay.deployments()[service]["spec"]["template"]["spec"] if service != "migrate" else None
    )
    own = {e["name"] for c in (spec or {}).get("containers", []) for e in c.get("env", [])}
    return set(overlay.settings) | set(overlay.secrets) | own


def test_every_variable_compose_sets_is_set(overlay: Rendered) -> None:
    for service in BUILT:
        given = {k for k, v in _compose_env(service).items() if v is not None}
        missing = given - _set_in(overlay, service)
        assert not missing, f"{service}: {sorted(missing)}"
    assert overlay.settings["IDENTITY_ENV"] == _compose_env("auth")["IDENTITY_ENV"]


def _documented_in_base() -> set[str]:
    text = (KUBERNETES / "base" / "settings.env").read_text()
    return set(re.findall(r"^#? ?(IDENTITY_[A-Z0-9_]+)\b", text, re.M))


def test_every_optional_setting_compose_passes_is_listed_or_set(overlay: Rendered) -> None:
    passed = {k for s in BUILT for k, v in _compose_env(s).items() if v is None}
    everywhere = set.union(*(_set_in(overlay, s) for s in overlay.deployments()))
    missing = passed - _documented_in_base() - everywhere
    assert not missing, f"list them in base/settings.env: {sorted(missing)}"


def test_every_variable_set_or_listed_is_a_setting(overlay: Rendered) -> None:
    fields = {f"IDENTITY_{name.upper()}" for name in Settings.model_fields}
    everywhere = set.union(*(_set_in(overlay, s) for s in overlay.deployments()))
    named = {n for n in everywhere | _documented_in_base() if n.startswith("IDENTITY_")}
    assert named - fields - NOT_FIELDS == set()


@pytest.mark.parametrize("name", ["base", "overlays/traefik", "overlays/ingress"])
def test_settings_files_are_plain_assignments(name: str) -> None:
    # kustomize takes each value verbatim: quotes would become part of it.
    for key, value in read_env_file(KUBERNETES / name / "settings.env").items():
        assert not value.startswith(('"', "'")) and value == value.strip(), key


def test_malloc_arenas_are_bounded_as_in_the_images(overlay: Rendered) -> None:
    for service in {Path(s["build"]["dockerfile"]).parts[1] for s in BUILT.values()}:
        dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
        assert re.search(r"^ENV .*\bMALLOC_ARENA_MAX=2\b", dockerfile, re.M)
    assert overlay.settings["MALLOC_ARENA_MAX"] == "2"
