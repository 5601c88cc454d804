"""``imgconv apply KERNEL INPUT... [-o OUTPUT]``: filter images."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import List, Optional

import typer

from ..borders import BORDER_NAMES, BORDERS, DEFAULT_BORDER
from ..engines import ENGINE_NAMES
from ..errors import UsageError
from ..options import DEPTHS, MODES, POST_HELP, POSTS
from ._reading import allow_truncated_option, max_pixels_option, read_options

_BORDER_HELP = "How pixels beyond the edge are made up: " + "; ".join(
    f"{name} ({BORDERS[name].picture})" for name in BORDER_NAMES
)


_BOTH = ("cv2", "numpy")
"""--engine both: the engine whose result is written, and the one compared with it."""


def _choices(values: tuple[str, ...]) -> str:
    return "|".join(values)


def apply_command(
    kernel: str = typer.Argument(
        ...,
        metavar="KERNEL",
        help="A name (edge, sobel-x, sharpen ...: 'imgconv kernels list'), name:key=value "
        "(gaussian:size=7,sigma=1.5), a kernel .json file, or an inline matrix '[[0,-1,0],[-1,5,-1],[0,-1,0]]'; "
        "several joined by + are applied in turn (blur+sharpen).",
    ),
    inputs: List[str] = typer.Argument(
        ..., metavar="INPUT...", help="Image files, folders, glob patterns, or - for standard input."
    ),
    output: Optional[str] = typer.Option(
        None,
        "-o",
        "--output",
        metavar="FILE|-|DIR",
        help="Output file, - for standard output, or a folder for several inputs. "
        "Default: beside the input as NAME.KERNEL.EXT (photo.edge.jpg); stdin goes to stdout.",
    ),
    engine: str = typer.Option(
        "auto",
        "--engine",
        metavar=_choices(ENGINE_NAMES + ("both",)),
        help="Convolution engine. auto: per image, the faster of cv2 and numpy where both give the cv2 "
        "engine's result bit for bit (--explain says which and why); both: write the cv2 result, compare "
        "the numpy engine's with it (one line per image on stderr, exit 1 beyond --tolerance).",
    ),
    tolerance: Optional[float] = typer.Option(
        None,
        "--tolerance",
        metavar="T",
        help="With --engine both: the largest difference accepted (default 1 level for integer "
        "images, 1e-5 relative for float).",
    ),
    border: str = typer.Option(DEFAULT_BORDER, "--border", metavar=_choices(BORDER_NAMES), help=_BORDER_HELP),
    border_value: float = typer.Option(0.0, "--border-value", metavar="V", help="Value of the constant border, in image units."),
    mode: str = typer.Option(
        "correlate",
        "--mode",
        metavar=_choices(MODES),
        help="correlate (as cv2.filter2D) or convolve (flip the kernel: the mathematical convolution).",
    ),
    post: str = typer.Option(
        "clip",
        "--post",
        metavar=_choices(POSTS),
        help="Values outside the output range: " + "; ".join(f"{k}: {v}" for k, v in POST_HELP.items()),
    ),
    depth: str = typer.Option(
        "same",
        "--depth",
        metavar=_choices(DEPTHS),
        help="Output sample type. uint8<->uint16 rescale the range; float32 and float64 keep the "
        "input's units (negatives included); float to an integer type saturates without rescaling.",
    ),
    gray: bool = typer.Option(False, "--gray", help="Convert colour to grey first (alpha kept)."),
    premultiply: bool = typer.Option(
        False,
        "--premultiply",
        help="Filter colour premultiplied by alpha, and alpha with it, as libvips does: no colour "
        "bleeds from transparent pixels; the output alpha is the filtered alpha (smoothing kernels only). "
        "Without it alpha is left unchanged.",
    ),
    stride: str = typer.Option("1", "--stride", metavar="N|RxC", help="Keep every N-th output pixel (rows x columns with RxC)."),
    dilation: str = typer.Option("1", "--dilation", metavar="N|RxC", help="Spread the kernel's taps N pixels apart."),
    padding: Optional[str] = typer.Option(
        None,
        "--padding",
        metavar="same|valid|full|N|RxC",
        help="same: output as large as the input (default); valid: only where the kernel fits; "
        "full: wherever it overlaps (extended with --border); N: pixels per side. "
        "Output size floor((n + 2p - d(k-1) - 1)/s) + 1.",
    ),
    transposed: bool = typer.Option(
        False,
        "--transposed",
        help="Transposed convolution: upsample by --stride, size (n-1)s - 2p + d(k-1) + 1 "
        "(zero border; --padding N crops N per side).",
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format", metavar="FORMAT", help="Output format when the file name can't tell (with -o -): png, jpg, tiff, bmp, webp, heic, pgm, ppm."
    ),
    max_pixels: int = max_pixels_option(),
    allow_truncated: bool = allow_truncated_option(),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs (never an input)."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip inputs whose output exists."),
    recursive: bool = typer.Option(False, "-r", "--recursive", help="Descend into sub-folders of folder inputs."),
    pattern: Optional[str] = typer.Option(
        None, "--glob", metavar="PATTERN", help="Only files whose name matches, e.g. '*.png' (quote it)."
    ),
    workers: Optional[int] = typer.Option(
        None, "-j", "--workers", metavar="N", help="Files filtered in parallel processes (default: the CPUs imgconv may use)."
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", metavar="ADDRESS",
        help="Run the batch on a Dask cluster: tcp://host:8786, a scheduler JSON file, or local[:N] "
        "(a local cluster of N workers). Needs imgconv[dask]; the workers read and write the files.",
    ),
    scheduler_timeout: float = typer.Option(
        10.0, "--scheduler-timeout", metavar="SECONDS", help="How long to wait for the --scheduler before giving up."
    ),
    max_memory: Optional[str] = typer.Option(
        None, "--max-memory", metavar="SIZE",
        help="A TIFF that decodes to more (512M, 4G; default: a quarter of the RAM) is filtered in bands "
        "of rows into a tiled BigTIFF (.tif output), exactly as in memory. Needs imgconv[big].",
    ),
    compression: Optional[str] = typer.Option(
        None, "--compression", metavar="METHOD",
        help="How TIFF outputs are compressed: zstd, deflate, lzw or none (default: zstd for an image "
        "filtered in bands, else LZW); for PNG outputs the zlib level, 0-9 (default 1).",
    ),
    quality: Optional[int] = typer.Option(
        None, "--quality", metavar="Q", min=1, max=100,
        help="JPEG, WebP, AVIF, HEIC and JPEG XL quality, 1-100 (default: a JPEG input's own quality, "
        "else 92; WebP 75, AVIF 60, HEIC 50, JPEG XL 90: each format's own tool's).",
    ),
    lossless: bool = typer.Option(
        False, "--lossless", help="Write WebP losslessly (the default for a lossless WebP input).",
    ),
    strip: bool = typer.Option(
        False, "--strip", help="Carry no metadata (ICC profile, EXIF, XMP, resolution) from the input to the output.",
    ),
    pyramid: bool = typer.Option(
        False, "--pyramid", help="A TIFF output also gets its reduced levels (each half the one above), "
        "so slide viewers open it at once; the image is then written in bands. Needs imgconv[big].",
    ),
    report: Optional[str] = typer.Option(
        None, "--report", metavar="FILE.json", help="Write one JSON record per input (- for standard output)."
    ),
    explain: bool = typer.Option(False, "--explain", help="Say on stderr how each image is filtered (engine route, output size)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be done (as --explain); write nothing."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
) -> None:
    """Filter images with a kernel (or a chain: blur+sharpen).

    Example: imgconv apply edge photo.jpg -o photo-edges.png
    """
    from .._cpus import usable_cpus
    from ..batch import STDIO, JobSettings, nothing_found, run_jobs
    from ..batch.files import plan_files
    from ..options import FilterOptions

    if overwrite and skip_existing:
        raise UsageError("--overwrite and --skip-existing contradict each other; choose one")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if engine not in ENGINE_NAMES + ("both",):  # "both" is the CLI's: say it is there too
        raise UsageError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINE_NAMES + ('both',))}")
    written, compare_with = _BOTH if engine == "both" else (engine, None)
    if tolerance is not None and compare_with is None:
        raise UsageError("--tolerance goes with --engine both")
    if tolerance is not None and not tolerance >= 0:
        raise UsageError(f"--tolerance must be a number >= 0, got {tolerance}")
    options = FilterOptions(
        engine=written, border=border, border_value=border_value, mode=mode, post=post, depth=depth,
        gray=gray, premultiply=premultiply,
        stride=stride, dilation=dilation, padding=padding, transposed=transposed,  # the output's geometry
    )
    reading = read_options(max_pixels, allow_truncated)
    if fmt is not None:
        from ..imageio import format_for

        format_for(fmt)  # an unknown format is a usage error before any work
    chain, jobs = plan_files(kernel, inputs, output, recursive=recursive, pattern=pattern, output_format=fmt)
    to_stdout = any(job.output == STDIO for job in jobs)
    if report == STDIO and to_stdout:
        raise UsageError("--report - and -o - would both write to standard output; give --report FILE.json")
    if to_stdout and sys.stdout.isatty():
        raise UsageError("refusing to write binary image data to a terminal; redirect it (> out.png) or give -o FILE")
    batch = len(jobs) != 1
    if not jobs and not quiet:  # folders without images (or none matching --glob): say why
        typer.echo(f"imgconv: {nothing_found(inputs, recursive=recursive, pattern=pattern)}", err=True)
    count = workers if workers is not None else usable_cpus()
    settings = JobSettings(
        output_format=fmt,
        overwrite=overwrite,
        skip_existing=skip_existing,
        explain=explain,
        dry_run=dry_run,
        compare_with=compare_with,
        tolerance=tolerance,
        reading=reading,
        max_memory=_memory(max_memory),
        compression=compression,
        pyramid=pyramid,
        quality=quality,
        lossless=lossless,
        strip=strip,
    )
    with contextlib.ExitStack() as stack:
        client = None
        if scheduler is not None and jobs:
            from ..batch.cluster import connect

            client = stack.enter_context(connect(scheduler, timeout=scheduler_timeout))
        results = run_jobs(jobs, chain, options, settings, workers=min(count, len(jobs)) if batch else 1, client=client)
        summary, interrupted = _show(results, len(jobs), batch=batch, quiet=quiet, dry_run=dry_run)
    if (batch or interrupted) and not quiet:
        typer.echo(summary.line(interrupted), err=True)
    if report is not None:
        _write_report(report, summary.results, engine, jobs)
    if interrupted:
        raise typer.Exit(130)
    failed = [r for r in summary.results if r.status == "failed"]
    if failed:
        raise typer.Exit(failed[0].error.exit_code if not batch and failed[0].error else 1)
    if any(r.engines_disagree for r in summary.results):
        raise typer.Exit(1)


def _show(results, total: int, *, batch: bool, quiet: bool, dry_run: bool):  # noqa: ANN001, ANN202
    """Each result as it comes (explanation, comparison, error, progress); the summary, and
    whether Ctrl-C stopped the run."""
    from ..batch import STDIO

    summary = _Summary(total, show_progress=batch and not quiet and sys.stderr.isatty())
    interrupted = False
    with summary:
        while True:
            try:
                result = next(results)
            except StopIteration:
                break
            except KeyboardInterrupt:  # the runner still hands over what was finished
                interrupted = True
                continue
            summary.add(result)
            if result.explanation and not (quiet and result.job.skip):  # --quiet: errors only
                arrow = "" if dry_run or result.job.skip or result.job.output == STDIO else f" -> {_shown(result.job.output)}"
                typer.echo(f"{_shown(result.job.input)}{arrow}: {result.explanation}", err=True)
            if result.comparison is not None:
                typer.echo(_comparison_line(result), err=True)
            if result.status == "failed":
                _error(str(result.error))
            elif not batch and not quiet and not dry_run and result.job.output != STDIO:
                verb = "skipped (exists)" if result.status == "skipped" else "wrote"
                typer.echo(f"{verb} {_shown(result.job.output)}", err=True)
    return summary, interrupted


def _memory(text: str | None) -> int:
    from ..bigtiff import default_memory, parse_size

    return default_memory() if text is None else parse_size(text)


def _comparison_line(result) -> str:  # noqa: ANN001
    c = result.comparison
    verdict = "engines agree" if c["agree"] else "ENGINES DIFFER"
    detail = f"max_abs {c['max_abs']:g}, {c['differing_pixels']} pixels differ ({c['differing_fraction']:.2e})"
    if "relative_max" in c:
        detail += f", relative {c['relative_max']:.2e}"
    engines = " vs ".join(c["engines"])
    return f"{_shown(result.job.input)}: {verdict} ({engines}): {detail}; tolerance {c['tolerance']}"


class _Summary:
    """Counts, megapixels and time; a rich progress bar on a terminal."""

    def __init__(self, total: int, *, show_progress: bool) -> None:
        self.total = total
        self.results: list = []
        self.started = time.perf_counter()
        self.progress = None
        if show_progress:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]filtering"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.task = self.progress.add_task("filtering", total=total, rate="")

    def __enter__(self) -> "_Summary":
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def add(self, result) -> None:  # noqa: ANN001
        self.results.append(result)
        if self.progress is not None:
            self.progress.update(self.task, advance=1, rate=f"{self.megapixels_per_second():.1f} MP/s")

    def megapixels_per_second(self) -> float:
        seconds = max(time.perf_counter() - self.started, 1e-9)
        return sum(r.pixels for r in self.results if r.status == "done") / 1e6 / seconds

    def line(self, interrupted: bool) -> str:
        counts = {status: sum(r.status == status for r in self.results) for status in ("done", "failed", "skipped")}
        seconds = time.perf_counter() - self.started
        head = "interrupted: " if interrupted else ""
        rest = f", {self.total - len(self.results)} not started" if interrupted else ""
        return (
            f"{head}{counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped{rest} "
            f"in {seconds:.1f} s ({self.megapixels_per_second():.1f} MP/s)"
        )


def _write_report(destination: str, results: list, engine: str, jobs: list) -> None:
    import json

    from ..imageio import write_bytes_atomic, write_stdout

    # in the order of the inputs, whichever worker finished first: runs can be compared
    place = {(job.input, job.output): i for i, job in enumerate(jobs)}
    results = sorted(results, key=lambda r: place.get((r.job.input, r.job.output), len(place)))
    data = (json.dumps([r.record(engine) for r in results], indent=2) + "\n").encode()
    if destination == "-":
        write_stdout(data)
    else:
        write_bytes_atomic(destination, data, overwrite=True)


def _error(message: str) -> None:
    from . import error_line

    error_line(message)


def _shown(path: str) -> str:
    from ..errors import display_path

    return display_path(path)
