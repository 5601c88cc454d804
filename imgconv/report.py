"""Pictures of a difference: a colour-mapped heat map and a self-contained HTML report.

* :func:`heatmap` draws ``|A - B|`` (the largest over the channels) with OpenCV's
  *inferno* colour map, scaled so that the largest difference is the top of the scale,
  beside a colour bar labelled with the scale in image units.
* :func:`html_report` puts A, B and the heat map side by side above the metrics of
  :func:`imgconv.metrics.diff`, in one HTML page that needs no network: the pictures are
  embedded as PNG ``data:`` URIs, the style sheet is inline, and there are no scripts.
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any, Sequence

import numpy as np

from .dtypes import white_level
from .metrics import check_comparable, absolute_difference, peak_value

__all__ = ["heatmap", "heatmap_scale", "html_report", "colour_bar", "HEATMAP_MIN_HEIGHT", "BACKGROUND", "INK"]

HEATMAP_MIN_HEIGHT = 256  # smaller images are enlarged (whole pixels) so the labels fit
_HEATMAP_MAX_SIDE = 4096  # ... but never beyond this
BACKGROUND = _BACKGROUND = (40, 40, 40)  # BGR of the pictures' panels
INK = _INK = (235, 235, 235)


# -- heat map ---------------------------------------------------------------------------
def heatmap(a: np.ndarray, b: np.ndarray, *, names: Sequence[str] = ("A", "B")) -> np.ndarray:
    """A picture of where and how much two images differ (BGR uint8, OpenCV's order).

    The left part is ``|A - B|``, the largest over the channels, colour-mapped with
    ``cv2.COLORMAP_INFERNO`` (black: no difference; pale yellow: the largest). The scale
    is linear from 0 to the largest difference, so identical images give an all-black
    map. On the right a colour bar carries the scale in image units (``0`` at the
    bottom, the largest difference at the top). Images less than 256 pixels tall are
    enlarged by a whole factor (nearest neighbour: one pixel becomes a square of
    ``factor x factor``) so the labels stay readable; the factor is
    ``heatmap_scale(height, width)``.

    Parameters
    ----------
    a, b : ndarray
        Images of the same shape and dtype (H x W or H x W x C).
    names : pair of str
        What to call them in an error message.

    Returns
    -------
    ndarray
        H' x (W' + bar) x 3, uint8, BGR (encode it with ``channel_order="bgr"``).

    Examples
    --------
    >>> a = np.zeros((300, 200), np.uint8)
    >>> b = a.copy(); b[10, 20] = 50
    >>> m = heatmap(a, b)
    >>> m.shape[0], m.dtype, bool(m[10, 20].sum() > m[100, 100].sum())
    (300, dtype('uint8'), True)
    """
    from ._cv import cv2

    cv = cv2()
    a, b = check_comparable(a, b, names)
    d = absolute_difference(a, b).max(axis=2).astype(np.float64)
    finite = np.isfinite(d)
    top = float(d[finite].max()) if finite.any() else 0.0
    if top > 0:
        levels = np.where(finite, np.clip(d / top, 0.0, 1.0), 1.0)  # inf: the top colour
        levels = np.rint(levels * 255.0).astype(np.uint8)
    else:  # identical (black), or differences only where a sample is NaN or infinite
        levels = np.where(finite, 0, 255).astype(np.uint8)
    picture = cv.applyColorMap(levels, cv.COLORMAP_INFERNO)
    factor = heatmap_scale(*d.shape)
    if factor > 1:
        picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    integer = a.dtype.kind in "iu"
    title = "|A-B|" if top > 0 or not finite.all() else "|A-B| = 0"
    bar = colour_bar(picture.shape[0], 0.0, top, title, integer=integer, nonfinite=not finite.all())
    return np.ascontiguousarray(np.hstack([picture, bar]))


def heatmap_scale(height: int, width: int) -> int:
    """The whole factor by which :func:`heatmap` enlarges an image of this size.

    >>> heatmap_scale(512, 512), heatmap_scale(10, 12), heatmap_scale(10, 3000)
    (1, 26, 1)
    """
    factor = max(1, math.ceil(HEATMAP_MIN_HEIGHT / height))
    return max(1, min(factor, _HEATMAP_MAX_SIDE // max(height, width)))


def _format_value(value: float, integer: bool) -> str:
    if integer or float(value).is_integer():
        return str(int(value)) if math.isfinite(value) else str(value)
    return f"{value:.4g}"


def colour_bar(height: int, low: float, high: float, title: str, *, integer: bool = False,
               nonfinite: bool = False) -> np.ndarray:
    """A panel with a vertical inferno gradient from ``low`` (bottom) to ``high`` (top),
    labelled at both ends and the middle, ``title`` above it: the one colour bar of the
    project's pictures (the heat map's, the kernel figure's). BGR uint8, ``height`` tall.
    ``nonfinite``: the top colour also stands for infinities (a ``+`` after its label)."""
    from ._cv import cv2

    cv = cv2()
    font = cv.FONT_HERSHEY_SIMPLEX
    scale = min(3.0, max(0.45, height / 640))
    thick = max(1, round(scale * 1.6))
    margin = max(6, round(12 * scale))
    bar_width = max(12, round(22 * scale))
    middle = (low + high) / 2
    labels = [
        (_format_value(high, integer) + ("+" if nonfinite else ""), 0.0),
        (_format_value(middle, integer and float(middle).is_integer()), 0.5),
        (_format_value(low, integer), 1.0),
    ]
    if high == low:
        labels = [("inf" if nonfinite else _format_value(high, integer), 0.0), (_format_value(low, integer), 1.0)]
    text_width = max(cv.getTextSize(text, font, scale, thick)[0][0] for text, _ in labels)
    (title_width, text_height), _ = cv.getTextSize(title, font, scale, thick)
    tick = max(3, margin // 3)
    width = margin + max(bar_width + tick + 4 + text_width, title_width) + margin
    panel = np.empty((height, width, 3), np.uint8)
    panel[:] = _BACKGROUND

    title_baseline = margin + text_height + 2
    bar_top = title_baseline + margin // 2 + text_height if height >= 5 * (text_height + margin) else margin // 2
    bar_bottom = height - margin - text_height // 2
    if bar_bottom - bar_top < 8:  # a very short image: the bar takes the whole height
        bar_top, bar_bottom = 0, height
    span = bar_bottom - bar_top
    ramp = np.linspace(255, 0, span).round().astype(np.uint8).reshape(-1, 1)
    colours = cv.applyColorMap(ramp, cv.COLORMAP_INFERNO)  # span x 1 x 3
    x0 = margin
    panel[bar_top:bar_bottom, x0 : x0 + bar_width] = colours
    cv.rectangle(panel, (x0 - 1, bar_top - 1), (x0 + bar_width, bar_bottom), _INK, 1)
    if bar_top > title_baseline:
        cv.putText(panel, title, (margin, title_baseline), font, scale, _INK, thick, cv.LINE_AA)
    for text, where in labels:
        y = bar_top + round(where * (span - 1))
        cv.line(panel, (x0 + bar_width, y), (x0 + bar_width + tick, y), _INK, 1)
        baseline = min(max(y + text_height // 2, text_height + 1), height - 2)
        cv.putText(panel, text, (x0 + bar_width + tick + 4, baseline), font, scale, _INK, thick, cv.LINE_AA)
    return panel


# -- HTML ---------------------------------------------------------------------------------
_CSS = """
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fafafa; --card: #fff; --line: #d8d8dc;
  --muted: #66666e; --same: #1a7f37; --differ: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #17171a; --card: #222226;
  --line: #3a3a40; --muted: #a0a0a8; --same: #4ac26b; --differ: #ff7b72; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 40px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
code, .num { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.files { margin: 0 0 12px; color: var(--muted); word-break: break-all; }
.verdict { display: inline-block; margin: 4px 0 8px; padding: 6px 12px; border-radius: 6px;
  font-weight: 600; border: 1px solid currentColor; }
.verdict.same { color: var(--same); } .verdict.differ { color: var(--differ); }
.images { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) minmax(0, var(--heat, 1fr));
  gap: 16px; align-items: start; }
figure { margin: 0; padding: 10px; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; }
figure img { display: block; width: 100%; height: auto;
  background: repeating-conic-gradient(#c8c8c8 0% 25%, #fff 0% 50%) 50% / 16px 16px; }
figcaption { margin-top: 8px; font-size: 13px; color: var(--muted); word-break: break-all; }
figcaption b { color: var(--fg); }
.tables { display: flex; flex-wrap: wrap; gap: 8px 32px; align-items: flex-start; }
.scroll { overflow-x: auto; max-width: 100%; }
.tables > div { min-width: 0; }
tbody th { white-space: nowrap; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
tr:last-child td { border-bottom: 0; }
thead th { font-weight: 600; background: color-mix(in srgb, var(--line) 35%, transparent); }
td.num { text-align: right; white-space: nowrap; }
td.note { color: var(--muted); font-size: 13px; }
footer { margin-top: 28px; color: var(--muted); font-size: 13px; max-width: 1000px; }
figure img.small { image-rendering: pixelated; }
"""
# Narrow windows: the pictures one above the other (after the page's own column widths).
_CSS_NARROW = "@media (max-width: 900px) { .images { grid-template-columns: minmax(0, 1fr); } }"

_DESCRIPTIONS = {
    "max_abs": "largest |A &minus; B| of any sample",
    "mean_abs": "mean |A &minus; B| over all samples (pixels &times; channels)",
    "rmse": "root of the mean squared difference",
    "psnr": "20&middot;log<sub>10</sub>(peak / rmse), dB; none when identical",
    "ssim": "structural similarity (Wang et al. 2004), 1 = identical",
    "differing_pixels": "pixel locations where any channel differs",
    "differing_fraction": "differing pixels / all pixels",
    "identical": "every sample equal",
    "shape": "rows &times; columns &times; channels",
    "dtype": "sample type",
    "data_range": "peak used by PSNR and SSIM",
}
_COLUMNS = ("max_abs", "mean_abs", "rmse", "psnr", "differing_pixels", "differing_fraction")


def html_report(
    a: np.ndarray,
    b: np.ndarray,
    metrics: dict[str, Any],
    heatmap: np.ndarray,
    names: Sequence[str],
    *,
    tolerance: float | None = None,
    channel_order: str = "rgb",
) -> str:
    """One self-contained HTML page: A, B and the heat map side by side, and the metrics.

    Nothing is fetched when the page opens: the three pictures are PNG ``data:`` URIs,
    the style sheet is inline, there is no script, and a Content-Security-Policy forbids
    anything else. A and B are shown in 8 bits (uint16 divided by 257; float images
    scaled by ``metrics["data_range"]`` and clipped to 0..1); the numbers come from
    ``metrics`` as :func:`imgconv.metrics.diff` computed them.

    Parameters
    ----------
    a, b : ndarray
        The compared images.
    metrics : dict
        The result of ``imgconv.metrics.diff(a, b)``.
    heatmap : ndarray
        The result of :func:`heatmap` (BGR).
    names : pair of str
        The images' names (file names), shown escaped.
    tolerance : float, optional
        When given, the verdict says whether ``max_abs`` is within it.
    channel_order : "rgb" or "bgr"
        The channel order of ``a`` and ``b`` (imgconv's arrays are RGB).

    Returns
    -------
    str
        The page, UTF-8 text.

    Examples
    --------
    >>> from imgconv.metrics import diff
    >>> a = np.zeros((4, 4), np.uint8); b = a.copy(); b[1, 1] = 9
    >>> page = html_report(a, b, diff(a, b), heatmap(a, b), ["a.png", "<b>.png"])
    >>> page.startswith("<!doctype html>"), "&lt;b&gt;.png" in page, "://" in page
    (True, True, False)
    """
    from .imageio import encode_image

    name_a, name_b = (html.escape(str(n)) for n in names)
    peak = metrics.get("data_range") or peak_value(a.dtype)
    uri_a = _png_uri(encode_image(_for_display(a, peak), "png", channel_order=channel_order))
    uri_b = _png_uri(encode_image(_for_display(b, peak), "png", channel_order=channel_order))
    uri_h = _png_uri(encode_image(heatmap, "png", channel_order="bgr"))
    shape = "&times;".join(str(n) for n in metrics["shape"])
    described = f"{shape} {html.escape(str(metrics['dtype']))}"
    integer = str(metrics["dtype"]).startswith(("uint", "int"))

    verdict_class, verdict = _verdict(metrics, tolerance, integer)
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>imgconv diff: {name_a} vs {name_b}</title>",
        f"<style>{_CSS}{_columns(a, heatmap)}\n{_CSS_NARROW}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>imgconv diff</h1>",
        f'<p class="files">A: <code>{name_a}</code> &nbsp;&middot;&nbsp; B: <code>{name_b}</code>'
        f" &nbsp;&middot;&nbsp; {described}</p>",
        f'<p class="verdict {verdict_class}">{verdict}</p>',
        "</header>",
        '<section class="images">',
        _figure(uri_a, "A", name_a, described, small=a.shape[1] < 400),
        _figure(uri_b, "B", name_b, described, small=b.shape[1] < 400),
        _figure(
            uri_h,
            "|A &minus; B|",
            "heat map",
            "largest over channels; black = 0, top of the bar = "
            f"{html.escape(_format_value(metrics['max_abs'], integer))}",
            small=heatmap.shape[1] < 400,
        ),
        "</section>",
        '<section class="tables">',
        "<div>",
        "<h2>Overall</h2>",
        _scrolling(_overall_table(metrics, integer)),
        "</div>",
        "<div>",
        "<h2>Per channel</h2>",
        _scrolling(_channel_table(metrics, integer)),
        "<h2>Border strip and interior</h2>",
        _scrolling(_region_table(metrics, integer)),
        "</div>",
        "</section>",
        "<footer>",
        _notes(metrics),
        "</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _for_display(image: np.ndarray, peak: float) -> np.ndarray:
    """An 8-bit copy to look at: uint16 / 257, float scaled by ``peak`` and clipped."""
    white = white_level(np.uint8)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:  # white to white: / 257.0
        return np.rint(image / (white_level(np.uint16) / white)).astype(np.uint8)
    values = np.nan_to_num(image.astype(np.float64), nan=0.0, posinf=peak, neginf=0.0)
    if image.dtype.kind == "i":  # signed: the bottom of the range is black
        values = values - np.iinfo(image.dtype).min
    return np.rint(np.clip(values / peak, 0.0, 1.0) * white).astype(np.uint8)


def _columns(image: np.ndarray, heatmap: np.ndarray) -> str:
    """Column widths that show the heat map's picture at the scale of A and B (its bar aside)."""
    factor = max(1, heatmap.shape[0] // image.shape[0])
    ratio = heatmap.shape[1] / (image.shape[1] * factor)
    return f".images {{ --heat: {ratio:.4f}fr; }}"


def _figure(uri: str, label: str, name: str, caption: str, *, small: bool = False) -> str:
    # Enlarged small pictures keep sharp pixels; large ones are smoothed when shrunk, so
    # a one-pixel difference in the heat map is not dropped by nearest-neighbour sampling.
    css_class = ' class="small"' if small else ""
    return (
        f'<figure><img src="{uri}" alt="{label}: {name}"{css_class}>'
        f"<figcaption><b>{label}</b> &nbsp;{name}<br>{caption}</figcaption></figure>"
    )


def _fmt(value: Any, integer: bool = False, key: str = "") -> str:
    if value is None:
        return "&mdash;" if key != "psnr" else "&infin; (identical)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "differing_fraction":
        return f"{value * 100:.4g}&nbsp;%"
    if key == "psnr":
        return f"{value:.2f}&nbsp;dB" if math.isfinite(value) else html.escape(str(value))
    if key == "ssim":
        return f"{value:.6f}" if math.isfinite(value) else "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if integer and key == "max_abs":
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else html.escape(str(value))
    return html.escape(str(value))


def _verdict(metrics: dict[str, Any], tolerance: float | None, integer: bool) -> tuple[str, str]:
    if metrics["identical"]:
        return "same", "Identical: every sample is equal"
    text = (
        f"Different: {metrics['differing_pixels']:,} pixel{'' if metrics['differing_pixels'] == 1 else 's'} "
        f"({metrics['differing_fraction'] * 100:.4g}&nbsp;%) differ, by at most {_format_value(metrics['max_abs'], integer)}"
    )
    if tolerance is None:
        return "differ", text
    within = metrics["max_abs"] <= tolerance
    text += f"; {'within' if within else 'beyond'} the tolerance {_format_value(tolerance, False)}"
    return ("same" if within else "differ"), text


def _scrolling(table: str) -> str:
    """A wide table scrolls inside its own box on a narrow screen instead of the whole page."""
    return f'<div class="scroll">{table}</div>'


def _overall_table(metrics: dict[str, Any], integer: bool) -> str:
    keys = ("max_abs", "mean_abs", "rmse", "psnr", "ssim", "differing_pixels", "differing_fraction", "identical", "data_range")
    rows = [
        f'<tr><th scope="row"><code>{key}</code></th><td class="num">{_fmt(metrics.get(key), integer, key)}</td>'
        f'<td class="note">{_DESCRIPTIONS[key]}</td></tr>'
        for key in keys
    ]
    return "<table>\n<thead><tr><th>metric</th><th>value</th><th>meaning</th></tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _row(label: str, values: dict[str, Any] | None, integer: bool, extra: Sequence[str] = ()) -> str:
    cells = [f'<th scope="row">{label}</th>']
    for key in (*_COLUMNS, *extra):
        value = None if values is None else values.get(key)
        if values is None:
            cells.append('<td class="num">&mdash;</td>')
        else:
            cells.append(f'<td class="num">{_fmt(value, integer, key)}</td>')
    return "<tr>" + "".join(cells) + "</tr>"


def _header(first: str, extra: Sequence[str] = ()) -> str:
    cells = "".join(f"<th><code>{key}</code></th>" for key in (*_COLUMNS, *extra))
    return f"<thead><tr><th>{first}</th>{cells}</tr></thead>"


def _channel_table(metrics: dict[str, Any], integer: bool) -> str:
    rows = [_row(html.escape(str(c["name"])), c, integer, ("ssim",)) for c in metrics.get("channels", [])]
    return "<table>\n" + _header("channel", ("ssim",)) + "\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _region_table(metrics: dict[str, Any], integer: bool) -> str:
    border = metrics.get("border")
    interior = metrics.get("interior")
    width = border["width"] if border else 0
    rows = [
        _row(f"border ({width}&nbsp;px strip, {border['pixels']:,} px)" if border else "border (none)", border, integer),
        _row(f"interior ({interior['pixels']:,} px)" if interior else "interior (none: image too small)", interior, integer),
    ]
    return "<table>\n" + _header("region") + "\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _notes(metrics: dict[str, Any]) -> str:
    peak = metrics.get("data_range")
    float_note = (
        " Float images are assumed to hold values in 0..1 (peak 1.0) unless a data range was given."
        if str(metrics.get("dtype", "")).startswith("float")
        else ""
    )
    return (
        "<p>A <em>sample</em> is one channel of one pixel. PSNR's peak and SSIM's data range: "
        f"{html.escape(_format_value(peak, False)) if peak is not None else '?'} (by default the dtype's maximum)."
        f"{float_note} SSIM: Gaussian window &sigma;&nbsp;=&nbsp;1.5 (11&times;11), K1&nbsp;=&nbsp;0.01, "
        "K2&nbsp;=&nbsp;0.03, population covariances, mean over the channels; none for images "
        "smaller than 11&times;11. The border strip is where border modes act; the interior is the rest. "
        "Pictures of A and B are shown in 8 bits.</p>"
        "<p>Made by <code>imgconv diff</code>; this page loads nothing from the network.</p>"
    )
