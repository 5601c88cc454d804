"""Benchmark the numpy engine against OpenCV (and scipy.ndimage when installed).

Run ``imgconv bench`` or ``python benchmarks/engines.py`` (``--quick`` for a subset). For each image (512x512
and 2048x2048, grey and RGB, uint8) and kernel (3x3 Sobel, 3x3 sharpen, 5x5 Gaussian,
15x15 box, 31x31 Gaussian, 31x31 random) it prints the median time of:

* ``numpy``: :class:`imgconv.engines.numpy.NumpyEngine` with its default
  threads, and ``np-1t`` with one thread, and the route it chose;
* ``f2d``: ``cv2.filter2D`` with OpenCV's default threads, ``f2d-1t`` after
  ``cv2.setNumThreads(1)``;
* ``sep``: ``cv2.sepFilter2D`` for separable kernels, and ``cv2``: imgconv's cv2 engine
  (:class:`imgconv.engines.opencv.OpenCVEngine`), which takes it where the result is
  bit-identical to filter2D's;
* ``scipy``: ``scipy.ndimage.correlate(mode='mirror')`` (the same border).

and the issue's speed targets for the numpy engine, each marked met or missed:

* every case: at most 0.3x scipy.ndimage.correlate;
* 3x3 integer kernels: at most 2.0x single-threaded filter2D;
* 5x5 separable: at most 2.0x single-threaded filter2D;
* 15x15 and 31x31: at most 0.8x filter2D with default threads;

and for the cv2 engine on the separable kernels it runs through sepFilter2D (those where
the result is bit-identical to filter2D's): at least 5x as fast as filter2D (at most 0.2x
its time).

Then the memory target: the peak of the engine's allocations (tracemalloc, which numpy
reports its buffers to; measured in a fresh interpreter per kernel, so that no buffer of
an earlier call is reused) for a 4096x4096 RGB uint8 image, at most twice the image's
float32 size (384 MiB). The 48 MiB result counts towards it.

Times are medians of several runs, each engine timed alternately on the same image in
the same process, so that another program loading the machine slows all of them alike:
5 rounds of every runner in turn (11 for images up to 512x512x3), starting each round
with the next runner, each runner's turn with one untimed call, and each target's ratio
is the median of the rounds' own ratios, printed with their range (a shared machine's
speed drifts by up to 2x).

Internal entry point, not for users: ``python -m imgconv.bench --memory-peak-of KERNEL``
(KERNEL one of the names above, e.g. ``"31x31 random"``) prints the peak bytes of one
cold call; the memory check runs it in a child process per kernel.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

import imgconv
from imgconv._cv import cv2 as _opencv
from imgconv.borders import get_border
from imgconv.engines.base import CorrelationSpec
from imgconv.engines.numpy import NumpyEngine
from imgconv.engines.opencv import OpenCVEngine
from imgconv.kernels import Kernel

cv2 = _opencv()  # the one place cv2 is imported is imgconv._cv

try:
    import scipy.ndimage as ndimage
except ImportError:  # scipy is optional
    ndimage = None

KERNELS = {
    "3x3 sobel": "sobel-x",
    "3x3 sharpen": "sharpen",
    "5x5 gaussian": "gaussian",  # cv2.getGaussianKernel(5, 0): [1,4,6,4,1]/16, outer
    "15x15 box": "box:size=15",
    "31x31 gaussian": "gaussian:size=31",
    "31x31 random": None,  # seeded normal weights / 31
}
QUICK = {"3x3 sobel", "5x5 gaussian", "15x15 box", "31x31 random"}


def kernel_spec(name: str) -> CorrelationSpec:
    spec = KERNELS[name]
    if spec is None:
        weights = (np.random.default_rng(31).standard_normal((31, 31)) / 31).astype(np.float32)
        return CorrelationSpec(weights, (15, 15), get_border("reflect101"))
    k = imgconv.load_kernel(spec)
    return CorrelationSpec(k.effective.astype(np.float32), k.anchor, get_border("reflect101"))


def timed(fn, budget: float, least: int = 3, most: int = 15) -> list[float]:  # noqa: ANN001
    """Run ``fn`` at least ``least`` times and until ``budget`` seconds; the times."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < most and (len(times) < least or time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


ROUNDS = 5  # rounds of every runner in turn, per case (more for the fast 512x512 cases)


def compare(runners: dict, rounds: int, budget: float) -> dict[str, list[float]]:  # noqa: ANN001
    """Per runner, its median seconds in each of ``rounds`` rounds; in each round the
    runners are timed in turn (a few runs each), so that a round's ratios are taken at
    one moment of a machine whose speed drifts."""
    samples: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(rounds):
        # the order turns each round, and each runner runs once untimed first: a call right
        # after another runner's is slowed by what that one left (caches; OpenCV's pool
        # threads spinning: a 2-thread numpy call right after filter2D took 1.2x as long)
        for name in names[r % len(names):] + names[: r % len(names)]:
            runners[name]()
            samples[name].append(statistics.median(timed(runners[name], budget / rounds, least=1, most=3)))
    return samples


def paired(rounds: dict[str, list[float]], name: str, peer: str) -> list[float]:
    """``name``'s time over ``peer``'s, round by round."""
    return [a / b for a, b in zip(rounds[name], rounds[peer])]


def scipy_time(image: np.ndarray, weights: np.ndarray, slow: bool) -> float | None:
    if ndimage is None:
        return None
    k = weights if image.ndim == 2 else weights[:, :, None]
    runs = 1 if slow else 3
    return statistics.median(timed(lambda: ndimage.correlate(image, k, mode="mirror"), 0, runs, runs))


def separable_factors(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    factors = Kernel(weights.astype(np.float64)).factors()  # outer(column, row) == weights
    if factors is None:
        return None
    return factors.row.astype(np.float32), factors.column.astype(np.float32)


def mark(ratio: float | list[float] | None, limit: float) -> str:
    """``0.72x<=0.8 met``; for round-by-round ratios their median, with their range."""
    if ratio is None:
        return "n/a"
    spread = ""
    if isinstance(ratio, list):
        spread = f" ({min(ratio):.2f}-{max(ratio):.2f})"
        ratio = statistics.median(ratio)
    shown = f"{ratio:.2f}" if round(ratio, 2) != limit else f"{ratio:.3f}"  # not "0.20x<=0.2 MISSED"
    return f"{shown}x{spread}<={limit} {'met' if ratio <= limit else 'MISSED'}"


def bench_case(size: int, channels: int, name: str, budget: float) -> dict:
    rng = np.random.default_rng(size + channels)
    shape = (size, size, channels) if channels > 1 else (size, size)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    spec = kernel_spec(name)
    weights = spec.kernel
    auto, single, opencv = NumpyEngine(), NumpyEngine(threads=1), OpenCVEngine()
    # the results agree (a sanity check, not the exactness tests)
    ours = auto.correlate(image, spec, float_output=False)
    theirs = cv2.filter2D(image, -1, weights, anchor=spec.anchor, borderType=cv2.BORDER_REFLECT_101)
    differing = int((ours != theirs.reshape(ours.shape)).sum())

    def f2d() -> None:
        cv2.filter2D(image, -1, weights, anchor=spec.anchor, borderType=cv2.BORDER_REFLECT_101)

    factors = separable_factors(weights)
    runners = {
        "numpy": lambda: auto.correlate(image, spec, float_output=False),
        "np-1t": lambda: single.correlate(image, spec, float_output=False),
        "f2d": f2d,
    }
    if factors is not None:
        kx, ky = factors
        runners["sep"] = lambda: cv2.sepFilter2D(image, -1, kx, ky, borderType=cv2.BORDER_REFLECT_101)
        runners["cv2"] = lambda: opencv.correlate(image, spec, float_output=False)
    default_threads = cv2.getNumThreads()
    # calls of a few ms vary by +-20% from round to round: more rounds, at little cost
    n_rounds = ROUNDS if size * size * channels > 1 << 20 else 2 * ROUNDS + 1
    rounds = compare(runners, rounds=n_rounds, budget=budget)
    cv2.setNumThreads(1)
    try:
        single_rounds = compare({"numpy": runners["numpy"], "f2d-1t": f2d}, rounds=n_rounds, budget=budget)
    finally:
        cv2.setNumThreads(default_threads)
    times = {name: statistics.median(values) for name, values in rounds.items()}
    versus = {"f2d": paired(rounds, "numpy", "f2d"), "f2d-1t": paired(single_rounds, "numpy", "f2d-1t")}
    if "cv2" in rounds:
        versus["cv2"] = paired(rounds, "cv2", "f2d")
    times["f2d-1t"] = times["numpy"] / statistics.median(versus["f2d-1t"])  # at the moment of the others
    slow = size * size * channels * weights.size > 5e8
    times["scipy"] = scipy_time(image, weights, slow)
    result = {
        "size": size, "channels": channels, "kernel": name, "times": times,
        "route": auto.explain(image.shape, image.dtype, spec).removeprefix("numpy: "),
        "cv2 route": opencv.explain(image.shape, image.dtype, spec).removeprefix("cv2: "),
        "differing": differing,
    }
    targets = []
    if times.get("scipy") is not None:  # timed apart (it is 10-1000x slower): one ratio
        targets.append(("vs scipy", mark(times["numpy"] / times["scipy"], 0.3)))
    if name in ("3x3 sobel", "3x3 sharpen", "5x5 gaussian"):
        targets.append(("vs f2d-1t", mark(versus["f2d-1t"], 2.0)))
    if name.startswith(("15x15", "31x31")):
        targets.append(("vs f2d", mark(versus["f2d"], 0.8)))
    if "cv2" in versus:
        if result["cv2 route"].startswith("cv2.sepFilter2D"):
            # the engine's floor: a bare sepFilter2D call, in the same rounds
            floor = statistics.median(paired(rounds, "sep", "f2d"))
            targets.append(("cv2 engine vs f2d", f"{mark(versus['cv2'], 0.2)} (bare sepFilter2D {floor:.2f}x)"))
        else:  # the target is for the kernels it may take sepFilter2D for
            targets.append(("cv2 engine", "keeps filter2D (sepFilter2D would not be bit-identical)"))
    result["targets"] = targets
    return result


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:8.2f}"


def memory_peak(name: str) -> int:
    """Peak bytes the engine allocates filtering a 4096x4096 RGB uint8 image (cold)."""
    image = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3), dtype=np.uint8)
    spec = kernel_spec(name)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = NumpyEngine().correlate(image, spec, float_output=False)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del out
    return peak


def memory_check(kernels: list[str]) -> list[str]:
    """Each kernel in a fresh interpreter, so that no buffer of an earlier call is reused."""
    limit = 2 * 4096 * 4096 * 3 * 4
    lines = []
    for name in kernels:
        result = subprocess.run(
            [sys.executable, "-m", "imgconv.bench", "--memory-peak-of", name], capture_output=True, text=True, check=True
        )
        peak = int(result.stdout.split()[-1])
        verdict = "met" if peak <= limit else "MISSED"
        lines.append(
            f"memory 4096x4096x3 uint8, {name:15s}: peak extra {peak / 2**20:7.1f} MiB "
            f"(the 48 MiB output included) <= {limit / 2**20:.0f} MiB: {verdict}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a subset: fewer kernels, 512 and one 2048 image")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timing per engine and case")
    parser.add_argument("--no-memory", action="store_true", help="skip the 4096x4096 memory check")
    parser.add_argument("--memory-peak-of", metavar="KERNEL",
                        help="internal: print the peak bytes of one cold call (the memory check runs each "
                             "kernel so, in a fresh process)")
    args = parser.parse_args(argv)
    if args.memory_peak_of:
        print(memory_peak(args.memory_peak_of))
        return 0
    kernels = [k for k in KERNELS if not args.quick or k in QUICK]
    cases = [(s, c) for s in (512, 2048) for c in (1, 3)]
    if args.quick:
        cases = [(512, 1), (512, 3), (2048, 1)]
    print(f"numpy {np.__version__}, OpenCV {cv2.__version__}, default OpenCV threads {cv2.getNumThreads()}, "
          f"scipy {'yes' if ndimage is not None else 'not installed'}")
    header = (f"{'image':>12} {'kernel':15} {'numpy':>8} {'np-1t':>8} {'f2d':>8} {'f2d-1t':>8} "
              f"{'sep':>8} {'cv2':>8} {'scipy':>9}  (ms)  targets")
    print(header)
    print("-" * len(header))
    met = missed = 0
    routes, cv2_routes = [], []
    for size, channels in cases:
        for name in kernels:
            r = bench_case(size, channels, name, args.budget)
            t = r["times"]
            image = f"{size}x{size}{'x3' if channels == 3 else ''}"
            targets = "; ".join(f"{what} {verdict}" for what, verdict in r["targets"])
            met += targets.count(" met")
            missed += targets.count("MISSED")
            print(f"{image:>12} {name:15} {fmt_ms(t['numpy'])} {fmt_ms(t['np-1t'])} {fmt_ms(t['f2d'])} "
                  f"{fmt_ms(t['f2d-1t'])} {fmt_ms(t.get('sep')):>8} {fmt_ms(t.get('cv2')):>8} "
                  f"{fmt_ms(t.get('scipy')):>9}  {targets}"
                  + (f"  [{r['differing']} pixels differ from filter2D]" if r["differing"] else ""),
                  flush=True)
            routes.append(f"{image:>12} {name:15} {r['route']}")
            if "cv2" in t:
                cv2_routes.append(f"{image:>12} {name:15} {r['cv2 route']}")
    print("\nroutes chosen:")
    print("\n".join(routes))
    print("\nthe cv2 engine's route for the separable kernels:")
    print("\n".join(cv2_routes))
    if not args.no_memory:
        print()
        every = ["3x3 sobel", "3x3 sharpen", "5x5 gaussian", "15x15 box", "31x31 gaussian", "31x31 random"]
        for line in memory_check(every if not args.quick else ["31x31 random"]):
            met += line.endswith("met")
            missed += line.endswith("MISSED")
            print(line, flush=True)
    print(f"\ntargets met: {met}, missed: {missed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- imgconv bench KERNEL IMAGE: every route that can run the user's own case ---------------
def case_routes() -> list[tuple[str, object]]:
    """Each engine and forced route that may run a call: ``(name, engine)``."""
    from imgconv.engines.auto import AutoEngine
    from imgconv.engines.numpy import STRATEGIES

    return ([("auto", AutoEngine()), ("cv2", OpenCVEngine())]
            + [(f"numpy {strategy}", NumpyEngine(strategy=strategy)) for strategy in STRATEGIES])


def bench_user_case(kernel: str, image_path: str, options: "imgconv.FilterOptions", *, budget: float = 1.0,
                    engines: tuple[str, ...] = ("auto", "cv2", "numpy")) -> dict:
    """Time ``imgconv apply KERNEL IMAGE`` (a chain too) through every route that can run it:
    each route's median ms (rounds of every route in turn), its ratio to the fastest, whether
    its result is the cv2 engine's bit for bit, and the route ``auto`` takes."""
    from dataclasses import replace

    from imgconv import filtering
    from imgconv.imageio import read_image
    from imgconv.kernels import load_kernel_chain

    image = read_image(image_path, channel_order="bgr")
    chain = load_kernel_chain(kernel)
    reference = None
    runners, rows = {}, []
    for name, engine in case_routes():
        if name.split()[0] not in engines and name != "cv2":
            continue
        plans, step = [], image
        try:
            for k in chain:  # each step planned on the one before's result
                plan = replace(filtering.plan(step, k, options), engine=engine)
                plans.append(plan)
                step = plan.run()
        except ValueError as error:  # a forced numpy route that cannot run this call
            rows.append({"route": name, "runs": False, "why": str(error).split(": ", 1)[-1]})
            continue
        if name == "cv2":
            reference = step
        text = "; ".join(dict.fromkeys(p.routes() for p in plans))
        runners[name] = functools.partial(_run_plans, plans)
        rows.append({"route": name, "runs": True, "explain": text, "result": step})
    if reference is None:
        raise ValueError("the cv2 engine cannot run this case")
    rounds = compare(runners, rounds=ROUNDS, budget=budget)
    fastest = min(statistics.median(v) for v in rounds.values())
    for row in rows:
        if not row["runs"]:
            continue
        result = row.pop("result")
        row["ms"] = statistics.median(rounds[row["route"]]) * 1e3
        row["ratio"] = row["ms"] / (fastest * 1e3)
        same = result.shape == reference.shape and np.array_equal(result, reference, equal_nan=result.dtype.kind == "f")
        row["exact"] = bool(same)
        row["differing"] = 0 if same else int(np.count_nonzero(result != reference))
    if "auto" not in engines:
        rows = [r for r in rows if r["route"] != "auto"]
    shape = image.shape
    return {"image": image_path, "shape": list(shape), "dtype": str(image.dtype), "kernel": kernel,
            "routes": sorted(rows, key=lambda r: (not r["runs"], r.get("ms", 0.0)))}


def _run_plans(plans: list) -> None:
    for plan in plans:
        plan.run()


def print_user_case(report: dict) -> None:
    """The table ``imgconv bench KERNEL IMAGE`` prints."""
    shape = "x".join(str(n) for n in report["shape"])
    print(f"{report['image']}: {shape} {report['dtype']}; kernel {report['kernel']}; "
          f"medians of {ROUNDS} rounds of every route in turn")
    width = max(len(r["route"]) for r in report["routes"])
    print(f"{'route':{width}}  {'ms':>9}  {'x fastest':>9}  exact  what runs")
    for r in report["routes"]:
        if not r["runs"]:
            print(f"{r['route']:{width}}  {'-':>9}  {'-':>9}  -      cannot run: {r['why']}")
            continue
        exact = "yes" if r["exact"] else f"no ({r['differing']} values differ)"
        print(f"{r['route']:{width}}  {r['ms']:9.3f}  {r['ratio']:9.2f}  {exact:5}  {r['explain']}")
