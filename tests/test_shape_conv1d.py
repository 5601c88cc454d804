"""imgconv shape and imgconv conv1d: the contract's examples, and numpy as the oracle."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgconv.errors import UsageError
from imgconv.conv1d import conv1d, parse_numbers


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgconv", *args], input=stdin, capture_output=True, timeout=60)


def test_contract_examples() -> None:
    shape = cli("shape", "64", "--kernel", "3", "--stride", "2", "--padding", "1")
    assert (shape.returncode, shape.stdout, shape.stderr) == (0, b"32\n", b"")
    conv = cli("conv1d", "1,2,3,4,5", "--kernel", "1,0,-1")
    assert (conv.returncode, conv.stdout, conv.stderr) == (0, b"2 2 2 2 -4\n", b"")


@pytest.mark.parametrize(
    "args, out",
    [
        (["64x48", "-k", "3", "-s", "2", "-p", "1"], "32x24"),
        (["7", "-k", "3"], "5"),  # default padding 0
        (["7", "-k", "3", "-p", "same", "-s", "2"], "4"),  # ceil(7 / 2)
        (["7", "-k", "3", "-p", "full"], "9"),
        (["10", "-k", "3", "-d", "2"], "6"),  # spans 5
        (["32", "-k", "3", "-s", "2", "-p", "1", "--transposed", "--output-padding", "1"], "64"),
        (["4", "-k", "2x3", "-p", "0"], "3"),  # a one-axis size uses the kernel's rows
        (["64", "-k", "sobel-x"], "62"),
    ],
)
def test_shape_values(args: list[str], out: str) -> None:
    proc = cli("shape", *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip() == out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["5", "-k", "7"], "no output"),
        (["64", "-k", "3", "-s", "0"], "stride must be at least 1"),
        (["64", "-k", "3", "--transposed", "--output-padding", "2", "-s", "2"], "output padding"),
        (["64x", "-k", "3"], "size must be"),
    ],
)
def test_shape_errors_exit_2(args: list[str], fragment: str) -> None:
    proc = cli("shape", *args)
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr.decode().startswith("imgconv: ") and fragment in proc.stderr.decode()


def test_shape_json() -> None:
    info = json.loads(cli("shape", "64x32", "-k", "3", "-s", "2", "--json").stdout)
    assert info["input"] == [64, 32] and info["output"] == [31, 15] and info["kernel"] == [3, 3]


small_ints = st.lists(st.integers(-50, 50), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None, database=None)
@given(small_ints, small_ints)
def test_conv1d_full_and_valid_equal_numpy(signal: list[int], kernel: list[int]) -> None:
    assert conv1d(signal, kernel, padding="full") == np.convolve(signal, kernel, "full").tolist()
    assert conv1d(signal, kernel, mode="correlate", padding="full") == np.correlate(signal, kernel, "full").tolist()
    if len(signal) >= len(kernel):
        assert conv1d(signal, kernel, padding="valid") == np.convolve(signal, kernel, "valid").tolist()


@settings(max_examples=200, deadline=None, database=None)
@given(small_ints, st.lists(st.integers(-50, 50), min_size=1, max_size=6).filter(lambda k: len(k) % 2 == 1))
def test_conv1d_same_equals_numpy_for_odd_kernels(signal: list[int], kernel: list[int]) -> None:
    expected = np.convolve(signal, kernel, "full")[len(kernel) // 2 :][: len(signal)].tolist()
    assert conv1d(signal, kernel) == expected
    assert all(isinstance(v, int) for v in conv1d(signal, kernel))


def test_conv1d_borders_by_hand() -> None:
    # correlate [1, 2, 3, 4] with [1, 0, 0]: each output is its left neighbour
    left = [1, 0, 0]
    assert conv1d([1, 2, 3, 4], left, mode="correlate") == [0, 1, 2, 3]
    assert conv1d([1, 2, 3, 4], left, mode="correlate", border="reflect101") == [2, 1, 2, 3]
    assert conv1d([1, 2, 3, 4], left, mode="correlate", border="reflect") == [1, 1, 2, 3]
    assert conv1d([1, 2, 3, 4], left, mode="correlate", border="wrap") == [4, 1, 2, 3]
    assert conv1d([1, 2, 3, 4], left, mode="correlate", border="replicate") == [1, 1, 2, 3]
    assert conv1d([1.5, 2], [2], mode="correlate") == [3.0, 4.0]


def test_conv1d_cli_stdin_json_and_errors() -> None:
    proc = cli("conv1d", "-", "-k", "0.5,0.5", "--padding", "full", "--json", stdin=b"1 2\n3\n")
    assert proc.returncode == 0 and json.loads(proc.stdout) == [0.5, 1.5, 2.5, 1.5]
    bad = cli("conv1d", "1,x,3", "-k", "1")
    assert bad.returncode == 2 and bad.stderr.decode() == "imgconv: signal: 'x' is not a number\n"
    short = cli("conv1d", "1,2", "-k", "1,2,3", "--padding", "valid")
    assert short.returncode == 2 and "valid padding" in short.stderr.decode()


def test_parse_numbers() -> None:
    assert parse_numbers("1, 2;3\n4\t5") == [1, 2, 3, 4, 5]
    for text in ("", "nan", "1,inf", "1,,2a"):
        with pytest.raises(UsageError):
            parse_numbers(text)
