"""Filtering files: which inputs, where outputs go, what may not be overwritten, and running.

Three replaceable steps, none of which prints:

1. :func:`find_inputs` turns INPUT arguments (files, folders, glob patterns, ``-``) into
   :class:`Source` records, skipping hidden files, non-images in folders, FIFOs, sockets and
   devices, surviving symlink loops, and listing each file once;
2. :func:`plan_jobs` pairs each source with its output (:class:`Job`);
3. :func:`run_jobs` runs the jobs (in this process or in a pool of worker processes) and
   yields one :class:`JobResult` per job as it finishes; :func:`run_job` does one file.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fnmatch
import glob
import itertools
import os
import stat
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator, Literal, Sequence

from .errors import ImageReadError, ImageWriteError, ImgconvError, InternalError, UsageError, debugging
from .imageio import (
    ReadOptions,
    decode_image,
    encode_image,
    format_for,
    read_bytes,
    sniff_format,
    write_bytes_atomic,
    write_stdout,
)
from .kernels import Kernel
from .options import FilterOptions

__all__ = [
    "Source",
    "Job",
    "JobResult",
    "IMAGE_EXTENSIONS",
    "default_output",
    "writable_name",
    "find_inputs",
    "plan_jobs",
    "run_job",
    "run_jobs",
]

STDIO = "-"
IMAGE_EXTENSIONS = frozenset(
    ".png .jpg .jpeg .jpe .jfif .tif .tiff .bmp .dib .webp .gif .pgm .ppm .pnm .pbm .pxm .sr .ras".split()
)
"""What a folder contributes: files with these extensions (files named directly need none)."""


@dataclass(frozen=True)
class Source:
    path: str
    relative: str  # where it goes under -o DIR: its path inside the folder given, or its name
    from_folder: bool = False


@dataclass(frozen=True)
class Job:
    input: str
    output: str
    make_folders: bool = False  # a mirrored tree: create the output's folder
    skip: str | None = None  # why it is skipped without being read (see _not_own_outputs)


@dataclass(frozen=True)
class JobSettings:
    """How every job of a run is done, beside the kernels and the filter options.

    ``explain`` records how each kernel is applied (engine route, output size);
    ``dry_run`` stops after that, writing nothing. ``compare`` also filters with the numpy
    engine and records how far it is from the result written (:func:`compare_engines`,
    with ``tolerance``). ``reading`` sets the pixel limit and the truncated-file policy of
    the decoder. Picklable: it travels to worker processes with each group of jobs.
    """

    output_format: str | None = None
    overwrite: bool = False
    skip_existing: bool = False
    explain: bool = False
    dry_run: bool = False
    compare: bool = False
    tolerance: float | None = None
    reading: ReadOptions = ReadOptions()


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: Literal["done", "failed", "skipped"]
    error: ImgconvError | None = None
    milliseconds: float = 0.0
    pixels: int = 0
    explanation: str | None = None  # with explain=True: the route taken, and the output shape
    comparison: dict | None = None  # with compare=True: the engines' agreement (see compare_engines)

    @property
    def engines_disagree(self) -> bool:
        return self.comparison is not None and not self.comparison["agree"]

    def record(self, engine: str) -> dict:
        """The ``--report`` record of this job."""
        record = {
            "input": self.job.input,
            "output": self.job.output,
            "status": self.status,
            "error": None if self.error is None else str(self.error),
            "milliseconds": round(self.milliseconds, 3),
            "engine": engine,
        }
        if self.job.skip:  # why it was not filtered (the error key stays for errors)
            record["reason"] = self.job.skip
        if self.comparison is not None:
            record["comparison"] = self.comparison
        return record


def compare_engines(a, b, tolerance: float | None = None, scale: float | None = None) -> dict:  # noqa: ANN001
    """How far the numpy engine's result ``b`` is from the cv2 engine's ``a``.

    The metrics of :func:`imgconv.metrics.diff` (without SSIM) plus ``tolerance`` and
    ``agree``. Default tolerance: 1 level for integer images, 1e-5 relative for float32
    ones, relative to ``max(1, |a|, scale)``; a given tolerance is absolute. ``scale``
    is the largest ``|value|`` the sums could reach (:meth:`Kernel.reach`): float32
    rounding is relative to the size of what is summed, so where terms cancel (an edge
    kernel on a flat area, or OpenCV's DFT noise near black) a tiny result carries the
    rounding of large ones, which no engine can avoid.

    >>> import numpy as np
    >>> compare_engines(np.array([[1, 2]], np.uint8), np.array([[1, 3]], np.uint8))["agree"]
    True
    """
    import numpy as np

    from .metrics import absolute_difference, diff

    metrics = diff(a, b, with_ssim=False, names=("cv2 engine", "numpy engine"))
    keep = ("max_abs", "mean_abs", "rmse", "psnr", "differing_pixels", "differing_fraction", "identical")
    result = {key: metrics[key] for key in keep}
    if tolerance is None and a.dtype.kind == "f":
        # NaN in the same place on both sides agrees; on one side only it is infinitely far
        distance = absolute_difference(a, b).reshape(a.shape)
        with np.errstate(invalid="ignore"):
            relative = distance / np.fmax(max(1.0, scale or 0.0), np.abs(a.astype(np.float64)))  # fmax: where a is NaN
        relative[np.isnan(relative)] = np.inf  # an infinity against a finite value
        worst = float(relative.max()) if a.size else 0.0
        result.update(tolerance="1e-5 relative", relative_max=worst, agree=bool(worst <= 1e-5))
    else:
        limit = 1 if tolerance is None else tolerance
        result.update(tolerance=limit, agree=bool(metrics["max_abs"] <= limit))
    return result


def _finite_magnitude(image) -> float:  # noqa: ANN001
    """The largest finite ``|pixel|`` of ``image`` (0 if there is none)."""
    import numpy as np

    if image.dtype.kind != "f":
        return float(image.max()) if image.size else 0.0
    finite = np.abs(image[np.isfinite(image)])
    return float(finite.max()) if finite.size else 0.0


def default_output(input_path: str, kernel: Kernel | str) -> str:
    """``photo.jpg`` filtered with ``edge`` -> ``photo.edge.jpg``, beside the input.

    >>> from imgconv.kernels import load_kernel
    >>> default_output("shots/photo.jpg", load_kernel("edge"))
    'shots/photo.edge.jpg'
    """
    tag = kernel if isinstance(kernel, str) else kernel.tag
    root, ext = os.path.splitext(input_path)
    return writable_name(f"{root}.{tag}{ext or '.png'}")


def writable_name(path: str) -> str:
    """A derived output name, with ``.png`` appended when imgconv cannot write its format.

    A GIF (or a Sun raster, ...) is read but not written: its output becomes a PNG, under a
    name that cannot collide with the output of a PNG of the same stem.

    >>> writable_name("out/anim.edge.gif"), writable_name("out/photo.edge.JPG")
    ('out/anim.edge.gif.png', 'out/photo.edge.JPG')
    """
    try:
        format_for(None, path=path)
    except UsageError:
        return path + ".png"
    return path


# -- 1. inputs --------------------------------------------------------------------------------
def find_inputs(inputs: Sequence[str], *, recursive: bool = False, pattern: str | None = None) -> list[Source]:
    """Expand INPUT arguments into the files to filter, each once, in a stable order."""
    if not inputs:
        raise UsageError("no input given")
    sources: list[Source] = []
    seen: set[tuple[int, int] | str] = set()

    def add(source: Source) -> None:
        try:
            info = os.stat(source.path)
            key: tuple[int, int] | str = (info.st_dev, info.st_ino)
        except (OSError, ValueError):
            key = os.path.abspath(source.path)
        if key not in seen:
            seen.add(key)
            sources.append(source)

    for argument in inputs:
        if argument == STDIO:
            if len(inputs) > 1:
                raise UsageError("standard input ('-') can only be the only input")
            return [Source(STDIO, STDIO)]
        if os.path.isdir(argument):
            prefix = os.path.join(argument, "")  # what the walk's paths start with
            for path in _walk(argument, recursive):
                if pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern):
                    relative = path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, argument)
                    add(Source(path, relative, from_folder=True))
        elif not os.path.lexists(argument) and glob.has_magic(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise UsageError("no file matches this pattern", argument)
            for path in matches:
                if os.path.isdir(path):
                    for inner in _walk(path, recursive):
                        add(Source(inner, os.path.relpath(inner, os.path.dirname(path) or "."), from_folder=True))
                elif _is_image_file(path) and (pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern)):
                    add(Source(path, os.path.basename(path), from_folder=True))
        else:  # named directly: filtered whatever its name; errors are reported when run
            add(Source(argument, os.path.basename(argument)))
    return sources


def nothing_found(inputs: Sequence[str], *, recursive: bool = False, pattern: str | None = None) -> str:
    """Why INPUT... gave no file to filter, in one line (for the folders among them).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as top:
    ...     os.mkdir(os.path.join(top, "sub"))
    ...     open(os.path.join(top, "sub", "a.png"), "wb").close()
    ...     nothing_found([top]).endswith("its sub-folders hold some: add --recursive")
    True
    """
    folders = [i for i in inputs if os.path.isdir(i)]
    what = f"image files matching {pattern!r}" if pattern else "image files"
    line = f"no {what} in {', '.join(folders or inputs)}"
    if folders and not recursive:
        below = any(
            pattern is None or fnmatch.fnmatch(os.path.basename(path), pattern)
            for folder in folders for path in _walk(folder, True)
        )  # stops at the first one found
        if below:
            line += f"; {'their' if len(folders) > 1 else 'its'} sub-folders hold some: add --recursive"
    return line


def _walk(folder: str, recursive: bool) -> Iterator[str]:
    """Image files in ``folder`` (and below), hidden ones skipped, symlink loops survived."""
    visited: set[tuple[int, int]] = set()

    def visit(path: str) -> Iterator[str]:
        try:
            info = os.stat(path)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in visited:  # a symlink loop, or a folder seen already
            return
        visited.add((info.st_dev, info.st_ino))
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks; the visited set stops loops
            except OSError:
                continue
            if is_dir:
                if recursive:
                    yield from visit(entry.path)
            elif _is_image_file(entry.path):
                yield entry.path

    yield from visit(folder)


def _is_image_file(path: str) -> bool:
    if os.path.splitext(path)[1].lower() not in IMAGE_EXTENSIONS:
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # FIFOs, sockets, devices: never opened
    except OSError:
        return False  # a dangling link


# -- 2. jobs ----------------------------------------------------------------------------------
def plan_jobs(sources: Sequence[Source], output: str | None, tag: str, *, several: bool = False) -> list[Job]:
    """Pair every source with its output path.

    * one file named directly: ``output`` is the file to write (``-``: standard output;
      an existing folder: the file keeps its name in it), or without it the input's name
      with the kernel's tag (``photo.edge.jpg``); standard input goes to standard output;
    * several files, or any from a folder: ``output`` is a folder (created if missing) in
      which the input tree is mirrored and files keep their names; without ``-o`` each
      output goes beside its input with the tag.
    """
    batch = several or len(sources) != 1 or sources[0].from_folder  # several: INPUT... named more than one
    if not batch:
        source = sources[0]
        if output is None:
            return [Job(source.path, STDIO if source.path == STDIO else default_output(source.path, tag))]
        if output != STDIO and os.path.isdir(output) and source.path != STDIO:
            return [Job(source.path, writable_name(os.path.join(output, source.relative)))]
        return [Job(source.path, output)]
    if not sources:
        return []
    if output is None:
        return _not_own_outputs([Job(s.path, default_output(s.path, tag)) for s in sources], sources)
    if output == STDIO:
        raise UsageError("several inputs cannot all go to standard output; give -o FOLDER")
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError("several inputs need -o to be a folder, and this is a file", output)
    jobs = [Job(s.path, writable_name(os.path.join(output, s.relative)), make_folders=True) for s in sources]
    return _not_own_outputs(jobs, sources, folder=output)


def _not_own_outputs(jobs: list[Job], sources: Sequence[Source], folder: str | None = None) -> list[Job]:
    """``jobs`` without those whose input is this batch's own output.

    Run twice over a folder, a batch would otherwise filter what the first run wrote:
    ``photo.edge.png`` beside ``photo.png`` (making ``photo.edge.edge.png``), or, with
    ``-o`` inside the input folder, the whole output tree (into ``out/out/``); and
    ``--skip-existing`` could not resume it. Files found in folders are left out; a file
    named on the command line (``*.png`` expanded by the shell) that another input's job
    writes is kept as a skipped job that says why, since that job replaces it.
    """
    key = _path_keys()

    def under(path: str, top: str) -> bool:
        return path.startswith(top.rstrip(os.sep) + os.sep)

    writer = {key(job.output): job.input for job in jobs}  # output -> the input it is made from
    target = key(folder) if folder is not None else None
    kept = []
    for job, source in zip(jobs, sources):
        here = key(job.input)
        maker = writer.get(here)
        others = maker is not None and key(maker) != here  # another input's output
        if source.from_folder:
            if others:
                continue
            root = key(job.input[: len(job.input) - len(source.relative)] or ".")
            if target is not None and under(target, root) and under(here, target):  # -o inside the folder walked
                continue
        elif others and job.input != STDIO:
            job = replace(job, skip=f"skipped: it is this batch's output for {maker}")
        kept.append(job)
    return kept


def _path_keys() -> Callable[[str], str]:
    """A function giving ``normcase(realpath(path))``, resolving each folder only once.

    A batch's paths share a few folders: resolving those once and then only the last
    component (one ``lstat``, and a resolution when it is a link) cut planning 10,000
    files from 0.69 s to 0.18-0.29 s.
    """
    folders: dict[str, str] = {}  # a folder as given -> its realpath

    def folder(path: str) -> str:
        real = folders.get(path)
        if real is None:
            real = folders[path] = os.path.realpath(path)
        return real

    def key(path: str) -> str:
        head, tail = os.path.split(path)
        if tail in ("", ".", ".."):  # a folder itself (a batch's root, once per job)
            return os.path.normcase(folder(path))
        full = os.path.join(folder(head or "."), tail)
        return os.path.normcase(os.path.realpath(full) if os.path.islink(full) else full)

    return key


# -- 3. running -------------------------------------------------------------------------------
def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return os.path.abspath(a) == os.path.abspath(b)


def run_job(
    job: Job,
    kernels: Kernel | Sequence[Kernel],
    options: FilterOptions,
    settings: JobSettings = JobSettings(),
) -> JobResult:
    """Read, filter (with each kernel of a chain in turn) and write one image, as
    ``settings`` say (:class:`JobSettings`).

    Errors become a failed :class:`JobResult`. The output is never the input (by path,
    hard link or symlink), even with ``overwrite``; with neither ``overwrite`` nor
    ``skip_existing`` an existing output fails, untouched.
    """
    from .filtering import apply, plan

    chain = [kernels] if isinstance(kernels, Kernel) else list(kernels)
    output_format, overwrite, skip_existing = settings.output_format, settings.overwrite, settings.skip_existing
    explain, dry_run, compare = settings.explain, settings.dry_run, settings.compare
    started = time.perf_counter()
    pixels = 0
    notes: list[str] = []
    comparison = None

    def result(status, error=None):  # noqa: ANN001, ANN202
        note = " | ".join(notes) if notes else None
        return JobResult(job, status, error, (time.perf_counter() - started) * 1000, pixels, note, comparison)

    if job.skip:
        notes.append(job.skip)
        return result("skipped")

    try:
        to_stdout = job.output == STDIO
        if not to_stdout and not dry_run:
            if job.input != STDIO and os.path.exists(job.output) and _same_file(job.input, job.output):
                raise ImageWriteError("output is the input itself; imgconv never overwrites an input", job.output)
            if os.path.lexists(job.output):
                if skip_existing:
                    return result("skipped")
                if not overwrite:
                    raise ImageWriteError("output exists; use --overwrite to replace it", job.output)
        data = read_bytes(job.input)
        if to_stdout:
            fmt = format_for(output_format or _input_format(job.input, data))
        else:
            fmt = format_for(output_format, path=job.output)
        image = decode_image(data, name=job.input, channel_order=options.channel_order, reading=settings.reading)
        del data
        pixels = image.shape[0] * image.shape[1]
        original = image if compare else None
        numpy_options = replace(options, engine="numpy")  # --engine both compares with it
        for kernel in chain:
            if explain or dry_run:
                step = plan(image, kernel, options)
                notes.append(step.explain())
                if compare:
                    notes[-1] += f"; compared with {plan(image, kernel, numpy_options).routes()}"
            if dry_run:
                image = step.result_like()  # the next step's input: its shape, without filtering
                if " -> " not in notes[-1]:
                    notes[-1] += f"; output {image.shape[0]}x{image.shape[1]}"
                continue
            image = apply(image, kernel, options)
            if explain and " -> " not in notes[-1]:
                notes[-1] += f"; output {image.shape[0]}x{image.shape[1]}"
        if dry_run:
            return result("skipped")
        if compare:
            other, original = original, None
            scale = _finite_magnitude(other)
            for kernel in chain:
                other = apply(other, kernel, numpy_options)
                scale = kernel.reach(scale)
            if options.post == "stretch":  # rescaled to the output range, and the rounding with it
                scale = _finite_magnitude(image)
            comparison = compare_engines(image, other, settings.tolerance, scale)
            del other
        encoded = encode_image(image, fmt, channel_order=options.channel_order, name=job.input if to_stdout else job.output)
        if to_stdout:
            write_stdout(encoded)
        else:
            if job.make_folders:
                _make_folder(os.path.dirname(job.output), job.output)
            write_bytes_atomic(job.output, encoded, overwrite=overwrite)
    except ImgconvError as error:
        return result("failed", error)
    except BrokenPipeError:  # the reader of standard output went away: the CLI ends quietly
        raise
    except MemoryError:
        return result("failed", ImageReadError("not enough memory to filter this image", job.input))
    except Exception as error:  # noqa: BLE001 - a bug on one file must not end the batch
        if debugging():
            raise
        return result("failed", InternalError.of(error, job.input))
    return result("done")


def _make_folder(folder: str, output: str) -> None:
    if folder and not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise ImageWriteError(f"cannot create the folder {folder!r}: {error.strerror or error}", output) from None


def _input_format(path: str, data: bytes) -> str:
    sniffed = sniff_format(data)
    if sniffed:
        return sniffed
    try:
        return format_for(None, path=path).name
    except UsageError:
        return "png"


def _start_context():  # noqa: ANN202 - a multiprocessing context
    """How worker processes start: ``fork`` (fast) only while it is safe, else ``forkserver``.

    A forked child inherits the parent's memory but none of its threads. Once OpenCV's
    thread pool or the numpy engine's threads exist (a library user who filtered before
    calling :func:`run_jobs`, or a test process), a child that calls into them waits
    forever for threads that are not there. The CLI forks before it has filtered anything.

    Where it forks, OpenCV is loaded here first, so that the workers inherit it instead of
    each loading it again: two workers loading it at once took 50-100 ms of wall time,
    against 40 ms for one. Loading starts no thread of OpenCV's pool (only, without
    ``OPENBLAS_NUM_THREADS=1``, its OpenBLAS's, which stops them around a fork itself).
    """
    import multiprocessing
    import sys
    import threading

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and "cv2" not in sys.modules and threading.active_count() == 1:
        from ._cv import cv2

        cv2()
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker_setup() -> None:
    # Each worker is one process of the pool: let OpenCV use one thread in each, so that
    # N workers on N cores do not fight N x N threads. Ctrl-C reaches the whole process
    # group: an idle worker ignores it (else multiprocessing prints a traceback), a busy
    # one stops its job (see _run_in_worker) and the main process reports.
    import signal

    from ._cv import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2().setNumThreads(1)


class _Interrupted(Exception):
    """A group of jobs stopped by Ctrl-C in a worker; ``args[0]``: the results before."""


def _run_in_worker(jobs: Sequence[Job], kernels: Sequence[Kernel], options: FilterOptions,
                   settings: JobSettings) -> list[JobResult]:
    """:func:`run_job` on a few jobs in a pool process, interruptible by Ctrl-C only while
    one runs. A job stopped midway leaves no file; those done before it travel back in
    :class:`_Interrupted`, and the main process stops (:func:`_collect`)."""
    import signal

    results = []
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for job in jobs:
            results.append(run_job(job, kernels, options, settings))
    except KeyboardInterrupt:
        raise _Interrupted(results) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return results


def _collect(done: Iterable[concurrent.futures.Future]) -> Iterator[JobResult]:
    """The results of finished tasks; after those of an interrupted group, KeyboardInterrupt
    (as when Ctrl-C reaches this process too)."""
    stopped = False
    for future in done:
        error = future.exception()
        if isinstance(error, _Interrupted):
            yield from error.args[0]
            stopped = True
        else:
            yield from future.result()
    if stopped:
        raise KeyboardInterrupt


def _run_plain(jobs: Sequence[Job], kernels: Sequence[Kernel], options: FilterOptions,
               settings: JobSettings) -> list[JobResult]:
    """:func:`run_job` on each of ``jobs``, in whatever executor was given."""
    return [run_job(job, kernels, options, settings) for job in jobs]


def _chunk_size(remaining: int | None, workers: int) -> int:
    """Jobs for the next task of the process pool, with ``remaining`` jobs left to send.

    Each task costs the main process about 1 ms of CPU (pickling, pipes, waking threads;
    measured with ProcessPoolExecutor on 2 cores), taken from the workers when they keep
    every core busy; tasks of 4 cut that fourfold. The tasks shrink towards the end of a
    batch, down to one job each for the last ``8 * workers``, so that the workers finish
    together. A lazy iterable of jobs (``remaining`` None) goes one job per task.
    """
    if remaining is None:
        return 1
    return max(1, min(4, remaining // (8 * workers)))


def run_jobs(
    jobs: Iterable[Job],
    kernels: Sequence[Kernel],
    options: FilterOptions,
    settings: JobSettings = JobSettings(),
    *,
    workers: int = 1,
    executor_factory: Callable[[int], concurrent.futures.Executor] | None = None,
) -> Iterator[JobResult]:
    """Run ``jobs``, yielding each :class:`JobResult` as it finishes.

    With ``workers > 1`` the jobs go to a pool of processes (``executor_factory`` makes
    another kind of executor: anything with ``submit``), at most ``2 * workers`` in flight,
    so memory stays bounded however many files there are. Jobs planned as skipped
    (``Job.skip``) are reported at once, in their order, without a worker. Closing the
    generator (or Ctrl-C) cancels what has not started; a job that is stopped midway
    leaves no file.
    """
    if workers <= 1:
        for job in jobs:
            yield run_job(job, kernels, options, settings)
        return
    if executor_factory:  # one job per task, run as it is
        task = _run_plain
        factory = executor_factory
    else:
        task = _run_in_worker
        factory = lambda n: concurrent.futures.ProcessPoolExecutor(  # noqa: E731
            max_workers=n, initializer=_worker_setup, mp_context=_start_context()
        )
    pool = factory(workers)
    pending: set[concurrent.futures.Future] = set()
    sized = executor_factory is None and hasattr(jobs, "__len__")
    remaining = len(jobs) if sized else None  # type: ignore[arg-type]
    queue = iter(jobs)
    try:
        while chunk := list(itertools.islice(queue, _chunk_size(remaining, workers))):
            if remaining is not None:
                remaining -= len(chunk)
            # jobs planned as skipped need no worker: reported here at once, in input order
            yield from (run_job(job, kernels, options, settings) for job in chunk if job.skip)
            chunk = [job for job in chunk if not job.skip]
            if not chunk:
                continue
            pending.add(pool.submit(task, chunk, kernels, options, settings))
            if len(pending) >= 2 * workers:
                done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                yield from _collect(done)
        while pending:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            yield from _collect(done)
    except KeyboardInterrupt:
        # Stop cleanly: nothing new starts, files being written are finished (or, if the
        # workers were interrupted too, removed), and what was done is still reported.
        pool.shutdown(wait=True, cancel_futures=True)
        finished = [
            f for f in pending
            if f.done() and not f.cancelled() and (f.exception() is None or isinstance(f.exception(), _Interrupted))
        ]
        with contextlib.suppress(KeyboardInterrupt):  # already stopping
            yield from _collect(finished)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
