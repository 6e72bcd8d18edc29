"""deploy/kubernetes rendered per overlay, as `kubectl apply -k` would send it."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.kustomize import build

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.parent.name for p in (KUBERNETES / "overlays").glob("*/kustomization.yaml"))

Obj = dict[str, Any]


def copy_with_example_secrets(destination: Path) -> Path:
    """deploy/kubernetes in `destination`, each overlay's secrets.env made from its example
    (as an operator's first step is), a real secrets.env never copied."""
    tree = destination / "kubernetes"
    shutil.copytree(KUBERNETES, tree, ignore=shutil.ignore_patterns("secrets.env"))
    for overlay in (tree / "overlays").iterdir():
        shutil.copy(overlay / "secrets.env.example", overlay / "secrets.env")
    return tree


class Rendered:
    """One overlay's objects, with the look-ups the tests need."""

    def __init__(self, name: str, objects: list[Obj]) -> None:
        self.name = name
        self.objects = objects

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> Obj:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{len(found)} {kind} named {name} in {self.name}"
        return found[0]

    def generated(self, kind: str, name: str) -> Obj:
        """A generator's object, whatever its content-hash suffix."""
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"].rpartition("-")[0] == name]
        assert len(found) == 1, f"{len(found)} {kind} generated as {name} in {self.name}"
        return found[0]

    @property
    def settings(self) -> dict[str, str]:
        data: dict[str, str] = self.generated("ConfigMap", "identity-settings")["data"]
        return data

    @property
    def secrets(self) -> dict[str, str]:
        data = self.generated("Secret", "identity-secrets")["data"]
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def deployments(self) -> dict[str, Obj]:
        """By compose service name: `identity-auth` is `auth`."""
        return {
            d["metadata"]["name"].removeprefix("identity-"): d for d in self.of_kind("Deployment")
        }


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Rendered]:
    tree = copy_with_example_secrets(tmp_path_factory.mktemp("deploy"))
    cache: dict[str, Rendered] = {}

    def rendered(overlay: str) -> Rendered:
        if overlay not in cache:
            cache[overlay] = Rendered(overlay, build(tree / "overlays" / overlay))
        return cache[overlay]

    return rendered


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, render: Callable[[str], Rendered]) -> Rendered:
    return render(request.param)
