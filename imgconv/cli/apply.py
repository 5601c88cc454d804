"""``imgconv apply KERNEL INPUT... [-o OUTPUT]``: filter images."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from ..borders import BORDER_NAMES, BORDERS, DEFAULT_BORDER
from ..engines import ENGINE_NAMES
from ..errors import UsageError
from ..options import DEPTHS, MODES, POST_HELP, POSTS

_BORDER_HELP = "How pixels beyond the edge are made up: " + "; ".join(
    f"{name} ({BORDERS[name].picture})" for name in BORDER_NAMES
)


def _choices(values: tuple[str, ...]) -> str:
    return "|".join(values)


def apply_command(
    kernel: str = typer.Argument(
        ...,
        metavar="KERNEL",
        help="A name (edge, sobel-x, sharpen ...: 'imgconv kernels list'), name:key=value "
        "(gaussian:size=7,sigma=1.5), a kernel .json file, or an inline matrix '[[0,-1,0],[-1,5,-1],[0,-1,0]]'.",
    ),
    inputs: List[str] = typer.Argument(..., metavar="INPUT...", help="Image files, or - for standard input."),
    output: Optional[str] = typer.Option(
        None,
        "-o",
        "--output",
        metavar="FILE|-|DIR",
        help="Output file, - for standard output, or a folder for several inputs. "
        "Default: beside the input as NAME.KERNEL.EXT (photo.edge.jpg); stdin goes to stdout.",
    ),
    engine: str = typer.Option("cv2", "--engine", metavar=_choices(ENGINE_NAMES), help="Convolution engine."),
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
        help="Output sample type. uint8<->uint16 rescale the range; float32 keeps the input's units "
        "(negatives included); float32 to an integer type saturates without rescaling.",
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
        None, "--format", metavar="FORMAT", help="Output format when the file name can't tell (with -o -): png, jpg, tiff, bmp, webp, pgm, ppm."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs (never an input)."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Skip inputs whose output exists."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
) -> None:
    """Filter images with a kernel.

    Example: imgconv apply edge photo.jpg -o photo-edges.png
    """
    from ..jobs import STDIO, plan_jobs, run_job
    from ..kernels import load_kernel
    from ..options import FilterOptions

    if overwrite and skip_existing:
        raise UsageError("--overwrite and --skip-existing contradict each other; choose one")
    options = FilterOptions(
        engine=engine,
        border=border,
        border_value=border_value,
        mode=mode,
        post=post,
        depth=depth,
        gray=gray,
        premultiply=premultiply,
        stride=stride,
        dilation=dilation,
        padding=padding,
        transposed=transposed,
        channel_order="bgr",  # as OpenCV decodes: no channel swap on the way through
    )
    loaded = load_kernel(kernel)
    if fmt is not None:
        from ..imageio import format_for

        format_for(fmt)  # an unknown format is a usage error before any work
    jobs = plan_jobs(inputs, output, loaded)
    if any(job.output == STDIO for job in jobs) and sys.stdout.isatty():
        raise UsageError("refusing to write binary image data to a terminal; redirect it (> out.png) or give -o FILE")
    failures = 0
    last_error = None
    for job in jobs:
        result = run_job(job, loaded, options, output_format=fmt, overwrite=overwrite, skip_existing=skip_existing)
        if result.status == "failed":
            failures += 1
            last_error = result.error
            _error(str(result.error))
        elif not quiet and job.output != STDIO:
            verb = "skipped (exists)" if result.status == "skipped" else "wrote"
            typer.echo(f"{verb} {_shown(job.output)}", err=True)
    if len(jobs) > 1 and not quiet:
        typer.echo(f"{len(jobs) - failures} of {len(jobs)} done, {failures} failed", err=True)
    if failures:
        raise typer.Exit(last_error.exit_code if len(jobs) == 1 and last_error else 1)


def _error(message: str) -> None:
    from . import error_line

    error_line(message)


def _shown(path: str) -> str:
    from ..errors import display_path

    return display_path(path)
