"""Where pod specs keep their containers and their ConfigMap and Secret references."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Obj = dict[str, Any]

POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def pod_spec(obj: Obj) -> Obj | None:
    path = POD_SPEC_PATHS.get(obj.get("kind", ""))
    node: Any = obj
    for key in path or ():
        node = node.get(key) if isinstance(node, dict) else None
    return node if path and isinstance(node, dict) else None


def containers(obj: Obj) -> Iterator[Obj]:
    spec = pod_spec(obj) or {}
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def references(obj: Obj) -> Iterator[tuple[str, Obj, str]]:
    """(kind, the mapping, its key) of every ConfigMap or Secret name a pod spec holds."""
    spec = pod_spec(obj)
    if spec is None:
        return
    for secret in spec.get("imagePullSecrets", []):
        yield "Secret", secret, "name"
    for volume in spec.get("volumes", []):
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"], "name"
        if "secret" in volume:
            yield "Secret", volume["secret"], "secretName"
        for source in volume.get("projected", {}).get("sources", []):
            if "configMap" in source:
                yield "ConfigMap", source["configMap"], "name"
            if "secret" in source:
                yield "Secret", source["secret"], "name"
    for container in containers(obj):
        for env_from in container.get("envFrom", []):
            if "configMapRef" in env_from:
                yield "ConfigMap", env_from["configMapRef"], "name"
            if "secretRef" in env_from:
                yield "Secret", env_from["secretRef"], "name"
        for env in container.get("env", []):
            ref = env.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                yield "ConfigMap", ref["configMapKeyRef"], "name"
            if "secretKeyRef" in ref:
                yield "Secret", ref["secretKeyRef"], "name"
