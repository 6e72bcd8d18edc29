"""The house rules of DESIGN.md §2, checked: shared imports no service; services import no other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE_PACKAGES = {
    "auth": ROOT / "services/auth/auth",
    "directory": ROOT / "services/directory/directory",
    "otp_delivery": ROOT / "services/otp-delivery/otp_delivery",
    "audit": ROOT / "services/audit/audit",
    "console": ROOT / "services/console/console",
}


def imported_roots(package_dir: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in package_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.name)
    return found


def test_shared_imports_no_service():
    roots = imported_roots(ROOT / "shared")
    offenders = {name: files for name, files in roots.items() if name in SERVICE_PACKAGES}
    assert offenders == {}


def test_services_import_no_other_service():
    checked = 0
    for service, package_dir in SERVICE_PACKAGES.items():
        if not package_dir.exists():
            continue
        checked += 1
        roots = imported_roots(package_dir)
        others = {n: f for n, f in roots.items() if n in SERVICE_PACKAGES and n != service}
        assert others == {}, f"{service} imports another service"
    assert checked >= 1


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "pkg"
    bad.mkdir()
    (bad / "mod.py").write_text("from directory.users import service\nimport auth.tokens\n")
    assert {"directory", "auth"} <= set(imported_roots(bad))
