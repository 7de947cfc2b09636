"""The layer contracts (``[tool.importlinter]`` in pyproject.toml) hold: nothing imports upward, nothing imports
``serving`` but the CLI. ``make lint`` runs the same check; this test makes CI (``make test``) run it too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"{lint_imports} is missing: install the dev extra (pip install -e '.[dev]')"
    done = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (
        f"import contracts broken (lint-imports exit {done.returncode}):\n{done.stdout}{done.stderr}"
    )
