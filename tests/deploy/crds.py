"""Traefik's objects against Traefik's own CRD schemas, which no Python package ships.

The npm package @kubernetes-models/traefik (pinned in traefik-crds/package-lock.json,
installed by `make install`) holds them compiled from the traefik.io/v1alpha1 CRDs;
traefik-crds/validate.mjs runs them under Node.js.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

CRDS = Path(__file__).resolve().parent / "traefik-crds"
Obj = dict[str, Any]

# Like the API server, the CRD schemas accept fields they do not define (and the server then
# drops them): a misspelt `priorty` would vanish without a word. So the fields these
# manifests use are listed here, and no other passes.
KNOWN_FIELDS: dict[str, set[str]] = {
    "IngressRoute": {"apiVersion", "kind", "metadata", "spec"},
    "IngressRoute.spec": {"entryPoints", "routes", "tls"},
    "IngressRoute.spec.routes": {"kind", "match", "priority", "services", "middlewares"},
    "IngressRoute.spec.routes.services": {"name", "port"},
    "IngressRoute.spec.routes.middlewares": {"name"},
    "IngressRoute.spec.tls": {"secretName"},
    "Middleware": {"apiVersion", "kind", "metadata", "spec"},
    "Middleware.spec": {"retry"},
    "Middleware.spec.retry": {"attempts", "initialInterval"},
}


def crd_errors(objects: list[Obj]) -> list[tuple[str, str, list[str]]]:
    """(kind, name, errors) for each object, errors empty when its CRD schema accepts it."""
    node = shutil.which("node")
    if node is None or not (CRDS / "node_modules").is_dir():
        raise RuntimeError(f"Traefik's CRD schemas are not installed: `make install` ({CRDS})")
    done = subprocess.run(
        [node, str(CRDS / "validate.mjs")],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        cwd=CRDS,
        timeout=60,
        check=True,
    )
    return [(r["kind"], r["name"], r["errors"]) for r in json.loads(done.stdout)]


def unknown_fields(obj: Obj) -> list[str]:
    """Dotted paths of the fields KNOWN_FIELDS does not list for this kind."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, path)
        elif isinstance(node, dict) and path in KNOWN_FIELDS:
            for key, value in node.items():
                if key not in KNOWN_FIELDS[path]:
                    found.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")

    walk(obj, obj["kind"])
    return found
