"""Benchmark whole imgconv processes against bare OpenCV scripts (issue 4, "Speed").

Run ``python benchmarks/batch.py`` (``--quick``: fewer runs and a 60-image batch). It
prints one table with the median wall time of several runs and the issue's targets, each
marked met or missed:

* whole process, a 4096x4096 RGB JPEG (astronaut.png upscaled, with mild noise, so that
  it compresses like a photo), 3x3 ``edge`` kernel, PNG out:
  ``imgconv apply edge big.jpg -o out.png --overwrite`` at most 1.1x a four-line Python
  script doing ``imdecode(np.fromfile)`` / ``filter2D`` / ``imencode`` / ``tofile``;
* ``imgconv --help`` at most 0.25 s;
* a batch of 200 images of 512x512 (made from the samples: crops, flips, shifts, grey
  and colour): ``--workers 2`` at least 1.8x the throughput of ``--workers 1``, and at
  most 1.15x the wall time of a bare Python loop over the same files in one process;
* peak resident memory (``/usr/bin/time -v``'s "Maximum resident set size", or
  ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process) of the single 4096x4096 run
  at most 1.5x that of the bare script;
* ImageMagick ``mogrify`` on the same batch, when ``mogrify`` or ``magick`` is on PATH
  (one run: a comparison, not a target).

The batch commands run in rounds (workers=1, workers=2, the bare loop, in turn; 7 rounds,
3 with ``--quick``), and each ratio is the median of the rounds' own ratios, with their
range: a slow phase of a shared machine slows one round's commands alike.

The batch's throughput is also given as imgconv's own summary line reports it (MP/s from
the first job planned to the last file written), for information: the ``>= 1.8x`` target
is judged on whole processes.

Every timing is of a whole process, interpreter start-up included, as a user sees it.
The competing commands run alternately, so that other load on the machine slows them
alike; the load average is printed because these numbers are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
EDGE = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]

BARE_SINGLE = """\
import sys, cv2, numpy as np
image = cv2.imdecode(np.fromfile(sys.argv[1], np.uint8), cv2.IMREAD_UNCHANGED)
result = cv2.filter2D(image, -1, np.array({edge}, np.float32))
cv2.imencode(".png", result)[1].tofile(sys.argv[2])
""".format(edge=EDGE)

BARE_LOOP = """\
import os, sys, cv2, numpy as np
kernel = np.array({edge}, np.float32)
for name in sorted(os.listdir(sys.argv[1])):
    image = cv2.imdecode(np.fromfile(os.path.join(sys.argv[1], name), np.uint8), cv2.IMREAD_UNCHANGED)
    cv2.imencode(".png", cv2.filter2D(image, -1, kernel))[1].tofile(os.path.join(sys.argv[2], name))
""".format(edge=EDGE)

RSS_WRAPPER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


# -- inputs ---------------------------------------------------------------------------------
def make_big_jpeg(path: Path) -> None:
    """A 4096x4096 photo-like RGB JPEG: a real photo upscaled, with mild sensor-like noise."""
    image = cv2.imread(str(SAMPLES / "astronaut.png"), cv2.IMREAD_COLOR)
    big = cv2.resize(image, (4096, 4096), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    noise = np.random.default_rng(0).normal(0, 4, big.shape).astype(np.int16)
    big = np.clip(big + noise, 0, 255).astype(np.uint8)
    assert cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])


def make_batch(folder: Path, count: int) -> None:
    """``count`` varied 512x512 PNGs made from the samples (grey and colour)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    sources = []
    for name in ("astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png"):
        image = cv2.imread(str(SAMPLES / name), cv2.IMREAD_UNCHANGED)
        if image.shape[:2] != (512, 512):
            image = cv2.resize(image, (512, 512), interpolation=cv2.INTER_AREA)
        sources.append(image)
    for i in range(count):
        image = sources[i % len(sources)]
        image = np.roll(image, int(rng.integers(0, 512)), axis=int(rng.integers(0, 2)))
        if i % 3 == 0:
            image = image[:, ::-1]
        if i % 4 == 1:
            image = image[::-1]
        gain = rng.uniform(0.8, 1.2)
        image = np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i:03d}.png"), np.ascontiguousarray(image))


# -- measuring ------------------------------------------------------------------------------
def imgconv_command() -> list[str]:
    script = Path(sys.executable).with_name("imgconv")
    if script.exists():
        return [str(script)]
    found = shutil.which("imgconv")
    return [found] if found else [sys.executable, "-m", "imgconv"]


def timed(command: list[str], before=None) -> float:  # noqa: ANN001
    """Wall time of one run of ``command`` (``before`` runs first, untimed)."""
    if before is not None:
        before()
    started = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr.decode()}")
    return seconds


def alternate(commands: dict[str, tuple[list[str], object]], runs: int) -> dict[str, float]:
    """The median wall time of each command, run in turn ``runs`` times (one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, (command, before) in commands.items():
        timed(command, before)  # warm-up: page cache, .pyc files
    for _ in range(runs):
        for name, (command, before) in commands.items():
            times[name].append(timed(command, before))
    return {name: statistics.median(values) for name, values in times.items()}


def batch_rounds(commands: dict[str, tuple[list[str], object]], rounds: int,
                 summarised: tuple[str, ...] = ()) -> list[dict[str, tuple[float, float]]]:
    """``rounds`` rounds of every command in turn (after one warm-up each): per round and
    command, the wall time and the MP/s of imgconv's summary line, which the commands
    named in ``summarised`` must print (0 for the others)."""
    for command, before in commands.values():
        timed(command, before)
    results = []
    for _ in range(rounds):
        this = {}
        for name, (command, before) in commands.items():
            before()  # type: ignore[operator]
            started = time.perf_counter()
            proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            seconds = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr.decode()}")
            match = re.search(rb"\(([\d.]+) MP/s\)", proc.stderr)
            if match is None and name in summarised:
                raise SystemExit(f"no summary line from {' '.join(command)}: {proc.stderr.decode()}")
            this[name] = (seconds, float(match.group(1)) if match else 0.0)
        results.append(this)
    return results


def peak_rss_kib(command: list[str]) -> int:
    """The peak resident set size of ``command`` (its largest process), in KiB."""
    gnu_time = "/usr/bin/time"
    if os.path.exists(gnu_time):
        proc = subprocess.run([gnu_time, "-v", *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        match = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        if proc.returncode == 0 and match:
            return int(match.group(1))
    proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *command], capture_output=True, check=True)
    rss, code = proc.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"failed ({code.decode()}): {' '.join(command)}")
    return int(rss)  # Linux: KiB


def fresh(folder: Path):  # noqa: ANN201
    def reset() -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    return reset


# -- the table ------------------------------------------------------------------------------
class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []

    def add(self, what: str, value: str, reference: str = "", ratio: str = "", target: str = "") -> None:
        self.rows.append((what, value, reference, ratio, target))

    def print(self) -> None:
        head = ("measurement", "imgconv", "reference", "ratio", "target")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(5)]
        line = "  ".join("{:<%d}" % w for w in widths)
        print(line.format(*head))
        print("  ".join("-" * w for w in widths))
        for row in self.rows:
            print(line.format(*row))


def verdict(ok: bool, text: str) -> str:
    return f"{text}: {'met' if ok else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and a 60-image batch")
    args = parser.parse_args()
    runs = 3 if args.quick else 5
    batch_runs = 3 if args.quick else 7
    batch_size = 60 if args.quick else 200
    imgconv = imgconv_command()
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        # An installed imgconv has its .pyc files; without them every run would compile
        # ~15k lines first (~0.2 s) and the benchmark would measure that, not imgconv.
        print("note: PYTHONDONTWRITEBYTECODE is set here; unset for the runs measured, as on an installed system")
    load_before = os.getloadavg()
    print(f"imgconv: {' '.join(imgconv)}; python {sys.version.split()[0]}; OpenCV {cv2.__version__}; "
          f"{os.cpu_count()} cores; load average {load_before[0]:.2f}")

    table = Table()
    with tempfile.TemporaryDirectory(prefix="imgconv-bench-") as tmp_name:
        tmp = Path(tmp_name)
        big = tmp / "big.jpg"
        make_big_jpeg(big)
        bare_single = tmp / "bare_single.py"
        bare_single.write_text(BARE_SINGLE)
        bare_loop = tmp / "bare_loop.py"
        bare_loop.write_text(BARE_LOOP)

        # 1. one 4096x4096 RGB JPEG -> PNG, whole process
        tool_out, bare_out = tmp / "out.png", tmp / "bare.png"
        single = alternate(
            {
                "imgconv": ([*imgconv, "apply", "edge", str(big), "-o", str(tool_out), "--overwrite", "--quiet"], None),
                "bare": ([sys.executable, str(bare_single), str(big), str(bare_out)], None),
            },
            runs,
        )
        same = np.array_equal(cv2.imread(str(tool_out), cv2.IMREAD_UNCHANGED), cv2.imread(str(bare_out), cv2.IMREAD_UNCHANGED))
        ratio = single["imgconv"] / single["bare"]
        table.add(
            "4096x4096 JPEG, edge, PNG out" + ("" if same else " (OUTPUTS DIFFER)"),
            f"{single['imgconv']:.3f} s",
            f"{single['bare']:.3f} s bare script",
            f"{ratio:.2f}x",
            verdict(ratio <= 1.1, "<= 1.1x"),
        )

        # 2. start-up
        helps = [timed([*imgconv, "--help"]) for _ in range(8)][1:]  # first: warm-up
        help_time = statistics.median(helps)
        python_only = statistics.median([timed([sys.executable, "-c", "pass"]) for _ in range(5)])
        table.add(
            "imgconv --help (median of 7)",
            f"{help_time:.3f} s",
            f"{python_only:.3f} s bare python",
            "",
            verdict(help_time <= 0.25, "<= 0.25 s"),
        )

        # 3. peak memory of the single run
        rss_tool = peak_rss_kib([*imgconv, "apply", "edge", str(big), "-o", str(tool_out), "--overwrite", "--quiet"])
        rss_bare = peak_rss_kib([sys.executable, str(bare_single), str(big), str(bare_out)])
        ratio = rss_tool / rss_bare
        table.add(
            "peak RSS, 4096x4096 run",
            f"{rss_tool / 1024:.0f} MiB",
            f"{rss_bare / 1024:.0f} MiB bare script",
            f"{ratio:.2f}x",
            verdict(ratio <= 1.5, "<= 1.5x"),
        )

        # 4. a batch of 512x512 images: rounds of workers=1, workers=2 and the bare loop in
        # turn; the ratios are the medians of each round's own ratio, so that a slow phase
        # of the machine, which slows one round's commands alike, does not decide them
        src = tmp / "batch"
        make_batch(src, batch_size)
        megapixels = batch_size * 512 * 512 / 1e6
        out1, out2, outb = tmp / "w1", tmp / "w2", tmp / "bare-loop"
        commands = {  # not --quiet: the summary line gives imgconv's own throughput
            "w1": ([*imgconv, "apply", "edge", str(src), "-o", str(out1), "--workers", "1"], fresh(out1)),
            "w2": ([*imgconv, "apply", "edge", str(src), "-o", str(out2), "--workers", "2"], fresh(out2)),
            "bare": ([sys.executable, str(bare_loop), str(src), str(outb)], fresh(outb)),
        }
        rounds = batch_rounds(commands, batch_runs, summarised=("w1", "w2"))
        batch = {name: statistics.median(r[name][0] for r in rounds) for name in commands}
        agree = all(
            (out1 / name).read_bytes() == (out2 / name).read_bytes()
            and np.array_equal(cv2.imread(str(out2 / name), cv2.IMREAD_UNCHANGED), cv2.imread(str(outb / name), cv2.IMREAD_UNCHANGED))
            for name in sorted(os.listdir(src))
        )
        n = f"{batch_size} x 512x512"
        speedups = [r["w1"][0] / r["w2"][0] for r in rounds]
        speedup = statistics.median(speedups)
        table.add(
            f"batch {n}, workers=2 vs 1" + ("" if agree else " (OUTPUTS DIFFER)"),
            f"{batch['w2']:.2f} s ({megapixels / batch['w2']:.0f} MP/s)",
            f"{batch['w1']:.2f} s workers=1 ({megapixels / batch['w1']:.0f} MP/s)",
            f"{speedup:.2f}x throughput ({min(speedups):.2f}-{max(speedups):.2f})",
            verdict(speedup >= 1.8, ">= 1.8x"),
        )
        # the same runs as imgconv's own summary line reports them: from the first job
        # planned to the last written, without the interpreter's start and the imports
        in_run = [r["w2"][1] / r["w1"][1] for r in rounds]
        table.add(
            f"batch {n}, workers=2 vs 1, in-run",
            f"{statistics.median(r['w2'][1] for r in rounds):.1f} MP/s",
            f"{statistics.median(r['w1'][1] for r in rounds):.1f} MP/s workers=1",
            f"{statistics.median(in_run):.2f}x throughput ({min(in_run):.2f}-{max(in_run):.2f})",
            "(start-up excluded)",
        )
        versus_bare = [r["w2"][0] / r["bare"][0] for r in rounds]
        ratio = statistics.median(versus_bare)
        table.add(
            f"batch {n}, workers=2 vs bare loop",
            f"{batch['w2']:.2f} s",
            f"{batch['bare']:.2f} s bare loop (1 process)",
            f"{ratio:.2f}x time ({min(versus_bare):.2f}-{max(versus_bare):.2f})",
            verdict(ratio <= 1.15, "<= 1.15x"),
        )
        magick = shutil.which("mogrify") or shutil.which("magick")
        if magick:  # a comparison, not a target: one run (it takes ~25 s)
            outm = tmp / "mogrify"
            convolve = "3x3: " + " ".join(",".join(str(v) for v in row) for row in EDGE)
            prefix = [magick] if magick.endswith("mogrify") else [magick, "mogrify"]
            files = sorted(str(p) for p in src.iterdir())
            seconds = timed([*prefix, "-path", str(outm), "-format", "png", "-morphology", "Convolve", convolve, *files], fresh(outm))
            table.add(f"batch {n}, ImageMagick mogrify", f"{batch['w2']:.2f} s", f"{seconds:.2f} s mogrify (1 run)",
                      f"{seconds / batch['w2']:.2f}x (mogrify / imgconv)", "(comparison)")
        else:
            table.add(f"batch {n}, ImageMagick mogrify", "-", "skipped: neither mogrify nor magick is on PATH", "", "(comparison)")

    load_after = os.getloadavg()
    print(f"medians of {runs} runs (single image) and of {batch_runs} rounds' own ratios (batch; their range in brackets), whole processes\n")
    table.print()
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} cores: "
          "other programs running at the same time make these numbers noisy (ratios less so: "
          "the commands compared run alternately).")


if __name__ == "__main__":
    main()
