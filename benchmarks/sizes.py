"""File sizes of `sharpen` on the samples: imgconv's defaults next to ImageMagick's.

For each format, the sample is first saved in it by Pillow (JPEG, WebP, AVIF, HEIC at
quality 90; PNG and TIFF as they are), then filtered by both tools with their default
encoder settings:

    imgconv apply sharpen in.EXT -o out.EXT
    convert in.EXT -morphology Convolve '3x3: 0,-1,0 -1,5,-1 0,-1,0' out.EXT

Run: python benchmarks/sizes.py  (needs ImageMagick's `convert`, and the heif extra)
Prints a Markdown table of bytes: input, imgconv, ImageMagick, and imgconv / ImageMagick.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "avif": "AVIF", "heic": "HEIF", "tif": "TIFF"}
SHARPEN = "3x3: 0,-1,0 -1,5,-1 0,-1,0"


def main() -> None:
    if shutil.which("convert") is None:
        sys.exit("needs ImageMagick's convert (apt install imagemagick)")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        del FORMATS["heic"]
    rows = []
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for ext, pillow in FORMATS.items():
            totals = [0, 0, 0]
            for sample in sorted(SAMPLES.glob("*.png")):
                source = folder / f"{sample.stem}.{ext}"
                lossy = {"quality": 90} if ext in ("jpg", "webp", "avif", "heic") else {}
                Image.open(sample).convert("RGB").save(source, format=pillow, **lossy)
                ours, theirs = folder / f"ours-{sample.stem}.{ext}", folder / f"im-{sample.stem}.{ext}"
                subprocess.run([sys.executable, "-m", "imgconv", "apply", "sharpen", str(source), "-o", str(ours),
                                "--overwrite"], check=True, capture_output=True)
                subprocess.run(["convert", str(source), "-morphology", "Convolve", SHARPEN, str(theirs)],
                               check=True, capture_output=True)
                sizes = [source.stat().st_size, ours.stat().st_size, theirs.stat().st_size]
                totals = [t + s for t, s in zip(totals, sizes)]
                rows.append((ext, sample.stem, *sizes))
            rows.append((ext, "**all**", *totals))
    print("| format | sample | input | imgconv | ImageMagick | imgconv / IM |")
    print("|---|---|---|---|---|---|")
    for ext, name, source, ours, theirs in rows:
        print(f"| {ext} | {name} | {source:,} | {ours:,} | {theirs:,} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
