"""`kubectl kustomize <dir>` in Python, for the part of kustomize that deploy/kubernetes uses.

No kustomize (nor helm) binary can be installed from the package registries CI reaches, so
the tests render the overlays with this. It refuses every kustomization field and option it
does not implement, rather than ignore one and render something `kubectl apply -k` would
not. Where a kubectl binary is at hand, tests/deploy/test_kustomize.py checks that it
prints exactly the same objects.

Implemented, in kustomize's order within each kustomization: `resources` (files and other
kustomizations), `configMapGenerator` / `secretGenerator` (`envs` files; `behavior` create
or merge), `patches` (JSON 6902 operations, with a `target`), `namespace`, `images`,
`replacements` (dotted field paths with `*` and list indexes; `delimiter` / `index`).
Then, once for the whole build, generated objects get kustomize's content-hash name suffix
and every reference to them in a pod spec is renamed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.podspec import containers, references

Obj = dict[str, Any]

FIELDS = {
    "apiVersion", "kind", "namespace", "resources", "configMapGenerator", "secretGenerator",
    "patches", "images", "replacements",
}  # fmt: skip
CLUSTER_SCOPED = {
    "Namespace", "PersistentVolume", "StorageClass", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "PriorityClass", "IngressClass",
}  # fmt: skip
ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


class KustomizeError(Exception):
    pass


@dataclass
class Resource:
    obj: Obj
    generated: bool = False  # a generator's: named after its content at the end

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str | None:
        return self.obj["metadata"].get("namespace")


def build(directory: Path) -> list[Obj]:
    """The objects `kubectl kustomize directory` prints."""
    resources = _build(directory)
    _name_generated_by_content(resources)
    return [r.obj for r in resources]


def _build(directory: Path) -> list[Resource]:
    path = directory / "kustomization.yaml"
    spec = yaml.safe_load(path.read_text()) or {}
    _only(spec, FIELDS, path)
    if spec.get("kind", "Kustomization") != "Kustomization":
        raise KustomizeError(f"{path}: not a Kustomization (components are not supported)")
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        target = directory / entry
        if target.is_dir():
            resources += _build(target)
        else:
            docs = yaml.safe_load_all(target.read_text())
            resources += [Resource(doc) for doc in docs if doc is not None]
    for generator in spec.get("configMapGenerator", []):
        _generate(resources, generator, "ConfigMap", directory)
    for generator in spec.get("secretGenerator", []):
        _generate(resources, generator, "Secret", directory)
    for patch in spec.get("patches", []):
        _patch(resources, patch, directory)
    if "namespace" in spec:
        for resource in resources:
            if resource.kind not in CLUSTER_SCOPED:
                resource.obj["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        _set_image(resources, image)
    for replacement in spec.get("replacements", []):
        _replace(resources, replacement)
    return resources


def _only(mapping: dict[str, Any], allowed: set[str], where: object) -> None:
    unknown = set(mapping) - allowed
    if unknown:
        raise KustomizeError(f"{where}: not supported by this renderer: {sorted(unknown)}")


# --- generators -------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """kustomize's reading of an `envs` file: KEY=VALUE lines, the value verbatim (quotes and
    trailing blanks included); blank lines and lines starting with # skipped."""
    pairs: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        line = raw.removesuffix("\r")
        if number == 1:
            line = line.removeprefix("\ufeff")
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            # kustomize would take the value from its own environment: never what you meant.
            raise KustomizeError(f"{path}:{number}: no '=' after {key}")
        if not ENV_NAME.fullmatch(key):
            raise KustomizeError(f"{path}:{number}: {key!r} is not a valid key")
        if key in pairs:
            raise KustomizeError(f"{path}:{number}: {key} is set twice")
        pairs[key] = value
    return pairs


def encode_base64(value: str) -> str:
    """kustomize's base64 of a Secret value: 70-character lines, each ending in a newline,
    once the encoding is 70 characters or longer."""
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) < 70:
        return encoded
    return "".join(encoded[i : i + 70] + "\n" for i in range(0, len(encoded), 70))


def _generate(resources: list[Resource], generator: Obj, kind: str, directory: Path) -> None:
    allowed = {"name", "behavior", "envs"} | ({"type"} if kind == "Secret" else set())
    _only(generator, allowed, f"{kind} generator {generator.get('name')}")
    name = generator["name"]
    data: dict[str, str] = {}
    for env in generator.get("envs", []):
        for key, value in read_env_file(directory / env).items():
            if key in data:
                raise KustomizeError(f"{kind} {name}: {key} is set twice")
            data[key] = value
    if kind == "Secret":
        data = {key: encode_base64(value) for key, value in data.items()}
    existing = [r for r in resources if r.kind == kind and r.name == name]
    behavior = generator.get("behavior", "create")
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{kind} {name} exists already: use behavior: merge")
        obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, "data": data}
        if kind == "Secret":
            obj["type"] = generator.get("type", "Opaque")
        resources.append(Resource(obj, generated=True))
    elif behavior == "merge":
        if len(existing) != 1:
            raise KustomizeError(f"behavior: merge, but {len(existing)} {kind} named {name}")
        existing[0].obj.setdefault("data", {}).update(data)
    else:
        raise KustomizeError(f"{kind} {name}: behavior {behavior} is not supported")


def go_json(value: object) -> str:
    """Go's json.Marshal of maps and strings: sorted keys, no spaces, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def content_hash(obj: Obj) -> str:
    """kustomize's name suffix for a ConfigMap or Secret. It hashes the kind, data (and type)
    but, as kustomize's own hasher looks the name up by a path it cannot resolve, an empty
    name: the same data under another name gets the same suffix."""
    if obj["kind"] == "ConfigMap":
        fields: Obj = {"kind": "ConfigMap", "name": "", "data": obj.get("data", "")}
        if isinstance(obj.get("binaryData"), dict):
            fields["binaryData"] = obj["binaryData"]
    else:
        fields = {"kind": "Secret", "type": obj.get("type", ""), "name": "", "data": obj["data"]}
        if isinstance(obj.get("stringData"), dict):
            fields["stringData"] = obj["stringData"]
    digest = hashlib.sha256(go_json(fields).encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _name_generated_by_content(resources: list[Resource]) -> None:
    renamed: dict[tuple[str, str | None, str], str] = {}
    for resource in resources:
        if resource.generated:
            new = f"{resource.name}-{content_hash(resource.obj)}"
            renamed[(resource.kind, resource.namespace, resource.name)] = new
            resource.obj["metadata"]["name"] = new
    for resource in resources:
        for kind, holder, key in references(resource.obj):
            new_name = renamed.get((kind, resource.namespace, holder[key]))
            if new_name:
                holder[key] = new_name


# --- transformers -----------------------------------------------------------------------


def _selected(resource: Resource, selector: Obj) -> bool:
    _only(selector, {"group", "version", "kind", "name", "namespace"}, f"selector {selector}")
    group, _, version = str(resource.obj.get("apiVersion", "")).rpartition("/")
    actual = {
        "group": group,
        "version": version,
        "kind": resource.kind,
        "name": resource.name,
        "namespace": resource.namespace,
    }
    return all(actual[key] == value for key, value in selector.items())


def _pick(resources: list[Resource], selector: Obj, what: str) -> list[Resource]:
    # Stricter than kustomize, which skips a selector matching nothing: here a misspelt
    # target fails the build instead of leaving the object unchanged.
    chosen = [r for r in resources if _selected(r, selector)]
    if not chosen:
        raise KustomizeError(f"{what}: nothing matches {selector}")
    return chosen


def _patch(resources: list[Resource], patch: Obj, directory: Path) -> None:
    _only(patch, {"target", "patch", "path"}, "patch")
    text = patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text()
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise KustomizeError("only JSON 6902 patches (a list of operations) are supported")
    for resource in _pick(resources, patch["target"], "patch"):
        resource.obj = json_patch(resource.obj, operations)


def json_patch(doc: Obj, operations: list[Obj]) -> Obj:
    """RFC 6902's add, remove, replace and test."""
    doc = copy.deepcopy(doc)
    for operation in operations:
        op, path = operation["op"], operation["path"]
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]
        if not path.startswith("/") or not tokens:
            raise KustomizeError(f"bad JSON pointer {path!r}")
        parent: Any = doc
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if op == "add":
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                parent.insert(index, operation["value"])
            else:
                parent[last] = operation["value"]
            continue
        key: Any = int(last) if isinstance(parent, list) else last
        exists = 0 <= key < len(parent) if isinstance(parent, list) else key in parent
        if not exists:
            raise KustomizeError(f"{op} {path}: no such field")
        if op == "replace":
            parent[key] = operation["value"]
        elif op == "remove":
            del parent[key]
        elif op == "test":
            if parent[key] != operation["value"]:
                raise KustomizeError(f"test {path}: {parent[key]!r} != {operation['value']!r}")
        else:
            raise KustomizeError(f"patch operation {op} is not supported")
    return doc


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest); a registry's port is part of the name."""
    name, _, digest = image.partition("@")
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def _set_image(resources: list[Resource], image: Obj) -> None:
    _only(image, {"name", "newName", "newTag", "digest"}, f"image {image.get('name')}")
    for resource in resources:
        for container in containers(resource.obj):
            name, tag, digest = split_image(container["image"])
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                new += f"@{image['digest']}"
            elif "newTag" in image:
                new += f":{image['newTag']}"
            elif digest:
                new += f"@{digest}"
            elif tag:
                new += f":{tag}"
            container["image"] = new


def _fields(obj: Obj, field_path: str) -> list[tuple[Any, Any]]:
    """(holder, key) of every existing field `a.b.*.c` or `a.0.c` names."""
    nodes: list[tuple[Any, Any]] = [({"": obj}, "")]
    for part in field_path.split("."):
        if part.startswith("["):
            raise KustomizeError(f"field path {field_path}: {part} is not supported")
        step: list[tuple[Any, Any]] = []
        for holder, key in nodes:
            node = holder[key]
            if isinstance(node, list) and part == "*":
                step += [(node, index) for index in range(len(node))]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                step.append((node, int(part)))
            elif isinstance(node, dict) and part in node:
                step.append((node, part))
        nodes = step
    return nodes


def _replace(resources: list[Resource], replacement: Obj) -> None:
    _only(replacement, {"source", "targets"}, "replacement")
    source = dict(replacement["source"])
    field_path = source.pop("fieldPath", "metadata.name")
    sources = _pick(resources, source, "replacement source")
    if len(sources) != 1:
        raise KustomizeError(f"replacement source {source}: {len(sources)} objects")
    values = _fields(sources[0].obj, field_path)
    if len(values) != 1:
        raise KustomizeError(f"replacement source {field_path}: {len(values)} fields")
    holder, key = values[0]
    value = holder[key]
    for target in replacement["targets"]:
        _only(target, {"select", "fieldPaths", "options"}, "replacement target")
        options = target.get("options", {})
        _only(options, {"delimiter", "index"}, "replacement options")
        for resource in _pick(resources, target["select"], "replacement target"):
            for path in target["fieldPaths"]:
                fields = _fields(resource.obj, path)
                if not fields:
                    raise KustomizeError(f"{resource.kind} {resource.name} has no {path}")
                for holder, key in fields:
                    holder[key] = _replaced(holder[key], value, options)


def _replaced(current: Any, value: Any, options: Obj) -> Any:
    if "delimiter" not in options:
        return value
    parts = str(current).split(options["delimiter"])
    index = options.get("index", 0)
    if not 0 <= index < len(parts):
        raise KustomizeError(f"index {index} is outside {current!r}")
    parts[index] = str(value)
    return options["delimiter"].join(parts)
