"""The layering of docs/architecture.md holds: the import-linter contracts in
pyproject.toml, checked on the package as it is (``lint-imports``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    command = shutil.which("lint-imports") or shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "import-linter is a test dependency: pip install -e '.[test]'"
    proc = subprocess.run(
        [command, str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "broken" in proc.stdout and " 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    lengths = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (REPO / "imgconv").rglob("*.py")
    }
    assert lengths, "no modules found"
    too_long = {name: n for name, n in lengths.items() if n > 700}
    assert not too_long, too_long
