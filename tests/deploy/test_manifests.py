"""Each overlay's objects: valid for Kubernetes (and Traefik), hardened, sized, wired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from shared.settings import Settings
from tests.deploy.conftest import OVERLAYS, Rendered
from tests.deploy.crds import crd_errors, unknown_fields
from tests.deploy.podspec import containers, pod_spec

# A current release: the newest whose schemas kubernetes-validate ships (pyproject.toml).
KUBERNETES_VERSION = "1.37.0"
TRAEFIK_GROUP = "traefik.io/"
Obj = dict[str, Any]


def test_both_ways_of_routing_are_there() -> None:
    assert {"ingress", "traefik"} <= set(OVERLAYS)


def test_every_object_is_valid_for_a_current_kubernetes(overlay: Rendered) -> None:
    errors = []
    for obj in overlay.objects:
        if obj["apiVersion"].startswith(TRAEFIK_GROUP):
            continue
        try:
            # strict: a field the schema does not define is an error, not dropped.
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']} {obj['metadata']['name']}: {exc.message}")
    assert not errors


def test_a_misspelt_field_would_be_caught() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 8000, "targetport": "http"}]},
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSION, strict=True)


def test_traefik_objects_match_traefik_crd_schemas(render: Callable[[str], Rendered]) -> None:
    objects = [o for o in render("traefik").objects if o["apiVersion"].startswith(TRAEFIK_GROUP)]
    assert {o["kind"] for o in objects} == {"IngressRoute", "Middleware"}
    assert [errors for _, _, errors in crd_errors(objects)] == [[]] * len(objects)
    assert [field for o in objects for field in unknown_fields(o)] == []


def test_the_crd_schemas_and_the_field_list_refuse_mistakes(
    render: Callable[[str], Rendered],
) -> None:
    route = render("traefik").named("IngressRoute", "identity")
    wrong = {**route, "spec": {**route["spec"], "routes": [{**route["spec"]["routes"][0]}]}}
    wrong["spec"]["routes"][0]["kind"] = "Rules"
    wrong["spec"]["routes"][0]["priorty"] = 1000
    ((_, _, errors),) = crd_errors([wrong])
    assert any("kind" in e for e in errors)
    assert unknown_fields(wrong) == ["IngressRoute.spec.routes.priorty"]


def _pods(overlay: Rendered) -> list[Obj]:
    return [o for o in overlay.objects if pod_spec(o) is not None]


def test_every_pod_runs_as_the_restricted_profile_asks(overlay: Rendered) -> None:
    namespace = overlay.named("Namespace", "identity")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in _pods(overlay):
        spec = pod_spec(obj)
        assert spec is not None
        context = spec["securityContext"]
        # The images' user (useradd --uid 10001): a name alone could not be checked non-root.
        assert context["runAsNonRoot"] is True and context["runAsUser"] == 10001
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        # Service links would add IDENTITY_AUTH_PORT=tcp://... and the like: setting names.
        assert spec["enableServiceLinks"] is False
        for container in containers(obj):
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }, f"{obj['metadata']['name']}/{container['name']}"


def _quantity(value: str | int) -> float:
    """CPU in cores, memory in MiB."""
    text = str(value)
    units = {"m": 0.001, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def test_every_container_has_requests_within_its_limits(overlay: Rendered) -> None:
    for obj in _pods(overlay):
        for container in containers(obj):
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = _quantity(resources["requests"][resource])
                assert 0 < request <= _quantity(resources["limits"][resource])


# Measured peaks (MiB) each request must cover, and what else the limit must hold.
# bench/README.md: the soak (auth with two hashing processes 214-219, auth-session 115,
# directory 170, otp-delivery 110, audit 106, console 112, consumers 102); the CSV import
# (176 at 100,000 rows, ~0.5 KB a row more: ~230 at the 200,000-row limit). Measured for
# deploy/kubernetes: the worker's five processes 263 (PSS, idle) + ~40 under traffic, its
# liveness check 108 beside it; the consumer's check 42; migrate and its wait 85.
MEASURED_MIB = {
    "auth": (219, 0),
    "auth-session": (115, 0),
    "directory": (230, 0),
    "otp-delivery": (110, 0),
    "audit": (106, 0),
    "console": (112, 0),
    "otp-worker": (303, 108),
    "audit-consumer": (102, 42),
}


@pytest.mark.parametrize("name", sorted(MEASURED_MIB))
def test_memory_covers_the_measured_figures(overlay: Rendered, name: str) -> None:
    peak, beside = MEASURED_MIB[name]
    (container,) = overlay.deployments()[name]["spec"]["template"]["spec"]["containers"]
    assert _quantity(container["resources"]["requests"]["memory"]) >= peak
    assert _quantity(container["resources"]["limits"]["memory"]) >= 1.5 * (peak + beside)
    for init in overlay.deployments()[name]["spec"]["template"]["spec"]["initContainers"]:
        assert _quantity(init["resources"]["limits"]["memory"]) >= 85
    job = overlay.named("Job", "identity-migrate")["spec"]["template"]["spec"]["containers"][0]
    assert _quantity(job["resources"]["limits"]["memory"]) >= 85


def test_each_auth_replica_hashes_in_as_many_processes_as_its_cpu_limit(
    overlay: Rendered,
) -> None:
    # Unset, it would start one per CPU of the node, 36 MiB each.
    for name in ("auth", "auth-session"):
        (container,) = overlay.deployments()[name]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        limit = _quantity(container["resources"]["limits"]["cpu"])
        processes = int(env["IDENTITY_PASSWORD_HASHING_PROCESSES"])
        assert processes == limit if name == "auth" else processes == 1


def test_every_pod_waits_for_the_migration_with_its_own_image(overlay: Rendered) -> None:
    for name, deployment in overlay.deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        (init,) = spec["initContainers"]
        (main,) = spec["containers"]
        assert init["command"] == ["python", "-m", "shared.migrate", "--wait"], name
        # Its image's migrations are the ones the service expects; the same settings and
        # secrets, so the same database.
        assert init["image"] == main["image"]
        assert init["envFrom"] == main["envFrom"]
        assert [m for m in main["volumeMounts"] if m["name"] == "secrets"] == init["volumeMounts"]
    job = overlay.named("Job", "identity-migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["python", "-m", "shared.migrate"]
    assert job["restartPolicy"] == "OnFailure"


def test_settings_come_from_the_configmap_and_secrets_as_files(overlay: Rendered) -> None:
    configmap = overlay.generated("ConfigMap", "identity-settings")["metadata"]["name"]
    secret = overlay.generated("Secret", "identity-secrets")["metadata"]["name"]
    secrets_dir = overlay.settings["IDENTITY_SECRETS_DIR"]
    for obj in _pods(overlay):
        spec = pod_spec(obj)
        assert spec is not None
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["secrets"]["secret"] == {"secretName": secret}
        for container in containers(obj):
            assert container["envFrom"] == [{"configMapRef": {"name": configmap}}]
            assert {"name": "secrets", "mountPath": secrets_dir, "readOnly": True} in container[
                "volumeMounts"
            ]
            # No secret in any environment: only as files.
            assert all("valueFrom" not in e for e in container.get("env", []))


# The settings kept as secrets (SecretStr) and the URLs that carry a password.
SECRETS = {
    f"IDENTITY_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if "SecretStr" in str(field.annotation)
} | {"IDENTITY_DATABASE_URL", "IDENTITY_REDIS_URL"}


def test_secrets_are_never_in_the_configmap(overlay: Rendered) -> None:
    assert {"IDENTITY_SECRET_KEY", "IDENTITY_SETUP_TOKEN"} <= SECRETS
    assert {"IDENTITY_SECRET_KEY", "IDENTITY_DATABASE_URL"} <= set(overlay.secrets) <= SECRETS
    assert not SECRETS & set(overlay.settings)
    for deployment in overlay.deployments().values():
        for container in containers(deployment):
            assert not SECRETS & {e["name"] for e in container.get("env", [])}


def test_writable_places_are_volumes(overlay: Rendered) -> None:
    for name, deployment in overlay.deployments().items():
        spec = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        (main,) = spec["containers"]
        mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name
    console = overlay.deployments()["console"]["spec"]["template"]["spec"]
    (main,) = console["containers"]
    data_dir = {e["name"]: e["value"] for e in main["env"]}["IDENTITY_DATA_DIR"]
    mount = next(m for m in main["volumeMounts"] if m["mountPath"] == data_dir)
    claim = next(v for v in console["volumes"] if v["name"] == mount["name"])
    pvc = overlay.named("PersistentVolumeClaim", claim["persistentVolumeClaim"]["claimName"])
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    # A second pod could not mount it from another node: one replica, replaced not rolled.
    assert overlay.deployments()["console"]["spec"]["replicas"] == 1
    assert overlay.deployments()["console"]["spec"]["strategy"] == {"type": "Recreate"}
    assert console["securityContext"]["fsGroup"] == 10001
