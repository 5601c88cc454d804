"""Running a batch: each job read, filtered, optionally compared, and written.

:func:`run_job` does one file as :class:`JobSettings` say and turns every failure into a
failed :class:`JobResult` (a batch goes on). :func:`run_jobs` runs many, in this process
or in a pool of worker processes, and yields each result as it finishes; Ctrl-C stops it
cleanly. Nothing here prints: the caller reports the results.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import os
import signal
import time
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Literal, Sequence

from ..engines import ENGINE_NAMES
from ..errors import (
    ImageReadError,
    ImageWriteError,
    ImgconvError,
    ImgconvWarning,
    InternalError,
    UsageError,
    debugging,
)
from ..headers import DEFAULT_MAX_PIXELS, read_header
from ..encoding import LOSSLESS, check_compression
from ..imageio import (
    ReadOptions,
    decode_image,
    encode_image,
    format_for,
    read_bytes,
    sniff_format,
    write_bytes_atomic,
    write_stdout,
)
from ..kernels import Kernel
from ..metadata import read_metadata
from ..options import FilterOptions, check_choice
from ..zarrs import is_zarr
from .compare import compare_engines, finite_magnitude
from .inputs import STDIO
from .plan import Job, same_file

if TYPE_CHECKING:
    import numpy  # filtering (numpy, OpenCV) is imported when a job runs, not at start-up
    from distributed import Client

    from ..filtering import Explanation


@dataclass(frozen=True)
class JobSettings:
    """How every job of a run is done, beside the kernels and the filter options.

    ``explain`` records how each kernel is applied (engine route, output size);
    ``dry_run`` stops after that, writing nothing. ``compare_with`` names a second engine:
    each image is also filtered with it, and how far its result is from the one written
    (that of ``FilterOptions.engine``) is recorded (:func:`compare_engines`, with
    ``tolerance``); None compares nothing. ``reading`` sets the pixel limit and the
    truncated-file policy of the decoder. ``max_memory`` (bytes): a TIFF that decodes to
    more, written to a .tif, is filtered band by band (:mod:`imgconv.bigtiff`); None: never.
    ``compression``: how TIFF outputs are compressed (:data:`imgconv.encoding.TIFF_COMPRESSIONS`;
    None: zstd when streamed, OpenCV's LZW in memory), or a PNG level (0-9; None: OpenCV's 1). ``pyramid``: TIFF outputs are written
    in bands with their reduced levels (:mod:`imgconv.pyramid`). ``quality`` (JPEG, WebP, AVIF,
    HEIC, JPEG XL): None keeps a JPEG input's own quality (estimated from its quantisation
    table, as ImageMagick does) and a lossless WebP input's losslessness, else
    :data:`imgconv.encoding.DEFAULT_QUALITY`. ``lossless``: WebP outputs lossless.
    ``strip``: no metadata is carried from the input to the output
    (:mod:`imgconv.metadata`).
    Picklable: it travels to worker processes with each group of jobs.
    """

    output_format: str | None = None
    overwrite: bool = False
    skip_existing: bool = False
    explain: bool = False
    dry_run: bool = False
    compare_with: str | None = None
    tolerance: float | None = None
    reading: ReadOptions = ReadOptions()
    max_memory: int | None = None
    compression: str | None = None
    pyramid: bool = False
    quality: int | None = None
    lossless: bool = False
    strip: bool = False

    def __post_init__(self) -> None:
        if self.compare_with is not None:
            check_choice("engine", self.compare_with, ENGINE_NAMES)
        if self.compression is not None:
            check_compression(self.compression)


@dataclass(frozen=True)
class JobResult:
    job: Job
    status: Literal["done", "failed", "skipped"]
    error: ImgconvError | None = None
    milliseconds: float = 0.0
    pixels: int = 0
    steps: tuple[Step, ...] = ()  # with explain or dry_run: how each kernel of the chain ran
    comparison: dict | None = None  # with compare_with: the engines' agreement (see compare_engines)
    worker: str | None = None  # on a Dask cluster: the address of the worker that ran it

    @property
    def explanation(self) -> str | None:
        """What ``--explain`` says of this job: each step's line (`` | `` between steps), or
        why it was skipped without being read."""
        if self.job.skip:
            return self.job.skip
        return " | ".join(step.line() for step in self.steps) or None

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
        if self.steps:  # with --explain or --dry-run: how each kernel of the chain ran
            record["steps"] = [step.to_dict() for step in self.steps]
        if self.worker is not None:
            record["worker"] = self.worker
        return record


@dataclass(frozen=True)
class Step:
    """How one kernel of a chain ran: the plan's explanation, and the other engine's when
    it was compared."""

    explanation: Explanation
    compared_with: Explanation | None = None

    def line(self) -> str:
        return self.explanation.line(self.compared_with)

    def to_dict(self) -> dict:
        info = self.explanation.to_dict()
        if self.compared_with is not None:
            info["compared_with"] = self.compared_with.to_dict()["routes"]
        return info


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
    ``skip_existing`` an existing output fails, untouched. Images are decoded, filtered
    and encoded in OpenCV's BGR order, whatever ``options.channel_order`` says: the
    pixels written are the same, without a channel swap on the way in and out.
    """
    from .. import filtering

    chain = [kernels] if isinstance(kernels, Kernel) else list(kernels)
    options = replace(options, channel_order=_ORDER)
    other = None if settings.compare_with is None else replace(options, engine=settings.compare_with)
    explain, dry_run = settings.explain, settings.dry_run
    started = time.perf_counter()
    pixels = 0
    steps: list[Step] = []
    comparison = None

    def result(status, error=None):  # noqa: ANN001, ANN202
        took = (time.perf_counter() - started) * 1000
        return JobResult(job, status, error, took, pixels, tuple(steps), comparison)

    if job.skip:
        return result("skipped")

    try:
        to_stdout = job.output == STDIO
        if not to_stdout and not dry_run and keeps_existing(job, settings):
            return result("skipped")
        if not to_stdout:
            streamed = _streamed(job, chain, options, settings)
            if streamed is not None:
                pixels = streamed["shape"][0] * streamed["shape"][1] if "shape" in streamed else 0
                if explain or dry_run:
                    steps.extend(Step(explanation) for explanation in streamed["explanations"])
                return result("skipped" if dry_run else "done")
        quality = LOSSLESS if settings.lossless else settings.quality
        metadata = None
        if is_zarr(job.input):  # a Zarr image small enough, to another format
            image = _zarr_image(job, settings)
            if to_stdout:
                fmt = format_for(settings.output_format or "png")
            else:
                fmt = format_for(settings.output_format, path=job.output)
        else:
            data = read_bytes(job.input)
            if to_stdout:
                fmt = format_for(settings.output_format or _input_format(job.input, data))
            else:
                fmt = format_for(settings.output_format, path=job.output)
            _check_memory(data, job, settings)
            if quality is None and fmt.name in ("jpg", "webp"):  # a JPEG comes out at the quality it came in
                header = read_header(data)  # at; a lossless WebP lossless
                quality = getattr(header, "quality", None) if fmt.name == "jpg" else (
                    LOSSLESS if getattr(header, "lossless", False) else None)
            if not settings.strip:  # the profile, EXIF, XMP, resolution, where the output holds them
                metadata = read_metadata(data)
            image = decode_image(data, name=job.input, channel_order=_ORDER, reading=settings.reading)
            del data
        pixels = image.shape[0] * image.shape[1]
        original = image if other is not None else None
        for kernel in chain:
            if explain or dry_run:
                step = filtering.plan(image, kernel, options)
                compared = None if other is None else filtering.plan(image, kernel, other).explanation()
                steps.append(Step(step.explanation(), compared))
            if dry_run:
                image = step.result_like()  # the next step's input: its shape, without filtering
                continue
            image = filtering.apply(image, kernel, options)
        if dry_run:
            return result("skipped")
        if other is not None:
            theirs, original = original, None  # freed as soon as the second engine has filtered it
            scale = finite_magnitude(theirs)
            for kernel in chain:
                theirs = filtering.apply(theirs, kernel, other)
                scale = kernel.reach(scale)
            if options.post == "stretch":  # rescaled to the output range, and the rounding with it
                scale = finite_magnitude(image)
            comparison = compare_engines(image, theirs, settings.tolerance, scale, engines=(options.engine, other.engine))
            del theirs
        encoded = encode_image(image, fmt, channel_order=_ORDER, name=job.input if to_stdout else job.output,
                               compression=settings.compression, quality=quality, metadata=metadata)
        if to_stdout:
            write_stdout(encoded)
        else:
            if job.make_folders:
                _make_folder(os.path.dirname(job.output), job.output)
            write_bytes_atomic(job.output, encoded, overwrite=settings.overwrite)
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


def _streamed(job: Job, chain: list[Kernel], options: FilterOptions, settings: JobSettings) -> dict | None:
    """Filter a TIFF larger than ``settings.max_memory`` band by band into a .tif output
    (:mod:`imgconv.bigtiff`; with ``dry_run`` only plan it): what was done, or None where
    the image goes the in-memory way (smaller, not a TIFF, another output format, a
    comparison of engines)."""
    if job.input == STDIO:
        return None
    zarr_in, zarr_out = is_zarr(job.input), is_zarr(job.output)
    tiff_out = os.path.splitext(job.output)[1].lower() in (".tif", ".tiff")
    if zarr_in and not (zarr_out or tiff_out or settings.pyramid):  # read into memory (_zarr_image)
        return None
    if settings.compare_with and (zarr_in or zarr_out):
        raise UsageError("--engine both compares images filtered in memory; not a Zarr image")
    if settings.pyramid and not (tiff_out or zarr_out):
        raise ImageWriteError("--pyramid writes the reduced levels into a TIFF or an OME-Zarr output", job.output)
    if settings.pyramid and not zarr_in and decoded_bytes_of(job.input) is None:
        raise ImageReadError("--pyramid writes images read in bands: a TIFF or a Zarr input", job.input)
    if not (zarr_in or zarr_out or settings.pyramid):  # a TIFF to a TIFF: streamed when larger than max_memory
        if settings.max_memory is None or settings.compare_with or not tiff_out:
            return None
    from ..bigtiff import DEFAULT_MEMORY, decoded_size, filter_tiff, plan_tiff

    size = None if zarr_in else decoded_size(job.input)
    if not (zarr_in or zarr_out or settings.pyramid) and (size is None or size[1] <= (settings.max_memory or 0)):
        return None
    # the default --max-pixels guards decoding into memory, which streaming never does; a
    # limit the user set holds here too
    limit = settings.reading.max_pixels
    if size and limit and limit != DEFAULT_MAX_PIXELS and size[0] > limit:  # the decoder refuses it, saying why
        return None
    options = replace(options, channel_order="rgb")  # tifffile gives RGB order
    memory = settings.max_memory or DEFAULT_MEMORY
    if settings.dry_run:
        return plan_tiff(job.input, chain, options, memory=memory)
    if job.make_folders:
        _make_folder(os.path.dirname(job.output), job.output)
    # what may be replaced was decided by keeps_existing
    return filter_tiff(job.input, job.output, chain, options, memory=memory, overwrite=True,
                       compression=settings.compression or "zstd", pyramid=settings.pyramid, strip=settings.strip)


def decoded_bytes_of(path: str) -> int | None:
    """The decoded bytes of a TIFF or Zarr input (None for other formats)."""
    from ..bigtiff import decoded_bytes

    return decoded_bytes(path)


def _zarr_image(job: Job, settings: JobSettings) -> "numpy.ndarray":
    """A Zarr image read whole (in the batch's channel order), for an output that cannot be
    written in bands; an :class:`ImageReadError` when it takes more than ``max_memory``."""
    import numpy as np

    from ..dtypes import check_supported
    from ..zarrs import open_zarr

    read, shape, dtype = open_zarr(job.input)
    size = int(np.prod(shape)) * dtype.itemsize
    if settings.max_memory is not None and size > settings.max_memory:
        raise ImageReadError(
            f"a {shape[1]}x{shape[0]} Zarr image takes {_size(size)}, more than --max-memory "
            f"({_size(settings.max_memory)}); write a .tif or .zarr output to filter it in bands, or raise --max-memory",
            job.input)
    check_supported(dtype)
    image = read(0, shape[0])
    if image.ndim == 3 and image.shape[2] in (3, 4):  # Zarr holds RGB(A); the batch runs in BGR
        image = np.ascontiguousarray(image[:, :, [2, 1, 0] + ([3] if image.shape[2] == 4 else [])])
    return image


def _check_memory(data: bytes, job: Job, settings: JobSettings) -> None:
    """An :class:`ImageReadError` for an image whose decoded pixels would take more than
    ``settings.max_memory``, said before decoding, with what to do instead: a TIFF gets a
    .tif output to stream into; other formats are converted to a tiled TIFF first."""
    if settings.max_memory is None:
        return
    header = read_header(data)
    limit = settings.reading.max_pixels
    if header is None or (limit and header.pixels > limit):  # the decoder refuses it, saying why
        return
    size = header.decoded_bytes
    if size <= settings.max_memory:
        return
    what = f"{header.width}x{header.height} {header.format.upper()} decodes to {_size(size)}, " \
           f"more than --max-memory ({_size(settings.max_memory)})"
    if header.format == "tiff":
        hint = "write a .tif output to filter it in bands of rows, or raise --max-memory"
    else:
        hint = (f"imgconv streams only TIFF images: convert it to a tiled TIFF first (e.g. vips copy "
                f"{os.path.basename(job.input)} 'big.tif[tile,bigtiff]'), or raise --max-memory")
    raise ImageReadError(f"{what}; {hint}", job.input)


def _size(size: int) -> str:
    return f"{size / (1 << 30):.3g} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.3g} MiB"


_ORDER = "bgr"
"""The channel order of a batch: OpenCV decodes and encodes in it, so no channel is swapped."""


def keeps_existing(job: Job, settings: JobSettings) -> bool:
    """Whether an existing output is skipped (``skip_existing``); raises where it may not be
    replaced: never an input, and without ``overwrite`` nothing."""
    if os.path.exists(job.output) and same_file(job.input, job.output):
        raise ImageWriteError("output is the input itself; imgconv never overwrites an input", job.output)
    if os.path.lexists(job.output):
        if settings.skip_existing:
            return True
        if not settings.overwrite:
            raise ImageWriteError("output exists; use --overwrite to replace it", job.output)
    return False


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
        from .._cv import cv2

        cv2()
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _worker_setup() -> None:
    # Each worker is one process of the pool: let OpenCV use one thread in each, so that
    # N workers on N cores do not fight N x N threads. Ctrl-C reaches the whole process
    # group: an idle worker ignores it (else multiprocessing prints a traceback), a busy
    # one stops its job (see _run_in_worker) and the main process reports.
    from .._cv import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2().setNumThreads(1)
    warnings.simplefilter("ignore", ImgconvWarning)  # the main process said it once (run_jobs)


class _Interrupted(Exception):
    """A group of jobs stopped by Ctrl-C in a worker; ``args[0]``: the results before."""


def _run_in_worker(jobs: Sequence[Job], kernels: Sequence[Kernel], options: FilterOptions,
                   settings: JobSettings) -> list[JobResult]:
    """:func:`run_job` on a few jobs in a pool process, interruptible by Ctrl-C only while
    one runs. A job stopped midway leaves no file; those done before it travel back in
    :class:`_Interrupted`, and the main process stops (:func:`_collect`)."""
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
    client: "Client | None" = None,
) -> Iterator[JobResult]:
    """Run ``jobs``, yielding each :class:`JobResult` as it finishes.

    With ``workers > 1`` the jobs go to a pool of processes (``executor_factory`` makes
    another kind of executor: anything with ``submit``), at most ``2 * workers`` in flight,
    so memory stays bounded however many files there are. Jobs planned as skipped
    (``Job.skip``) are reported at once, in their order, without a worker. Closing the
    generator (or Ctrl-C) cancels what has not started; a job that is stopped midway
    leaves no file. With a ``dask.distributed`` ``client`` the jobs run on its cluster
    instead (:mod:`imgconv.batch.cluster`), and ``workers`` is not used.
    """
    if client is not None:
        from .cluster import check_runnable, run_on_client

        jobs = list(jobs)
        check_runnable(jobs)
        yield from run_on_client(jobs, kernels, options, settings, client)
        return
    if workers <= 1:
        for job in jobs:
            yield run_job(job, kernels, options, settings)
        return
    if options.engine == "auto":  # a calibration file to warn of: once, here, not in each worker
        from ..engines.calibration import load

        load()
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
