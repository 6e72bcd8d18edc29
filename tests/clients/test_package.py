"""The library is a package of its own: `pip install ./clients/python` builds it, typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"


def test_the_package_builds_a_wheel_with_its_type_information(tmp_path: Path):
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps",
               "-q", "-w", str(tmp_path), str(PACKAGE)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("identity_services_client-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "identity_client/py.typed" in names and "identity_client/tokens.py" in names
    assert not any(name.startswith(("tests/", "shared/", "auth/")) for name in names)
