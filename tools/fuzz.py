#!/usr/bin/env python3
"""A longer fuzz run of imgconv's two parsers: kernel specs and image bytes.

Mutates seed inputs in a loop (bit flips, byte replacements, insertions, deletions,
truncations, duplicated chunks, interesting integers written over headers, numbers in
kernel text replaced by awkward ones, splices of two seeds) and feeds them to

* ``imgconv.load_kernel`` -- as a spec string, and written to a ``.json`` / ``.mat`` /
  ``.con`` / extension-less file loaded by path; a kernel that loads is then used as the
  CLI uses it (``inspect_kernel``, what ``kernels show`` prints, and ``imgconv.apply`` on a
  tiny image);
* ``imgconv.imageio.decode_image(data, name="x")``.

The contract: each call returns (a Kernel with finite float32 weights; a uint8 / uint16 /
float32 array of 2 or 3 dimensions) or raises ``imgconv.errors.ImgconvError``. Anything
else is a *crash*: saved under ``--save`` (the input and its traceback, a few per distinct
crash site). Also reported: *slow* inputs (one call over ``--slow`` seconds, default 5),
Python *warnings* (the CLI would print them on stderr, breaking its one-line errors) and
*hangs* (one call over ``--hang`` seconds: a watchdog saves the input and ends the run).
Everything runs in this one process (no subprocesses); ``--max-memory`` caps the address
space so a decompression bomb fails with MemoryError (a crash) instead of swapping.

Seeds: the repository's ``kernels/*.json``, hand-written specs (names, parameters, inline
matrices, ImageMagick strings, libvips matrices), and a 32x24 crop of
``samples/chelsea.png`` encoded as PNG, JPEG, TIFF, BMP, WebP, PNM (OpenCV) and GIF,
palette PNG, LZW TIFF, progressive and EXIF-rotated JPEG, animated GIF/PNG (Pillow).

Run it from the repository (the dev virtualenv active), nice'd on a shared machine:

    nice -n 10 python tools/fuzz.py                        # both targets, 300 s each
    python tools/fuzz.py --target kernels --seconds 60 --seed 7
    python tools/fuzz.py --target images --save /tmp/crashes

It prints a summary table and exits 1 if anything crashed or hung, else 0. The seed is
printed: the same seed replays the same inputs (for a given set of seed files).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import resource
import sys
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import imgconv  # noqa: E402
from imgconv import kernels as K  # noqa: E402
from imgconv.errors import ImgconvError  # noqa: E402
from imgconv.imageio import decode_image  # noqa: E402

FLOAT32_MAX = float(np.finfo(np.float32).max)
EXAMPLES_PER_SITE = 3


# -- seeds ----------------------------------------------------------------------------------
SPEC_SEEDS = [
    "edge", "sobel-x", "blur", "kirsch", "sobel", "identity", "unsharp",
    "gaussian", "gaussian:size=7,sigma=1.5", "gaussian:sigma=2", "box:size=4", "log:size=9,sigma=1.4",
    "motion:length=15,angle=30", "blur+sharpen", "gaussian:size=3+edge",
    "[[0,-1,0],[-1,5,-1],[0,-1,0]]", "[[1,2],[3,4]]", "[[1e-3, 2.5E+2, -0.0]]",
    '{"kernel": [[1,2,1],[2,4,2],[1,2,1]], "divisor": 16, "offset": 0, "anchor": [1, 1]}',
    '{"kernel": [[1,1],[1,1]], "normalize": true, "name": "n"}',
    '{"channels": ["sobel-x", [[1]], {"kernel": [[0,1,0]]}], "pointwise": [[0.299, 0.587, 0.114]]}',
    '{"kernels": ["sobel-x", {"kernel": [[-1,-2,-1],[0,0,0],[1,2,1]]}], "combine": "magnitude"}',
    "3x3: -1,-1,-1,-1,8,-1,-1,-1,-1", "2x3+1+1: 1,- 1,- 1,1", "3: 0 1 0 1 -4 1 0 1 0", "1x2: nan, 1",
]
MAT_SEEDS = ["3 3 8 0\n-1 -1 -1\n-1 16 -1\n-1 -1 -1\n", '2 2\n1, 2\n"3"\t4\n', "1 3 2.5 -1\n1\n2\n3\n"]
TOKENS = [
    "NaN", "Infinity", "-Infinity", "1e309", "-1e39", "3.5e38", "3.4028234663852886e38", "1e-320", "5e-324",
    "9" * 400, "9" * 5000, "-0", "0", "1", "-1", "0.5", "513", "512", "1000001", "2e9", "1e19", "1e100", "1e-300",
    "0x10", "1_0", "true", "false", "null", '"1"', ",", ", ,", "[", "]", "[[", "]]", "{", "}", ":", '"', "\\",
    "\x00", "\n", "\t", " ", "\ufeff", "\u00e9", "\ud800", "+", "-", "x", "@", ";", "/", "../", "~", "=", "==",
    '"kernel"', '"kernels"', '"channels"', '"pointwise"', '"combine"', '"divisor"', '"anchor"', '"normalize"',
    '"offset"', '"name"', '"max"', "[-1, 0]", "[9, 9]", "[[1]]", "[]", "{}", "sigma=", "size=", "length=",
]
INTERESTING_INTS = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def kernel_seeds() -> list[tuple[str, bytes]]:
    """(delivery hint, bytes): kernel files of the repository, specs, libvips matrices."""
    seeds = [("json", p.read_bytes()) for p in sorted((ROOT / "kernels").glob("*.json"))]
    seeds += [("spec", s.encode()) for s in SPEC_SEEDS]
    seeds += [("mat", s.encode()) for s in MAT_SEEDS]
    seeds.append(("json", b"\xef\xbb\xbf" + json.dumps({"kernel": [[1, 2, 1]]}).encode()))
    return seeds


def image_seeds() -> list[bytes]:
    """A 32x24 crop of samples/chelsea.png in every format imgconv decodes, and a few odd ones."""
    from PIL import Image

    bgr = cv2.imread(str(ROOT / "samples" / "chelsea.png"), cv2.IMREAD_COLOR)[40:64, 60:92].copy()
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[::3, ::2, 3] = 0
    seeds = []

    def cv_encode(ext: str, image: np.ndarray, params: tuple = ()) -> None:
        ok, data = cv2.imencode(ext, image, list(params))
        if ok:
            seeds.append(data.tobytes())

    cv_encode(".png", bgr)
    cv_encode(".png", gray)
    cv_encode(".png", bgra)
    cv_encode(".png", bgr.astype(np.uint16) * 257)
    cv_encode(".jpg", bgr, (cv2.IMWRITE_JPEG_QUALITY, 80))
    cv_encode(".jpg", gray)
    cv_encode(".tiff", bgr)
    cv_encode(".tiff", gray.astype(np.uint16) * 257)
    cv_encode(".tiff", bgr.astype(np.float32) / 255)
    cv_encode(".bmp", bgr)
    cv_encode(".bmp", gray)
    cv_encode(".webp", bgr, (cv2.IMWRITE_WEBP_QUALITY, 80))
    cv_encode(".webp", bgra, (cv2.IMWRITE_WEBP_QUALITY, 101))  # lossless
    cv_encode(".ppm", bgr)
    cv_encode(".pgm", gray.astype(np.uint16) * 257)

    rgb = Image.fromarray(bgr[:, :, ::-1].copy())

    def pil(image, fmt: str, **options) -> None:  # noqa: ANN001
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        seeds.append(buffer.getvalue())

    pil(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "GIF")
    pil(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")
    pil(rgb, "TIFF", compression="tiff_lzw")
    pil(rgb, "JPEG", progressive=True, quality=70)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90 degrees clockwise
    pil(rgb, "JPEG", exif=exif)
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    pil(frames[0].convert("P"), "GIF", save_all=True, append_images=[frames[1].convert("P")])
    pil(frames[0], "PNG", save_all=True, append_images=frames[1:])
    return seeds


# -- mutations ------------------------------------------------------------------------------
def mutate_bytes(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """One to four byte-level mutations of ``data``."""
    buf = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 4))):
        kind = rng.randrange(9)
        n = len(buf)
        if n == 0:
            buf += rng.randbytes(rng.randint(1, 8))
            continue
        i = rng.randrange(n)
        if kind == 0:  # bit flip
            buf[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # byte replacement
            buf[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif kind == 2:  # insertion
            buf[i:i] = rng.randbytes(rng.randint(1, 16))
        elif kind == 3:  # deletion
            del buf[i : i + rng.randint(1, 32)]
        elif kind == 4:  # truncation
            del buf[rng.randrange(n) :]
        elif kind == 5:  # a chunk duplicated elsewhere
            j = rng.randrange(n)
            chunk = buf[j : j + rng.randint(1, 64)]
            buf[i:i] = chunk
        elif kind == 6:  # an interesting integer over 1, 2 or 4 bytes (header fields)
            width = rng.choice((1, 2, 4))
            value = rng.choice(INTERESTING_INTS) & ((1 << (8 * width)) - 1)
            buf[i : i + width] = value.to_bytes(width, rng.choice(("big", "little")))
        elif kind == 7:  # splice: the tail of another seed
            other = rng.choice(others)
            buf[i:] = other[rng.randrange(len(other) + 1) :]
        else:  # a run of one byte
            buf[i:i] = bytes([rng.randrange(256)]) * rng.choice((2, 16, 300, 5000))
    return bytes(buf)


def mutate_text(rng: random.Random, data: bytes, others: list[bytes]) -> bytes:
    """Kernel text: awkward tokens inserted, numbers replaced, or byte-level mutations."""
    text = data.decode("utf-8", "surrogateescape")
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.randrange(5)
        if kind == 0 or not text:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif kind == 1:  # replace one number
            import re

            numbers = list(re.finditer(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", text))
            if numbers:
                m = rng.choice(numbers)
                text = text[: m.start()] + rng.choice(TOKENS[:25]) + text[m.end() :]
        elif kind == 2:  # delete a span
            i = rng.randrange(len(text))
            text = text[:i] + text[i + rng.randint(1, 8) :]
        elif kind == 3:  # duplicate a span
            i = rng.randrange(len(text))
            j = min(len(text), i + rng.randint(1, 40))
            text = text[:j] + text[i:j] + text[j:]
        else:
            return mutate_bytes(rng, _encode(text), others)
    return _encode(text)


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")  # undecodable bytes back as they were
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")  # a lone surrogate token


# -- the run --------------------------------------------------------------------------------
@dataclass
class Stats:
    tried: int = 0
    accepted: int = 0
    clean: int = 0
    crashes: int = 0
    slow: int = 0
    warned: int = 0
    odd: int = 0
    sites: dict = field(default_factory=dict)  # crash site -> count


class Watchdog:
    """Ends the run when one call takes longer than ``limit`` seconds (a hang)."""

    def __init__(self, limit: float, on_hang: Callable[[str, bytes, float], None]) -> None:
        self.limit = limit
        self.on_hang = on_hang
        self.current: tuple[str, bytes, float] | None = None
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        while True:
            time.sleep(1)
            current = self.current
            if current is not None and time.monotonic() - current[2] > self.limit:
                self.on_hang(*current)
                os._exit(1)


class Fuzzer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.save = Path(args.save)
        self.stats: dict[tuple[str, str], Stats] = {}
        self.saved: dict[str, int] = {}
        self.tmp = Path(tempfile.mkdtemp(prefix="imgconv-fuzz-"))
        self.image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
        self.watchdog = Watchdog(args.hang, self._hang)
        self.started = time.monotonic()

    # -- bookkeeping
    def stat(self, target: str, stage: str) -> Stats:
        return self.stats.setdefault((target, stage), Stats())

    def _record(self, kind: str, target: str, stage: str, data: bytes, detail: str, site: str) -> None:
        key = f"{target}-{stage}-{kind}-{hashlib.sha1(site.encode()).hexdigest()[:10]}"
        count = self.saved.get(key, 0)
        self.saved[key] = count + 1
        if count >= EXAMPLES_PER_SITE:
            return
        self.save.mkdir(parents=True, exist_ok=True)
        (self.save / f"{key}-{count}.bin").write_bytes(data)
        (self.save / f"{key}-{count}.txt").write_text(f"{kind} in {target}/{stage}\nsite: {site}\n\n{detail}\n")

    def _hang(self, label: str, data: bytes, started: float) -> None:
        target, stage = label.split("/")
        self._record("hang", target, stage, data, f"still running after {time.monotonic() - started:.0f} s", "hang")
        print(f"\nHANG in {label}: input saved under {self.save}", flush=True)
        self.stat(target, stage).crashes += 1
        self.report()

    def call(self, target: str, stage: str, data: bytes, function: Callable[[], object], check: Callable[[object], str | None]) -> object | None:
        """Run one input; count it; save it if it crashed, was slow, or warned."""
        s = self.stat(target, stage)
        s.tried += 1
        self.watchdog.current = (f"{target}/{stage}", data, time.monotonic())
        started = time.perf_counter()
        result = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = function()
            except ImgconvError:
                s.clean += 1
            except Exception as error:  # noqa: BLE001 - what the fuzzer looks for
                tb = traceback.extract_tb(error.__traceback__)
                ours = [f for f in tb if "imgconv" in f.filename] or tb
                site = f"{type(error).__name__} at {Path(ours[-1].filename).name}:{ours[-1].lineno}"
                s.crashes += 1
                s.sites[site] = s.sites.get(site, 0) + 1
                self._record("crash", target, stage, data, traceback.format_exc(), site)
            else:
                problem = check(result)
                if problem is None:
                    s.accepted += 1
                elif problem.startswith("odd:"):
                    s.accepted += 1
                    s.odd += 1
                    self._record("odd", target, stage, data, problem, problem.split("(")[0])
                else:
                    s.crashes += 1
                    site = f"contract: {problem.split('(')[0]}"
                    s.sites[site] = s.sites.get(site, 0) + 1
                    self._record("crash", target, stage, data, problem, site)
                    result = None
        self.watchdog.current = None
        caught = [w for w in caught if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
        took = time.perf_counter() - started
        if took > self.args.slow:
            s.slow += 1
            self._record("slow", target, stage, data, f"{took:.1f} s", f"slow-{len(data)}")
        if caught:
            s.warned += 1
            first = caught[0]
            site = f"{first.category.__name__}: {str(first.message)[:60]} ({Path(first.filename).name}:{first.lineno})"
            self._record("warning", target, stage, data, "\n".join(str(w.message) for w in caught), site)
            s.sites.setdefault("warnings", {})
            s.sites["warnings"][site] = s.sites["warnings"].get(site, 0) + 1
        return result

    # -- targets
    def run_kernels(self, rng: random.Random, deadline: float) -> None:
        seeds = kernel_seeds()
        raw = [data for _, data in seeds]
        while time.monotonic() < deadline:
            hint, seed = rng.choice(seeds)
            data = mutate_text(rng, seed, raw) if rng.random() < 0.7 else mutate_bytes(rng, seed, raw)
            if hint == "spec" and rng.random() < 0.7 or rng.random() < 0.2:
                spec = data.decode("utf-8", "surrogateescape")  # as argv arrives
                load = lambda spec=spec: K.load_kernel(spec)  # noqa: E731
            else:
                suffix = {"json": ".json", "mat": rng.choice((".mat", ".con"))}.get(hint, "")
                if rng.random() < 0.15:
                    suffix = rng.choice((".json", ".mat", ".con", ".txt", ""))
                path = self.tmp / f"k{suffix}"
                path.write_bytes(data)
                load = lambda path=path: K.load_kernel(str(path))  # noqa: E731
            kernel = self.call("kernels", "load", data, load, check_kernel)
            if kernel is not None:
                self.call("kernels", "use", data, lambda k=kernel: self.use_kernel(k), lambda r: None)

    def use_kernel(self, kernel: K.Kernel) -> None:
        json.dumps(K.inspect_kernel(kernel), allow_nan=False)  # what kernels show --json prints
        out = imgconv.apply(self.image, kernel)
        # same size and depth; a "pointwise" 1xC matrix makes one channel (H x W)
        if out.shape[:2] != self.image.shape[:2] or out.ndim not in (2, 3) or out.dtype != np.uint8:
            raise AssertionError(f"apply returned {out.shape} {out.dtype}")

    def run_images(self, rng: random.Random, deadline: float) -> None:
        seeds = image_seeds()
        while time.monotonic() < deadline:
            data = mutate_bytes(rng, rng.choice(seeds), seeds)
            self.call("images", "decode", data, lambda data=data: decode_image(data, name="x"), check_image)

    # -- the table
    def report(self) -> None:
        elapsed = time.monotonic() - self.started
        header = ("target", "stage", "tried", "accepted", "clean errors", "crashes", "slow", "warnings", "odd")
        rows = [
            (t, st, s.tried, s.accepted, s.clean, s.crashes, s.slow, s.warned, s.odd)
            for (t, st), s in sorted(self.stats.items())
        ]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        line = lambda r: "  ".join(str(v).rjust(w) if i > 1 else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths)))  # noqa: E731
        print(f"\nimgconv fuzz: seed {self.args.seed}, {elapsed:.0f} s")
        print(line(header))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
        for (t, st), s in sorted(self.stats.items()):
            for site, count in sorted(s.sites.items()):
                if site == "warnings":
                    for w, c in sorted(count.items()):
                        print(f"  warning  {t}/{st}: {c} x {w}")
                else:
                    print(f"  crash    {t}/{st}: {count} x {site}")
        if any(s.crashes or s.slow or s.warned or s.odd for s in self.stats.values()):
            print(f"inputs saved under {self.save}")
        sys.stdout.flush()


def check_kernel(kernel: object) -> str | None:
    if not isinstance(kernel, K.Kernel):
        return f"load_kernel returned {type(kernel).__name__}"
    rows, cols = kernel.shape
    if not (1 <= rows <= K.MAX_KERNEL_SIDE and 1 <= cols <= K.MAX_KERNEL_SIDE):
        return f"kernel of {rows}x{cols}"
    for part in (kernel, *kernel.parts, *kernel.channels):
        effective = part.effective
        if not (np.all(np.isfinite(effective)) and np.abs(effective).max() <= FLOAT32_MAX):
            return f"weights / divisor not finite float32 ({part.name})"
        if not (0 <= part.anchor[0] < part.shape[1] and 0 <= part.anchor[1] < part.shape[0]):
            return f"anchor {part.anchor} outside {part.shape}"
    if not math.isfinite(kernel.offset):
        return "offset not finite"
    return None


def check_image(image: object) -> str | None:
    if not isinstance(image, np.ndarray):
        return f"decode_image returned {type(image).__name__}"
    if image.dtype not in (np.uint8, np.uint16, np.float32):
        return f"dtype {image.dtype}"
    if image.ndim not in (2, 3):
        return f"ndim {image.ndim} (shape {image.shape})"
    if image.size == 0:
        return f"empty array (shape {image.shape})"
    if image.ndim == 3 and image.shape[2] not in (3, 4):
        return f"odd: {image.shape[2]} channels (shape {image.shape})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="seconds per target (default 300)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock; printed)")
    parser.add_argument("--target", choices=("kernels", "images", "all"), default="all")
    parser.add_argument("--save", default="/tmp/imgconv-fuzz-crashes", help="folder for crashing inputs")
    parser.add_argument("--slow", type=float, default=5.0, help="report a call slower than this (seconds)")
    parser.add_argument("--hang", type=float, default=120.0, help="end the run when one call takes this long")
    parser.add_argument("--max-memory", type=int, default=4096, help="address-space cap in MiB (0: none)")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 2**32
    if args.max_memory:
        cap = args.max_memory << 20
        resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    print(f"imgconv fuzz: seed {args.seed}, {args.seconds:g} s per target, crashes to {args.save}", flush=True)
    fuzzer = Fuzzer(args)
    targets = ("kernels", "images") if args.target == "all" else (args.target,)
    for i, target in enumerate(targets):
        rng = random.Random(args.seed + i)
        deadline = time.monotonic() + args.seconds
        getattr(fuzzer, f"run_{target}")(rng, deadline)
    fuzzer.report()
    return 1 if any(s.crashes for s in fuzzer.stats.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
