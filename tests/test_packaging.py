"""The named kernels live in the top-level kernels/ folder; both install kinds must find them.

* editable install / source checkout: imgconv/kernels.py reads <repo>/kernels;
* built wheel: pyproject.toml force-includes kernels/ as imgconv/_kernels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NAMES = sorted(p.stem for p in (REPO / "kernels").glob("*.json"))


def test_the_checkout_reads_the_top_level_kernels_folder() -> None:
    from imgconv.kernels import kernels_dir, kernel_names

    assert kernels_dir() == REPO / "kernels"
    assert set(NAMES) <= set(kernel_names())
    assert len(NAMES) >= 19


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    (built,) = out.glob("imgconv-*.whl")
    return built


def test_the_wheel_carries_every_named_kernel(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        members = set(archive.namelist())
        for name in NAMES:
            member = f"imgconv/_kernels/{name}.json"
            assert member in members, member
            assert json.loads(archive.read(member))["name"] == name
        assert not any(m.startswith("kernels/") for m in members)


def test_the_installed_wheel_loads_named_kernels_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    code = (
        "import imgconv, imgconv.kernels as k\n"
        "print(k.kernels_dir())\n"
        "print(imgconv.load_kernel('edge').weights.tolist())\n"
        "print(len(k.kernel_names()))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    folder, edge, count = run.stdout.decode().splitlines()
    assert Path(folder) == target / "imgconv" / "_kernels"
    assert edge == "[[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]]"
    assert int(count) >= len(NAMES)
