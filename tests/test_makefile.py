"""`make help` lists every target, from the Makefile's own `## make ...` comments."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_help_lists_every_target_of_the_makefile():
    answer = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stderr
    listed = {
        name
        for line in answer.stdout.splitlines()
        if line.startswith("make ")
        for name in re.split(r",\s*", line[len("make ") :].split(":")[0])
    }
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    assert {"dev", "test", "stack", "help"} <= targets
    assert targets - listed == set()
