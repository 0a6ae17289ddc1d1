#!/usr/bin/env python3
"""Writes the safetensors fixtures for Tests/RecurCoreTests (SafeTensorsTests).

Run from the repository root with a Python that has numpy and safetensors
(pip install numpy safetensors):

    python scripts/make_fixtures.py

Every file is written by the reference `safetensors.numpy.save_file`, so the
Swift tests prove Recur reads what the Python package writes, and (for
`layout.safetensors`, whose single metadata key keeps the header
deterministic) that Recur writes the very same bytes.

Files (all in Tests/RecurCoreTests/Fixtures/):
  basic.safetensors   all four dtypes, odd shapes (scalar, zero-size axis,
                      one element, 3x5x7), special float values, metadata
                      with several keys including escapes and non-ASCII.
  basic.json          the expected content of basic.safetensors: per tensor
                      dtype, shape, and values (floats as IEEE bit patterns,
                      so the comparison is exact).
  f16.safetensors     "source" (F32) and "half" (F16, numpy's round-to-
                      nearest-even conversion of source): ties, the overflow
                      threshold, subnormals, specials and random values.
  layout.safetensors  a small mixed-dtype file for byte-for-byte comparison
                      with Recur's writer (see SafeTensorsTests).
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file, load_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "RecurCoreTests", "Fixtures")


def f32_specials():
    bits = np.array([0x7F800000, 0xFF800000, 0x7FC00000, 0x80000000, 0x00000001,
                     0x7F7FFFFF, 0x40490FDB, 0x807FFFFF, 0x00800000, 0xFFC00001], dtype=np.uint32)
    return bits.view(np.float32)


def f16_specials():
    bits = np.array([0x7C00, 0xFC00, 0x7E00, 0x8000, 0x0001, 0x03FF, 0x0400, 0x7BFF,
                     0xFBFF, 0x3C00, 0x3555, 0x7E01], dtype=np.uint16)
    return bits.view(np.float16)


def basic_tensors():
    return {
        "f32.cube": (np.arange(105, dtype=np.float32).reshape(3, 5, 7) * np.float32(0.5) - np.float32(20)),
        "f32.scalar": np.array(-2.75, dtype=np.float32),
        "f32.specials": f32_specials(),
        "f32.empty": np.zeros((4, 0, 2), dtype=np.float32),
        "f16.matrix": (np.arange(12, dtype=np.float32).reshape(3, 4) / np.float32(3)).astype(np.float16),
        "f16.specials": f16_specials(),
        "f16.one": np.array([1.5], dtype=np.float16),
        "i32.values": np.array([[0, 1, -1], [2147483647, -2147483648, 123456]], dtype=np.int32),
        "i32.scalar": np.array(-7, dtype=np.int32),
        "i64.values": np.array([0, 1, -1, 9223372036854775807, -9223372036854775808, 1 << 40], dtype=np.int64),
        "i64.empty": np.zeros((0,), dtype=np.int64),
    }


def bits_of(a):
    flat = a.reshape(-1)
    if a.dtype == np.float32:
        return [int(x) for x in flat.view(np.uint32)]
    if a.dtype == np.float16:
        return [int(x) for x in flat.view(np.uint16)]
    return [int(x) for x in flat]


DTYPE = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
         np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}


def rounding_sources(rng):
    # Every finite half's neighbourhood: the value itself, the exact midpoint to
    # the next half (a tie: must round to even), and one float either side of it.
    halves = np.arange(0, 0x7C00, dtype=np.uint16)[::37].view(np.float16).astype(np.float64)
    nxt = (np.arange(0, 0x7C00, dtype=np.uint16)[::37] + 1).view(np.float16).astype(np.float64)
    mids = ((halves + nxt) / 2).astype(np.float32)  # exact in float32
    below = np.nextafter(mids, np.float32(0))
    above = np.nextafter(mids, np.float32(np.inf))
    specials = np.array([65504, 65519.996, 65520, 65536, 1e9, 2.0 ** -24, 2.0 ** -25,
                         2.0 ** -25 * 1.0000001, 2.0 ** -26, 3 * 2.0 ** -25, 2.0 ** -14,
                         2.0 ** -14 - 2.0 ** -25, 1e-30, 0.0, -0.0, np.inf, -np.inf, np.nan],
                        dtype=np.float32)
    randoms = rng.standard_normal(200).astype(np.float32) * np.float32(1000)
    small = rng.standard_normal(100).astype(np.float32) * np.float32(1e-5)
    src = np.concatenate([halves.astype(np.float32), mids, below, above, specials, randoms, small])
    return np.concatenate([src, -src])


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)

    tensors = basic_tensors()
    metadata = {"format": "recur-test", "version": "1", "quote\"back\\slash\nnew\ttab\u0001": "é ü 𝄞", "empty": ""}
    save_file(tensors, os.path.join(OUT, "basic.safetensors"), metadata=metadata)
    expected = {
        "metadata": metadata,
        "tensors": {name: {"dtype": DTYPE[a.dtype], "shape": list(a.shape), "bits": bits_of(a)}
                    for name, a in tensors.items()},
    }
    with open(os.path.join(OUT, "basic.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)

    src = rounding_sources(rng)
    with np.errstate(over="ignore"):  # values past 65520 become inf on purpose
        half = src.astype(np.float16)
    save_file({"source": src, "half": half}, os.path.join(OUT, "f16.safetensors"))

    # Deterministic header: one metadata key (Python orders metadata keys by
    # hash, so several keys would not give stable bytes).
    layout = {
        "decoder.weight": (np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.1)),
        "embed": (np.arange(10, dtype=np.float32).reshape(5, 2) / np.float32(7)).astype(np.float16),
        "b": np.array([3, 1, 4, 1, 5], dtype=np.int32),
        "a": np.array([-1, 2 ** 33], dtype=np.int64),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "z.scalar": np.array(0.25, dtype=np.float16),
    }
    save_file(layout, os.path.join(OUT, "layout.safetensors"), metadata={"step": "42"})

    for name in ["basic", "f16", "layout"]:
        path = os.path.join(OUT, name + ".safetensors")
        back = load_file(path)
        print(f"{path}: {len(back)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
