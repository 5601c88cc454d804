"""Batches on a Dask cluster (--scheduler, apply_files(client=...)): a real LocalCluster of
worker processes, and real `dask scheduler` / `dask worker` processes for the installed CLI.

The oracle is the local run: a cluster run must write the same files, byte for byte, and
report the same records (plus the worker that did each file).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import distributed  # the dask extra: the README's first command installs it, so CI runs these
import numpy as np
import pytest

import imgconv
from imgconv.batch import JobSettings

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
_SCRIPT = Path(sys.executable).with_name("imgconv")
IMGCONV = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "imgconv"]
"""The installed command (the virtual environment's script), as a user runs it."""


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A small tree: the samples, a sub-folder with grey and 16-bit images."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for path in sorted(SAMPLES.glob("*.png"))[:3]:
        shutil.copy(path, root / path.name)
    rng = np.random.default_rng(5)
    cv2.imwrite(str(root / "sub" / "grey.png"), rng.integers(0, 256, (61, 47), dtype=np.uint8))
    cv2.imwrite(str(root / "sub" / "deep.png"), rng.integers(0, 65536, (33, 52, 3), dtype=np.uint16))
    return root


def _noise(folder: Path, count: int, side: int, seed: int) -> Path:
    """``count`` random RGB PNGs of ``side`` x ``side`` in a new ``folder``."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i:03d}.png"), rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _without_times(records: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in r.items() if k not in ("milliseconds", "worker", "output")} for r in records),
                  key=lambda r: r["input"])


def test_a_cluster_run_writes_the_local_runs_files_byte_for_byte(client, photos: Path, tmp_path: Path) -> None:
    options = {"border": "wrap", "stride": 2, "post": "abs"}
    local = imgconv.apply_files("blur+sobel-x", str(photos), output=str(tmp_path / "local"), recursive=True, **options)
    remote = imgconv.apply_files("blur+sobel-x", str(photos), output=str(tmp_path / "remote"), recursive=True,
                                 client=client, **options)
    assert _tree(tmp_path / "remote") == _tree(tmp_path / "local") and len(_tree(tmp_path / "local")) == 5
    assert _without_times(remote) == _without_times(local)
    workers = set(client.scheduler_info()["workers"])
    assert {r["worker"] for r in remote} <= workers and all(r["status"] == "done" for r in remote)
    # and the same pixels as filtering in this process
    grey = cv2.imread(str(photos / "sub" / "grey.png"), cv2.IMREAD_UNCHANGED)
    expect = imgconv.apply(imgconv.apply(grey, "blur", border="wrap", stride=2, post="abs"), "sobel-x",
                           border="wrap", stride=2, post="abs")
    assert np.array_equal(cv2.imread(str(tmp_path / "remote" / "sub" / "grey.png"), cv2.IMREAD_UNCHANGED), expect)


def test_existing_outputs_and_inputs_are_kept_as_in_a_local_run(client, photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = imgconv.apply_files("edge", str(photos), output=str(out), client=client, recursive=True)
    assert [r["status"] for r in first] == ["done"] * 5
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    again = imgconv.apply_files("edge", str(photos), output=str(out), client=client, recursive=True)
    assert all(r["status"] == "failed" and r["error"].endswith("output exists; use --overwrite to replace it")
               and "worker" not in r for r in again)  # decided on the client, before anything is sent
    resumed = imgconv.apply_files("edge", str(photos), output=str(out), client=client, recursive=True,
                                  settings=JobSettings(skip_existing=True))
    assert [r["status"] for r in resumed] == ["skipped"] * 5
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == before
    # an input is never its own output, on a worker either
    original = (photos / "sub" / "grey.png").read_bytes()
    (record,) = imgconv.apply_files("edge", str(photos / "sub" / "grey.png"), output=str(photos / "sub" / "grey.png"),
                                    client=client, settings=JobSettings(overwrite=True))
    assert record["status"] == "failed" and "never overwrites an input" in record["error"]
    assert (photos / "sub" / "grey.png").read_bytes() == original


def test_an_input_a_worker_cannot_read_fails_alone_naming_the_worker(client, photos: Path, tmp_path: Path) -> None:
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    records = imgconv.apply_files("edge", str(photos), output=str(tmp_path / "out"), client=client)
    failed = [r for r in records if r["status"] == "failed"]
    assert len(records) == 4 and [r["input"] for r in failed] == [str(photos / "broken.png")]
    assert "(on worker tcp://" in failed[0]["error"] and "\n" not in failed[0]["error"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in photos.glob("*.png") if p.name != "broken.png")


def _run(*args: str, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run([*IMGCONV, *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def test_an_unreachable_scheduler_fails_in_one_line_within_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _run("apply", "edge", str(SAMPLES / "chelsea.png"), "-o", str(tmp_path / "x.png"),
                "--scheduler", "tcp://127.0.0.1:9", "--scheduler-timeout", "1.5")
    assert proc.returncode == 1 and time.monotonic() - started < 20
    assert proc.stderr.startswith("imgconv: tcp://127.0.0.1:9: cannot reach the Dask scheduler within 1.5 s")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_without_the_extra_the_scheduler_option_names_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['distributed'] = None\n"  # as if the extra were not installed
            "from imgconv.cli import run; run()")
    proc = subprocess.run([sys.executable, "-c", code, "apply", "edge", str(SAMPLES / "chelsea.png"), "-o",
                           str(tmp_path / "x.png"), "--scheduler", "local"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "imgconv: --scheduler needs Dask's distributed scheduler: pip install 'imgconv[dask]'\n"
    local = _run("apply", "edge", str(SAMPLES / "chelsea.png"), "-o", str(tmp_path / "y.png"))
    assert local.returncode == 0  # nothing else changes


def test_standard_output_stays_local(tmp_path: Path) -> None:
    proc = _run("apply", "edge", str(SAMPLES / "chelsea.png"), "-o", "-", "--scheduler", "local:1")
    assert proc.returncode == 2 and "no standard input or output" in proc.stderr


class _Cluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, as a user starts them."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.file = folder / "scheduler.json"
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.scheduler = subprocess.Popen(
            [*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(self.file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(self.file),
                  "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
        self.workers = [subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for _ in range(workers)]
        with distributed.Client(scheduler_file=str(self.file), timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)
            self.address = client.scheduler.address

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def test_the_installed_cli_on_real_scheduler_and_worker_processes(photos: Path, tmp_path: Path) -> None:
    cluster = _Cluster(tmp_path, workers=2)
    try:
        local = _run("apply", "gaussian:size=7,sigma=2", str(photos), "-r", "-o", str(tmp_path / "local"),
                     "--report", str(tmp_path / "local.json"))
        remote = _run("apply", "gaussian:size=7,sigma=2", str(photos), "-r", "-o", str(tmp_path / "remote"),
                      "--scheduler", cluster.address, "--report", str(tmp_path / "remote.json"))
        by_file = _run("apply", "gaussian:size=7,sigma=2", str(photos), "-r", "-o", str(tmp_path / "by-file"),
                       "--scheduler", str(cluster.file))
    finally:
        cluster.close()
    assert local.returncode == remote.returncode == by_file.returncode == 0, (remote.stderr, by_file.stderr)
    assert _tree(tmp_path / "remote") == _tree(tmp_path / "local") == _tree(tmp_path / "by-file")
    assert remote.stderr.splitlines()[-1].startswith("5 done, 0 failed, 0 skipped")
    records = json.loads((tmp_path / "remote.json").read_text())
    assert _without_times(records) == _without_times(json.loads((tmp_path / "local.json").read_text()))
    assert len({r["worker"] for r in records}) >= 1 and all(r["worker"].startswith("tcp://127.0.0.1:") for r in records)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    source = _noise(tmp_path / "in", 24, 384, seed=9)
    cluster = _Cluster(tmp_path, workers=2)
    try:
        command = [*IMGCONV, "apply", "gaussian:size=31,sigma=6", str(source), "-o",
                   str(tmp_path / "out"), "--engine", "numpy", "--scheduler", cluster.address,
                   "--report", str(tmp_path / "run.json")]
        run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list((tmp_path / "out").glob("*.png"))) < 3:
            time.sleep(0.05)
        cluster.workers[0].send_signal(signal.SIGKILL)  # mid-batch: outputs exist, others are running
        _, stderr = run.communicate(timeout=180)
    finally:
        cluster.close()
    assert run.returncode == 0, stderr
    records = json.loads((tmp_path / "run.json").read_text())
    assert sorted(r["input"] for r in records) == sorted(str(p) for p in source.glob("*.png"))
    assert all(r["status"] == "done" for r in records)
    written = sorted(os.listdir(tmp_path / "out"))
    assert written == sorted(p.name for p in source.glob("*.png"))  # no temporary file left behind
    image = cv2.imread(str(source / "005.png"))
    expect = imgconv.apply(image, "gaussian:size=31,sigma=6", engine="numpy")  # as the batch ran it
    assert np.array_equal(cv2.imread(str(tmp_path / "out" / "005.png")), expect)


def test_an_input_that_kills_its_workers_fails_alone(tmp_path: Path) -> None:
    """Workers limited to 600 MiB, which Dask's nanny enforces by killing the worker: one
    input needs far more (a 7000x7000 RGB image is filtered in float32 for --depth uint16 and
    --post stretch: 590 MB of sums alone), the others little. It fails with the reason; the batch goes on. (The outputs are
    16-bit PNGs: the float32 results scaled, as --depth uint16 does.)"""
    source = tmp_path / "in"
    source.mkdir()
    rng = np.random.default_rng(3)
    for i in range(4):
        cv2.imwrite(str(source / f"small{i}.png"), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    big = np.zeros((7000, 7000, 3), np.uint8)
    big[::7, ::5] = 200  # compresses to little on disk, 147 MB decoded
    cv2.imwrite(str(source / "huge.png"), big)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50,
        memory_limit="600MiB",
    ) as cluster, distributed.Client(cluster) as client:
        records = imgconv.apply_files("gaussian:size=9,sigma=2", str(source), output=str(tmp_path / "out"),
                                      client=client, depth="uint16", post="stretch", engine="numpy")
    by_name = {Path(r["input"]).name: r for r in records}
    assert sorted(by_name) == ["huge.png", "small0.png", "small1.png", "small2.png", "small3.png"]
    assert by_name["huge.png"]["status"] == "failed", by_name["huge.png"]
    assert "died each time it was tried" in by_name["huge.png"]["error"]
    assert all(by_name[f"small{i}.png"]["status"] == "done" for i in range(4)), records
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"small{i}.png" for i in range(4)]


def test_ctrl_c_stops_at_once_and_leaves_only_whole_files(tmp_path: Path) -> None:
    source = _noise(tmp_path / "in", 120, 640, seed=4)
    out = tmp_path / "out"
    run = subprocess.Popen(
        [*IMGCONV, "apply", "gaussian:size=31,sigma=6", str(source), "-o", str(out),
         "--engine", "numpy", "--scheduler", "local:2", "--report", str(tmp_path / "run.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # as a terminal's process gets Ctrl-C: a run started in the background (nohup, a CI
        # runner's job) inherits SIGINT ignored, and Python then never installs its handler
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 4:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    stopped = time.monotonic()
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and time.monotonic() - stopped < 15, stderr
    summary = [line for line in stderr.splitlines() if line.startswith("interrupted: ")]
    assert summary and "not started" in summary[0], stderr
    written = sorted(out.iterdir())
    assert 4 <= len(written) < 120 and all(p.suffix == ".png" for p in written)  # no temporary files
    for path in written:  # every file whole: what was running when Ctrl-C came is finished or absent
        assert cv2.imread(str(path)).shape == (640, 640, 3), path
    records = json.loads((tmp_path / "run.json").read_text())
    assert {Path(r["output"]).name for r in records} <= {p.name for p in written}


def test_a_zarr_output_is_filtered_band_by_band_across_the_workers(client, tmp_path: Path) -> None:
    zarr = pytest.importorskip("zarr")
    tifffile = pytest.importorskip("tifffile")
    from imgconv.bigtiff import filter_on_cluster

    image = np.random.default_rng(7).integers(0, 256, (1500, 160, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", image, photometric="rgb", tile=(64, 64))
    kernel = "gaussian:size=15,sigma=3"  # OpenCV's DFT: the bands keep the image's tiles of rows
    with distributed.get_task_stream(client) as tasks:
        done = filter_on_cluster(client, tmp_path / "in.tif", tmp_path / "out.zarr", imgconv.load_kernel(kernel),
                                 memory=256 << 10)
    bands = [t for t in tasks.data if "_cluster_band" in t["key"]]
    assert done["bands"] == len(bands) > 2 and len({t["worker"] for t in bands}) == 2  # both workers wrote
    stored = zarr.open(str(tmp_path / "out.zarr"), mode="r")
    assert stored.chunks[0] == done["band_rows"]  # a band is a row of chunks: no chunk written twice
    assert np.array_equal(stored[:], imgconv.apply(image, kernel))
    # the command, with a cluster of its own, gives the same
    proc = _run("apply", kernel, str(tmp_path / "in.tif"), "-o", str(tmp_path / "cli.zarr"), "--scheduler", "local:2",
                "--max-memory", "256K")
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(zarr.open(str(tmp_path / "cli.zarr"), mode="r")[:], stored[:])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.zarr", "in.tif", "out.zarr"]  # no temporary folders
