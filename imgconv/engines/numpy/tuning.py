"""The numpy engine's tuning constants, in one place.

Each is a cost-model estimate or a size measured on the machines we run on (2-core x86-64,
numpy 2.4, OpenBLAS); ``python benchmarks/engines.py`` measures their effect, and
:doc:`docs/numpy-engine.md <../../../docs/numpy-engine>` says why the routes work as they do.
Change one only with that benchmark's table before and after.
"""

from __future__ import annotations

# -- band sizes ---------------------------------------------------------------------------
BAND_BYTES = 1 << 20
"""Bytes of one band's accumulator (larger than L2: numpy's per-call cost outweighs misses)."""
MATMUL_BLOCK = 32
"""Output columns per row-pass product of the matmul route."""
MATMUL_ROWS = 128
"""Output rows per band of the matmul route."""
MATMUL_COL_ROWS = 16
"""Output rows per column-pass product (a product of r rows does r + kh - 1 multiply-adds a pixel)."""
BLAS_SINGLE = 65536 * 4
"""OpenBLAS runs products with M*N*K up to this on one thread (its own threads stall when shared)."""
FFT_TILE_ELEMS = 3 << 17
"""The most elements of a float32 FFT tile, all channels together (beyond: out of the caches)."""
REPLAY_CHUNK = 4096
"""Replayed pixels per gathered terms x pixels matrix (a few MiB)."""
INT32_INDICES = 2**29
"""Images of fewer elements replay with int32 indices (their sums stay in range)."""

PLAN_ROWS = 512
"""Routes and FFT tiles are chosen for at most this many rows (costs grow in proportion
beyond), so that a band of a taller image (:mod:`imgconv.streaming`) is planned as the
whole image is."""

# -- the cost model (estimated nanoseconds) -----------------------------------------------
OP_NS = {1: 0.09, 2: 0.11, 4: 0.18, 8: 0.36}
"""ns per element of one whole-band numpy pass, by item size."""
FFT_NS = {8: 0.9, 4: 0.65}
"""ns per (n log2 n) of one forward + inverse real 2-D transform pair, by item size."""
TILE_NS = 60_000.0
"""Fixed cost of one FFT tile (calls, copies, the spectrum product)."""
BAND_NS = 15_000.0
"""Fixed cost of one band (padding and a few dozen numpy calls)."""
MATMUL_GFLOPS = 40.0
"""float32 flops per ns that one thread of BLAS achieves on the banded products."""
MATMUL_CHANNELS = 1.16
"""How much more an element of a colour image costs the matmul route (its products run one
channel at a time over interleaved data): the separable route's time over the matmul
route's, divided by the model's ratio, was 0.86 (median; 0.79-0.92) on RGB images and 0.99
on grey ones, for 7x7 to 11x11 sampled Gaussians on 512² to 2048² images, each pair timed
call by call (2026-12-05)."""
REPLAY_TERM_NS = 8.0
"""ns per replayed value and weight."""

# -- threads -------------------------------------------------------------------------------
THREAD_MIN_NS = 3e6
"""Below this estimated time one thread beats sharing a call out."""
FFT_THREAD_MIN_NS = 7e6
"""The same for the FFT route, whose threads share the caches and pay off later."""
THREAD_GAIN = 0.8
"""What a second thread adds to a band route (a share of one thread's speed)."""
FFT_THREAD_GAIN = 0.4
"""What a second thread adds to the FFT route."""
