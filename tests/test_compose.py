"""docker-compose.yml checked without Docker: its shape, what it refers to, what it documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import Settings
from stack.topology import SERVICES, WebService

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
SERVICES_BY_NAME: dict[str, dict[str, Any]] = COMPOSE["services"]
BUILT = {name: s for name, s in SERVICES_BY_NAME.items() if "build" in s}
ROUTED = {n: s for n, s in SERVICES_BY_NAME.items() if s.get("labels", {}).get("traefik.enable")}
EXPECTED = {
    "migrate", "auth", "auth-session", "directory", "otp-delivery", "otp-worker", "audit", "audit-consumer",
    "console", "mysql", "redis",
}  # fmt: skip


def _labels(prefix: str) -> dict[tuple[str, str], dict[str, str]]:
    """`traefik.http.<prefix>.<name>.<key>: value` labels, grouped by (service, name)."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for service, spec in ROUTED.items():
        for label, value in spec["labels"].items():
            parts = label.split(".")
            if parts[:3] == ["traefik", "http", prefix]:
                found.setdefault((service, parts[3]), {})[".".join(parts[4:])] = str(value)
    return found


def test_every_part_of_the_system_is_there():
    assert set(SERVICES_BY_NAME) == EXPECTED


@pytest.mark.parametrize("name", sorted(BUILT))
def test_build_context_and_dockerfile_exist_and_make_a_small_non_root_image(name: str):
    build = BUILT[name]["build"]
    context = ROOT / build["context"]
    dockerfile = context / build["dockerfile"]
    assert context.is_dir() and dockerfile.is_file()
    text = dockerfile.read_text()
    assert re.findall(r"^FROM python:3\.\d+-slim", text, re.M), "slim base"
    assert len(re.findall(r"^FROM ", text, re.M)) == 2, "built in one stage, run from another"
    assert re.search(r"^USER (?!root)\S+", text, re.M), "runs as a non-root user"
    assert "HEALTHCHECK" in text
    assert "--no-proxy-headers" in text  # X-Forwarded-For is judged by the service
    assert re.search(r"^ENV .*\bMALLOC_ARENA_MAX=2\b", text, re.M), "bounded malloc arenas"


def test_the_build_context_leaves_out_the_venv_and_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", ".env", "run", "data"} <= ignored


def test_one_dockerfile_per_service_and_the_workers_reuse_their_services_image():
    dockerfiles = {name: spec["build"]["dockerfile"] for name, spec in BUILT.items()}
    assert dockerfiles["otp-worker"] == dockerfiles["otp-delivery"]
    assert dockerfiles["audit-consumer"] == dockerfiles["audit"]
    assert dockerfiles["auth-session"] == dockerfiles["auth"]
    assert SERVICES_BY_NAME["auth-session"].get("command") is None  # the very same server
    web = {dockerfiles[name] for name in ROUTED}
    assert len(web) == len(ROUTED) - 1 == 5


def test_two_audit_consumers_share_the_stream_by_default():
    assert SERVICES_BY_NAME["audit-consumer"]["deploy"]["replicas"] == 2


def test_two_session_check_replicas_by_default():
    assert SERVICES_BY_NAME["auth-session"]["deploy"]["replicas"] == 2


def test_redis_outweighs_the_other_containers_for_the_cpu():
    # Docker's default weight is 1024 shares; no other service sets one.
    assert SERVICES_BY_NAME["redis"]["cpu_shares"] > 1024
    others = [name for name, spec in SERVICES_BY_NAME.items() if name != "redis"]
    assert all("cpu_shares" not in SERVICES_BY_NAME[name] for name in others)


def test_nothing_blocks_scaling_and_no_host_port_is_published():
    for name, spec in SERVICES_BY_NAME.items():
        assert "container_name" not in spec, name
        assert "ports" not in spec, name


def test_services_wait_for_healthy_dependencies():
    for name in ("mysql", "redis"):
        assert SERVICES_BY_NAME[name]["healthcheck"]["test"]
    assert SERVICES_BY_NAME["migrate"]["depends_on"]["mysql"]["condition"] == "service_healthy"
    for name, spec in BUILT.items():
        if name == "migrate":
            continue
        assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert spec["depends_on"]["redis"]["condition"] == "service_healthy"
        assert spec.get("healthcheck", {}).get("disable") is not True, name


def test_data_lives_in_named_volumes_and_traefik_stays_external():
    declared = set(COMPOSE["volumes"])
    for spec in SERVICES_BY_NAME.values():
        for volume in spec.get("volumes", []):
            assert volume.split(":")[0] in declared
    assert {"mysql-data", "redis-data"} <= declared
    assert COMPOSE["networks"]["traefik"]["external"] is True
    for name in ROUTED:
        assert "traefik" in SERVICES_BY_NAME[name]["networks"]
    for name in set(SERVICES_BY_NAME) - set(ROUTED):
        assert "traefik" not in SERVICES_BY_NAME[name]["networks"], name


def test_every_router_names_a_service_and_middlewares_that_exist():
    services = _labels("services")
    middlewares = {name for _, name in _labels("middlewares")}
    routers = _labels("routers")
    assert routers
    for (container, router), settings in routers.items():
        assert router.startswith("identity-")
        assert {"rule", "entrypoints", "service"} <= set(settings), router
        assert (container, settings["service"]) in services, f"{router} -> {settings['service']}"
        for middleware in settings.get("middlewares", "").split(","):
            assert not middleware or middleware.strip() in middlewares, middleware
        assert settings["rule"].startswith("Host(`${PUBLIC_HOSTNAME:-auth.localhost}`)")
    for (container, service), settings in services.items():
        assert service == f"identity-{container}"
        assert settings["loadbalancer.server.port"] == "8000"
        assert settings["loadbalancer.healthcheck.path"].endswith(("/readyz", "/healthz"))


def test_compose_routes_the_same_prefixes_as_the_local_stack():
    routes = _labels("routers")
    for service in SERVICES:
        rule = routes[(service.name, f"identity-{service.name}")]["rule"]
        assert set(re.findall(r"PathPrefix\(`([^`]+)`\)", rule)) == set(service.prefixes)
        health = _labels("services")[(service.name, f"identity-{service.name}")]
        assert health["loadbalancer.healthcheck.path"] == service.health_path


@pytest.mark.parametrize("service", [s for s in SERVICES if s.dedicated], ids=lambda s: s.name)
def test_compose_gives_the_same_requests_replicas_of_their_own_as_the_local_stack(
    service: WebService,
):
    assert service.dedicated is not None
    name = f"{service.name}-{service.dedicated.suffix}"
    rule = _labels("routers")[(name, f"identity-{name}")]["rule"]
    assert rule == f"Host(`${{PUBLIC_HOSTNAME:-auth.localhost}}`) && {service.dedicated.rule}"
    health = _labels("services")[(name, f"identity-{name}")]
    assert health["loadbalancer.healthcheck.path"] == service.health_path


def _documented() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE, re.M))


def test_every_variable_compose_reads_is_in_env_example():
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_TEXT))
    passed_through = {
        key
        for spec in SERVICES_BY_NAME.values()
        for key, value in (spec.get("environment") or {}).items()
        if value is None
    }
    missing = (interpolated | passed_through) - _documented()
    assert not missing, f"document these in .env.example: {sorted(missing)}"


def test_every_setting_is_listed_and_every_listed_setting_exists():
    fields = {f"IDENTITY_{name.upper()}" for name in Settings.model_fields}
    in_compose = {
        key
        for spec in SERVICES_BY_NAME.values()
        for key in (spec.get("environment") or {})
        if key.startswith("IDENTITY_")
    }
    listed = {name for name in _documented() if name.startswith("IDENTITY_")}
    assert in_compose - fields == set(), "compose sets a setting that does not exist"
    assert listed - fields == set(), ".env.example lists a setting that does not exist"
    # Each process names itself (load_settings(service_name=...)).
    unlisted = fields - listed - in_compose - {"IDENTITY_SERVICE_NAME"}
    assert not unlisted, f"add to .env.example and docker-compose.yml: {sorted(unlisted)}"
