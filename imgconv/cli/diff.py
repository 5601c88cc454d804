"""``imgconv diff A B``: how two images differ, in numbers and, on request, in pictures."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import typer

from ._reading import allow_truncated_option, max_pixels_option, read_options


def diff_command(
    a: str = typer.Argument(..., metavar="A", help="The first image (- for standard input)."),
    b: str = typer.Argument(..., metavar="B", help="The second image, same size, channels and depth."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON on standard output."),
    tolerance: float = typer.Option(
        0.0, "--tolerance", "-t", metavar="T", help="Exit 0 when max_abs <= T (image units, default 0: identical), else 1."
    ),
    heatmap: Optional[str] = typer.Option(
        None, "--heatmap", metavar="PNG", help="Write a colour-mapped picture of |A - B| with its scale (format from the extension)."
    ),
    report: Optional[str] = typer.Option(
        None, "--report", metavar="HTML", help="Write a self-contained HTML page: A, B, the heat map and every metric."
    ),
    border_width: int = typer.Option(
        8, "--border-width", min=0, metavar="N", help="Width of the edge strip measured apart from the interior."
    ),
    data_range: Optional[float] = typer.Option(
        None, "--data-range", metavar="R", help="Peak for PSNR and SSIM (default the dtype's maximum: 255, 65535; 1.0 for float)."
    ),
    max_pixels: int = max_pixels_option(),
    allow_truncated: bool = allow_truncated_option(),
) -> None:
    """Compare two images: max/mean difference, RMSE, PSNR, SSIM, border vs interior.

    Example: imgconv diff photo.png photo.edge.png --tolerance 1 --report diff.html
    """
    from ..batch import same_file
    from ..errors import UsageError

    if not tolerance >= 0:  # also NaN
        raise UsageError(f"--tolerance must be a number >= 0, got {tolerance}")
    if data_range is not None and not (math.isfinite(data_range) and data_range > 0):
        raise UsageError(f"--data-range must be a finite number > 0, got {data_range}")
    if a == "-" and b == "-":
        raise UsageError("only one of A and B can be standard input (-)")
    outputs = [(option, path) for option, path in (("--heatmap", heatmap), ("--report", report)) if path is not None]
    for option, path in outputs:
        if path == "-":
            raise UsageError(f"{option} needs a file name; standard output carries the metrics")
        for label, source in (("A", a), ("B", b)):
            if same_file(path, source):
                raise UsageError(f"{option} {path} would overwrite the input {label}; choose another file name")
    if heatmap is not None and report is not None and same_file(heatmap, report):
        raise UsageError("--heatmap and --report name the same file")

    from ..imageio import encode_image, format_for, read_image, write_bytes_atomic
    from ..metrics import diff, within_tolerance

    heatmap_format = format_for(None, path=heatmap) if heatmap is not None else None
    reading = read_options(max_pixels, allow_truncated)
    image_a = read_image(a, reading=reading)
    image_b = read_image(b, reading=reading)
    metrics = diff(image_a, image_b, border_width=border_width, data_range=data_range, names=(a, b))

    if heatmap is not None or report is not None:
        from ..report import heatmap as draw_heatmap
        from ..report import html_report

        picture = draw_heatmap(image_a, image_b, names=(a, b))
        if heatmap is not None:
            data = encode_image(picture, heatmap_format, channel_order="bgr", name=heatmap)
            write_bytes_atomic(heatmap, data, overwrite=True)
        if report is not None:
            page = html_report(image_a, image_b, metrics, picture, (a, b), tolerance=tolerance)
            write_bytes_atomic(report, page.encode("utf-8"), overwrite=True)

    if as_json:
        typer.echo(json.dumps(_json_safe(metrics), indent=2, allow_nan=False))
    else:
        _print_tables(metrics, a, b, tolerance)
    if not within_tolerance(metrics, tolerance):
        raise typer.Exit(1)


def _json_safe(value: Any) -> Any:
    """Strict JSON: an infinite or NaN float (non-finite samples) becomes "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "psnr":
        return f"{value:.2f}" if math.isfinite(value) else str(value)
    if key == "ssim":
        return f"{value:.4f}" if math.isfinite(value) else "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _print_tables(metrics: dict[str, Any], a: str, b: str, tolerance: float) -> None:
    """One table, rows: all, each channel, border strip, interior (fits 80 columns)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..errors import display_path

    shape = "x".join(str(n) for n in metrics["shape"])
    table = Table(
        title=Text(f"A {display_path(a)}  vs  B {display_path(b)}  ({shape} {metrics['dtype']})"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("", style="bold", no_wrap=True)
    for name in ("max_abs", "mean_abs", "rmse", "psnr dB", "ssim", "differing"):
        table.add_column(name, justify="right", no_wrap=True)

    def cells(values: dict[str, Any] | None, with_ssim: bool = True) -> list[Text]:
        if values is None:
            return [Text("-")] * 6
        psnr = "inf" if values["identical"] else _fmt(values["psnr"], "psnr")
        pixels = f"{values['differing_pixels']:,} ({values['differing_fraction'] * 100:.3g}%)"
        return [
            Text(_fmt(values["max_abs"])),
            Text(_fmt(values["mean_abs"])),
            Text(_fmt(values["rmse"])),
            Text(psnr),
            Text(_fmt(values.get("ssim"), "ssim") if with_ssim else ""),
            Text(pixels),
        ]

    table.add_row("all", *cells(metrics))
    for channel in metrics["channels"] if len(metrics["channels"]) > 1 else []:
        table.add_row(Text(str(channel["name"])), *cells(channel))
    border = metrics.get("border")
    table.add_row(f"border {border['width']}px" if border else "border", *cells(border, False))
    table.add_row("interior", *cells(metrics.get("interior"), False))
    console = Console(highlight=False)
    console.print(table)
    if metrics["identical"]:
        console.print("identical")
    else:
        within = metrics["max_abs"] <= tolerance
        console.print(
            f"differ: max_abs {_fmt(metrics['max_abs'])} is {'within' if within else 'beyond'} the tolerance {tolerance:g}"
        )
