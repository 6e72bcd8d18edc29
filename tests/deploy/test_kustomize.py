"""The kustomize renderer the deploy tests use, and that it agrees with kubectl's kustomize."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import OVERLAYS, copy_with_example_secrets
from tests.deploy.kustomize import (
    KustomizeError,
    build,
    content_hash,
    encode_base64,
    json_patch,
    read_env_file,
    split_image,
)

KUBECTL = shutil.which("kubectl")
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: init, image: registry.example.com:5000/team/web}
      containers:
        - name: web
          image: registry.example.com:5000/team/web:1.0
          envFrom: [{configMapRef: {name: settings}}]
          env:
            - name: KEY
              valueFrom: {secretKeyRef: {name: keys, key: KEY}}
      volumes:
        - {name: keys, secret: {secretName: keys}}
        - {name: other, secret: {secretName: not-generated}}
"""


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _kubectl(folder: Path) -> list[dict[str, Any]]:
    # The machines this runs on have kubectl (Debian package kubectl); without it these fail.
    assert KUBECTL is not None, "kubectl is needed to check the renderer against kustomize"
    out = subprocess.run(
        [KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return sorted((doc for doc in yaml.safe_load_all(out) if doc), key=_key)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A base with a generated ConfigMap and an overlay using every feature implemented."""
    _write(
        tmp_path,
        {
            "base/kustomization.yaml": """\
                namespace: team
                resources: [web.yaml]
                configMapGenerator:
                  - {name: settings, envs: [settings.env]}
            """,
            "base/web.yaml": DEPLOYMENT,
            "base/settings.env": "# a comment\nHOST=a.example.com\n  SPACED=kept as is  \n",
            "overlay/kustomization.yaml": """\
                namespace: team
                resources: [../base, route.yaml]
                configMapGenerator:
                  - {name: settings, behavior: merge, envs: [settings.env]}
                secretGenerator:
                  - {name: keys, envs: [keys.env]}
                images:
                  - {name: registry.example.com:5000/team/web, newTag: "2.0"}
                patches:
                  - target: {kind: Deployment, name: web}
                    patch: |-
                      - {op: add, path: /spec/replicas, value: 3}
                      - {op: replace, path: /spec/template/spec/containers/0/name, value: app}
                replacements:
                  - source: {kind: ConfigMap, name: settings, fieldPath: data.HOST}
                    targets:
                      - select: {kind: Route}
                        fieldPaths: [spec.routes.*.match]
                        options: {delimiter: "`", index: 1}
            """,
            "overlay/settings.env": "HOST=b.example.com\n",
            "overlay/keys.env": "KEY=" + "k" * 80 + "\n",
            "overlay/route.yaml": """\
                apiVersion: example.com/v1
                kind: Route
                metadata: {name: r}
                spec:
                  routes:
                    - {match: "Host(`x`) && PathPrefix(`/a`)"}
                    - {match: "Host(`x`)"}
            """,
        },
    )
    return tmp_path


def test_an_overlay_merges_generates_patches_retags_and_replaces(app: Path) -> None:
    objects = {o["kind"]: o for o in build(app / "overlay")}
    config, secret, web = objects["ConfigMap"], objects["Secret"], objects["Deployment"]
    assert config["data"] == {"HOST": "b.example.com", "SPACED": "kept as is  "}
    assert config["metadata"] == {"name": f"settings-{content_hash(config)}", "namespace": "team"}
    assert secret["metadata"]["name"] == f"keys-{content_hash(secret)}"
    pod = web["spec"]["template"]["spec"]
    assert web["spec"]["replicas"] == 3
    assert pod["containers"][0]["name"] == "app"
    assert pod["containers"][0]["image"] == "registry.example.com:5000/team/web:2.0"
    assert pod["initContainers"][0]["image"] == "registry.example.com:5000/team/web:2.0"
    # Every reference to a generated object follows its new name; others stay.
    assert pod["containers"][0]["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    key_ref = pod["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
    assert key_ref["name"] == secret["metadata"]["name"]
    assert [v["secret"]["secretName"] for v in pod["volumes"]] == [
        secret["metadata"]["name"],
        "not-generated",
    ]
    matches = [r["match"] for r in objects["Route"]["spec"]["routes"]]
    assert matches == ["Host(`b.example.com`) && PathPrefix(`/a`)", "Host(`b.example.com`)"]


def test_the_name_suffix_follows_the_content_only() -> None:
    # Figures printed by kubectl kustomize (kustomize v5.5.0) for these generators.
    assert content_hash({"kind": "ConfigMap", "data": {"A": "1"}}) == "89g4tffbfk"
    assert content_hash({"kind": "ConfigMap", "data": {"A": "1", "B": "x y"}}) == "g6b9tf6chb"
    one = {"kind": "ConfigMap", "metadata": {"name": "one"}, "data": {"A": "2"}}
    assert content_hash(one) != "89g4tffbfk"
    assert content_hash(one) == content_hash({**one, "metadata": {"name": "two"}})


def test_env_files_are_read_as_kustomize_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "a.env"
    path.write_text('\ufeffA=1\n# B=2\n\n   C="quoted" \nD=x=y\r\n')
    assert read_env_file(path) == {"A": "1", "C": '"quoted" ', "D": "x=y"}
    path.write_text("A=1\nFROM_MY_ENVIRONMENT\n")
    with pytest.raises(KustomizeError, match="no '='"):
        read_env_file(path)
    path.write_text("A=1\nA=2\n")
    with pytest.raises(KustomizeError, match="twice"):
        read_env_file(path)


def test_secret_values_are_wrapped_as_kustomize_wraps_them() -> None:
    assert encode_base64("short") == "c2hvcnQ="
    assert "\n" not in encode_base64("x" * 51)  # 68 characters of base64
    wrapped = encode_base64("x" * 54)  # 72
    assert wrapped.split("\n") == [wrapped[:70], wrapped[71:73], ""]


def test_json_patches_refuse_a_missing_path_and_a_failed_test() -> None:
    doc = {"spec": {"items": [1, 2]}}
    assert json_patch(doc, [{"op": "add", "path": "/spec/items/-", "value": 3}]) == {
        "spec": {"items": [1, 2, 3]}
    }
    assert json_patch(doc, [{"op": "remove", "path": "/spec/items/0"}]) == {"spec": {"items": [2]}}
    assert doc == {"spec": {"items": [1, 2]}}  # untouched
    with pytest.raises(KustomizeError, match="no such field"):
        json_patch(doc, [{"op": "replace", "path": "/spec/missing", "value": 1}])
    with pytest.raises(KustomizeError, match="test"):
        json_patch(doc, [{"op": "test", "path": "/spec/items/0", "value": 9}])


def test_image_names_keep_a_registry_port() -> None:
    assert split_image("registry:5000/a/b") == ("registry:5000/a/b", None, None)
    assert split_image("registry:5000/a/b:1.2") == ("registry:5000/a/b", "1.2", None)
    assert split_image("a/b@sha256:00") == ("a/b", None, "sha256:00")


@pytest.mark.parametrize(
    ("kustomization", "error"),
    [
        ("resources: [web.yaml]\nnamePrefix: x-\n", "namePrefix"),
        (
            "resources: [web.yaml]\nconfigMapGenerator:\n  - {name: c, literals: [A=1]}\n",
            "literals",
        ),
        (
            "resources: [web.yaml]\npatches:\n  - {target: {kind: Deployment, name: nope}, patch: '[]'}\n",
            "nothing matches",
        ),
        (
            "resources: [web.yaml]\npatches:\n  - {target: {kind: Deployment}, patch: 'spec: {}'}\n",
            "JSON 6902",
        ),
    ],
    ids=["unknown field", "unknown generator option", "target matching nothing", "strategic merge"],
)
def test_what_it_does_not_implement_is_refused(
    tmp_path: Path, kustomization: str, error: str
) -> None:
    _write(tmp_path, {"kustomization.yaml": kustomization, "web.yaml": DEPLOYMENT})
    with pytest.raises(KustomizeError, match=error):
        build(tmp_path)


def test_kubectl_renders_the_feature_overlay_the_same(app: Path) -> None:
    assert sorted(build(app / "overlay"), key=_key) == _kubectl(app / "overlay")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubectl_renders_each_overlay_the_same(tmp_path: Path, overlay: str) -> None:
    tree = copy_with_example_secrets(tmp_path)
    folder = tree / "overlays" / overlay
    assert sorted(build(folder), key=_key) == _kubectl(folder)
