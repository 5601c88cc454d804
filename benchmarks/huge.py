"""Images larger than memory (issue 16): imgconv streaming against libvips, side by side.

Run ``python benchmarks/huge.py`` (``--cases A,B``; ``--rounds R``, default 1; ``--keep DIR`` keeps
the generated inputs for the next run; ``--quick``: small sizes, a minute). Each command runs
as a child process; wall time and peak resident memory (``ru_maxrss`` from ``os.wait4``: the
kernel's own account of the child) are measured for it, on 2 cores and on 1 (``taskset -c 0``,
and ``VIPS_CONCURRENCY=1`` for vips).

Cases (inputs: tiled 256x256 zstd RGB TIFFs, a mosaic of the bundled sample photos, made band by
band so that the generator itself stays small):

* A: 12000x12000, ``gaussian:size=15,sigma=3``: imgconv streamed (``--max-memory 64M``) and in
  memory (``--max-memory 8G``); targets: streamed at most 200 MiB and 1.1x the in-memory time;
* B: 40000x40000 (4.8 GB of pixels), ``gaussian:size=31,sigma=5``: imgconv streamed
  (``--max-memory 256M``); targets: at most 512 MiB and 1.0x ``vips convsep`` with the same 1-D
  mask.

vips runs ``convsep`` with the kernel's normalised 1-D factor, into the same kind of file (an
uncompressed tiled BigTIFF; imgconv with ``--compression none``), with its default integer
precision and with ``--precision float``. Outputs are compared band by band: imgconv streamed against in memory
(must be identical) and against vips away from the borders (vips extends edges by copying).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import tifffile
import zarr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import imgconv  # noqa: E402

TILE = 256
# uncompressed tiled BigTIFF out of both: vips's zstd (its default level, 10) took 45 s of a
# 48 s run of case A, which would measure its encoder, not its convolution
VIPS_OUT = "[tile,tile-width=256,tile-height=256,bigtiff]"


def make_input(path: Path, side: int) -> None:
    """A tiled RGB BigTIFF of ``side`` squared: 256x256 crops of the sample photos."""
    photos = [cv2.imread(f)[:, :, ::-1] for f in sorted(glob.glob(str(ROOT / "samples" / "*.png")))]

    def tiles():  # noqa: ANN202
        for y in range(0, side, TILE):
            for x in range(0, side, TILE):
                photo = photos[(y // TILE * 7 + x // TILE * 3) % len(photos)]
                oy, ox = (y * 13) % (photo.shape[0] - TILE), (x * 7) % (photo.shape[1] - TILE)
                yield photo[oy : oy + TILE, ox : ox + TILE]

    tifffile.imwrite(path, tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(TILE, TILE), photometric="rgb",
                     bigtiff=True, compression="zstd", predictor=True, maxworkers=os.cpu_count())


def vips_mask(kernel: str, path: Path) -> None:
    """The kernel's 1-D factor as a vips matrix file (the kernel is its outer product)."""
    weights = imgconv.load_kernel(kernel).effective
    column = weights.sum(axis=1) / weights.sum()
    assert np.allclose(np.outer(column, column) * weights.sum(), weights, atol=1e-9), "not separable"
    path.write_text(f"{len(column)} 1 1 0\n" + " ".join(repr(float(v)) for v in column) + "\n")


# A child forked from this process starts with this process's peak memory as its own
# (Linux carries ru_maxrss over fork and exec), and comparing outputs makes this one large:
# a small launcher forks the command and reports the command's own peak.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss * 1024, file=sys.stderr)
"""


def run(command: list[str], cores: int, env: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of ``command`` on ``cores`` cores."""
    if cores == 1:
        command = ["taskset", "-c", "0", *command]
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *command], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    *lines, last = proc.stderr.decode().splitlines()
    code, took, peak = last.split()
    if int(code):
        raise SystemExit(f"{' '.join(command)} failed:\n" + "\n".join(lines))
    return float(took), int(peak)


def compare(a: Path, b: Path, margin: int = 0) -> tuple[int, float]:
    """Differing values and the largest difference between two TIFFs, band by band,
    ``margin`` pixels from each edge left out."""
    with tifffile.TiffFile(a) as ta, tifffile.TiffFile(b) as tb:
        za, zb = zarr.open(ta.aszarr(), mode="r"), zarr.open(tb.aszarr(), mode="r")
        assert za.shape == zb.shape, (za.shape, zb.shape)
        height, width = za.shape[:2]
        count, largest = 0, 0.0
        for y in range(margin, height - margin, 2048):
            y1 = min(height - margin, y + 2048)
            da = np.asarray(za[y:y1, margin : width - margin]).astype(np.int16)
            db = np.asarray(zb[y:y1, margin : width - margin]).astype(np.int16)
            diff = np.abs(da - db)
            count += int(np.count_nonzero(diff))
            largest = max(largest, float(diff.max()))
    return count, largest


def imgconv_command(kernel: str, source: Path, target: Path, memory: str) -> list[str]:
    return [sys.executable, "-m", "imgconv", "apply", kernel, str(source), "-o", str(target), "--overwrite",
            "--max-memory", memory, "--compression", "none"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="A,B")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="keep the generated inputs here")
    parser.add_argument("--quick", action="store_true", help="small sizes (5000 and 6000, 32M)")
    args = parser.parse_args()
    if not shutil.which("vips"):
        print("vips is not installed (apt install libvips-tools): only imgconv is timed")
    sides = {"A": 5000 if args.quick else 12000, "B": 6000 if args.quick else 40000}
    kernels = {"A": "gaussian:size=15,sigma=3", "B": "gaussian:size=31,sigma=5"}
    streamed_memory = {"A": "32M", "B": "32M"} if args.quick else {"A": "64M", "B": "256M"}
    folder = args.keep or Path(tempfile.mkdtemp(prefix="imgconv-huge-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in args.cases.split(","):
        side, kernel = sides[case], kernels[case]
        source = folder / f"{case}-{side}.tif"
        if not source.exists():
            started = time.perf_counter()
            make_input(source, side)
            print(f"made {source} ({source.stat().st_size >> 20} MiB) in {time.perf_counter() - started:.0f} s")
        mask = folder / f"{case}.mat"
        vips_mask(kernel, mask)
        out = {name: folder / f"{case}-{name}.tif" for name in ("streamed", "memory", "vips-int", "vips-float")}
        commands = {
            "imgconv streamed": (imgconv_command(kernel, source, out["streamed"], streamed_memory[case]), {}),
            "vips convsep": (["vips", "convsep", str(source), str(out["vips-int"]) + VIPS_OUT, str(mask)], {}),
        }
        if case == "A":
            commands["imgconv in memory"] = (imgconv_command(kernel, source, out["memory"], "8G"), {})
            commands["vips convsep float"] = (["vips", "convsep", str(source), str(out["vips-float"]) + VIPS_OUT,
                                               str(mask), "--precision", "float"], {})
        for cores in (2, 1):
            for name, (command, env) in commands.items():
                if name.startswith("vips") and not shutil.which("vips"):
                    continue
                if cores == 1 and name.startswith("vips"):
                    env = {"VIPS_CONCURRENCY": "1"}
                runs = [run(command, cores, env) for _ in range(args.rounds)]
                took = statistics.median(t for t, _ in runs)
                peak = max(m for _, m in runs)
                rows.append((case, side, name, cores, took, peak, side * side / took / 1e6))
                print(f"  {case} {name} {cores} cores: {took:.2f} s, {peak >> 20} MiB", flush=True)
        if case == "A":
            print(f"{case}: streamed vs in memory: {compare(out['streamed'], out['memory'])} (differing values, max)")
        reach = imgconv.load_kernel(kernel).shape[0]
        for name in ("vips-int", "vips-float"):
            if out[name].exists():
                print(f"{case}: imgconv vs {name}, {reach} px from the edges: "
                      f"{compare(out['streamed'], out[name], reach)} (differing values, max)")
    print("\n| case | size | tool | cores | wall s | peak MiB | MP/s | vs vips convsep |")
    print("|---|---|---|---|---|---|---|---|")
    for case, side, name, cores, took, peak, mps in rows:
        vips = next((r[4] for r in rows if r[0] == case and r[3] == cores and r[2] == "vips convsep"), None)
        ratio = f"{took / vips:.2f}x" if vips else "-"
        print(f"| {case} | {side}x{side} | {name} | {cores} | {took:.1f} | {peak >> 20} | {mps:.0f} | {ratio} |")
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
