"""Benchmark batches on a Dask cluster against the local process pool (issue 15, "Speed and scale").

Run ``python benchmarks/cluster.py`` (``--count N`` images, default 200; ``--rounds R``, 3).
Prints, as medians of rounds run in turn:

* whole processes: ``imgconv apply edge DIR -o OUT --scheduler local:2`` against
  ``--workers 2`` (the cluster's start-up, about a second, included), target >= 0.8x the
  throughput;
* in-run, a cluster already up (a notebook user's case): ``apply_files(client=...)`` on a
  ``LocalCluster`` of 2 single-threaded worker processes against ``apply_files(workers=2)``;
* the per-task overhead: a job that does nothing (an input planned as skipped is never sent,
  so a 1x1 image is filtered) timed through the cluster, i.e. the scheduler round trip and
  serialisation per task;
* a paper estimate for 64 workers from that overhead and the scheduler's task rate.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from batch import imgconv_command, make_batch  # noqa: E402

import imgconv  # noqa: E402
from imgconv.batch import JobSettings  # noqa: E402


def whole(command: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr.decode())
    return took


def in_run(folder: Path, out: Path, **how) -> float:  # noqa: ANN003
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    records = imgconv.apply_files("edge", str(folder), output=str(out), **how)
    took = time.perf_counter() - started
    assert all(r["status"] == "done" for r in records), records[:2]
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import distributed

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_batch(root / "in", args.count)
        megapixels = args.count * 512 * 512 / 1e6
        base = [*imgconv_command(), "apply", "edge", str(root / "in"), "-o", str(root / "out"), "-q"]
        pool, cluster = [], []
        for _ in range(args.rounds):
            pool.append(whole([*base, "--workers", "2"], root / "out"))
            cluster.append(whole([*base, "--scheduler", "local:2"], root / "out"))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=40) as lc, distributed.Client(lc) as client:
            in_run(root / "in", root / "warm", client=client)  # workers import numpy and OpenCV once
            local_run, cluster_run = [], []
            for _ in range(args.rounds):
                local_run.append(in_run(root / "in", root / "out", workers=2))
                cluster_run.append(in_run(root / "in", root / "out", client=client))
            tiny = root / "tiny"
            tiny.mkdir()
            for i in range(200):
                cv2.imwrite(str(tiny / f"{i:03d}.png"), np.zeros((1, 1), np.uint8))
            per_task = []
            for _ in range(args.rounds):
                per_task.append(in_run(tiny, root / "tiny-out", client=client, settings=JobSettings(overwrite=True)) / 200)
            started = time.perf_counter()
            client.gather(client.map(lambda x: x, range(2000)))
            rate = 2000 / (time.perf_counter() - started)

    def line(what: str, ours: list[float], theirs: list[float], target: float | None) -> None:
        ratios = [t / o for o, t in zip(ours, theirs)]
        ratio = statistics.median(ratios)
        verdict = "" if target is None else (f">= {target}x: met" if ratio >= target else f">= {target}x: MISSED")
        print(f"{what:52} {statistics.median(ours):7.2f} s  vs {statistics.median(theirs):7.2f} s  "
              f"{ratio:5.2f}x throughput ({min(ratios):.2f}-{max(ratios):.2f})  {verdict}")

    print(f"{args.count} images of 512x512 ({megapixels:.0f} MP), edge; medians of {args.rounds} rounds, 2 cores")
    line("whole process: --scheduler local:2 vs --workers 2", cluster, pool, 0.8)
    line("in-run: apply_files(client) vs apply_files(workers=2)", cluster_run, local_run, 0.8)
    overhead = statistics.median(per_task)
    print(f"per-task cost through the cluster (a 1x1 image, 2 workers): {overhead * 1e3:.2f} ms of wall time")
    print(f"scheduler: {rate:.0f} trivial tasks/s from this client")
    # 64 workers: the scheduler must hand out 64 / (g * t) tasks per second for groups of g
    # images of t seconds each (imgconv sends up to 8 per task while many remain)
    for group in (1, 8):
        for seconds in (0.01, 0.03, 0.1):
            need = 64 / (group * seconds)
            print(f"  64 workers, {group} image(s) per task, {seconds * 1e3:4.0f} ms per image: {need:6.0f} tasks/s "
                  f"needed, {'within' if need < rate else 'beyond'} the measured rate")
        print(f"  break-even per-image time, {group} per task: {64 / (group * rate) * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
