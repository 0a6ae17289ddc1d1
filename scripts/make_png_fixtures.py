#!/usr/bin/env python3
"""PNG decoding fixtures for RecurFrontendsTests (issue 3).

Writes tiny PNGs of every colour type and bit depth with pypng (gray 1/2/4/8/16,
gray+alpha 8/16, RGB 8/16, RGBA 8/16, palette with and without tRNS, gray and
RGB with tRNS, Adam7-interlaced ones) plus `png_expected.json`: for each file,
the 8-bit RGB pixels a reader must produce, computed from pypng's own decoding
(`png.Reader(...).asDirect()`, the reference decoder) as follows:

- a sample of bit depth b becomes round(v * 255 / (2**b - 1)) (for b < 8 this
  is exact; for 16 bits it is round(v / 257));
- alpha (channel or tRNS) is composited on the background in sRGB values, for a
  white and a black background: 8-bit out = (c*a + bg*(255 - a) + 127) // 255;
  16-bit, the exact blend round((c*a/65535*255 + bg*(65535 - a)) / 65535)
  (a reader that premultiplies first may be 1 off; the tests allow that there).

The 8-bit opaque cases are also checked against Pillow. Also writes
`png_huge_header.png`: a valid-looking file whose IHDR claims 50000 x 50000
pixels with almost no data (a reader must refuse it from the header alone).

Usage: /work/venv-torch/bin/python scripts/make_png_fixtures.py
"""
import json
import os
import random
import struct
import zlib

import png  # pypng

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RecurFrontendsTests", "Fixtures")


def rows_of(width, height, planes, maxval, rng, pattern=True):
    rows = []
    for y in range(height):
        row = []
        for x in range(width):
            for p in range(planes):
                if pattern and y == 0:
                    # First row walks the extremes so 0 and maxval are covered.
                    v = [0, maxval, maxval // 2, 1 if maxval > 1 else 0][(x + p) % 4]
                else:
                    v = rng.randint(0, maxval)
                row.append(v)
        rows.append(row)
    return rows


def to8(v, bits):
    return (v * 255 + ((1 << bits) - 1) // 2) // ((1 << bits) - 1)


def expected_from_reference(path, bg):
    """Decode `path` with pypng and turn it into composited RGB8 (list of ints)."""
    w, h, pixels, info = png.Reader(filename=path).asDirect()
    bits = info["bitdepth"]
    planes = info["planes"]
    alpha = info["alpha"]
    gray = info["greyscale"]
    out = []
    for row in pixels:
        row = list(row)
        for x in range(w):
            px = row[x * planes:(x + 1) * planes]
            colour = [px[0]] * 3 if gray else px[:3]
            if alpha and bits == 16:
                # Exact blend at 16-bit precision, rounded once.
                a = px[-1]
                den = 65535 * 65535
                for c, b in zip(colour, bg):
                    num = c * a * 255 + b * (65535 - a) * 65535
                    out.append((2 * num + den) // (2 * den))
                continue
            rgb = [to8(v, bits) for v in colour]
            a = to8(px[-1], bits) if alpha else 255
            out.extend((c * a + b * (255 - a) + 127) // 255 for c, b in zip(rgb, bg))
    return w, h, out


def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20261122)
    cases = []
    W, H = 7, 5
    for bits in (1, 2, 4, 8, 16):
        cases.append((f"gray{bits}", dict(greyscale=True, alpha=False, bitdepth=bits), 1, W, H, False))
    for bits in (8, 16):
        cases.append((f"graya{bits}", dict(greyscale=True, alpha=True, bitdepth=bits), 2, W, H, False))
        cases.append((f"rgb{bits}", dict(greyscale=False, alpha=False, bitdepth=bits), 3, W, H, False))
        cases.append((f"rgba{bits}", dict(greyscale=False, alpha=True, bitdepth=bits), 4, W, H, False))
    cases.append(("gray8_interlaced", dict(greyscale=True, alpha=False, bitdepth=8), 1, 11, 9, True))
    cases.append(("rgb8_interlaced", dict(greyscale=False, alpha=False, bitdepth=8), 3, 11, 9, True))
    cases.append(("rgba16_interlaced", dict(greyscale=False, alpha=True, bitdepth=16), 4, 11, 9, True))
    cases.append(("rgb16_interlaced", dict(greyscale=False, alpha=False, bitdepth=16), 3, 11, 9, True))
    cases.append(("graya16_interlaced", dict(greyscale=True, alpha=True, bitdepth=16), 2, 11, 9, True))
    cases.append(("rgba8_interlaced", dict(greyscale=False, alpha=True, bitdepth=8), 4, 11, 9, True))

    expected = {}
    for name, kw, planes, w, h, interlace in cases:
        maxval = (1 << kw["bitdepth"]) - 1
        rows = rows_of(w, h, planes, maxval, rng)
        path = os.path.join(OUT, f"png_{name}.png")
        with open(path, "wb") as f:
            png.Writer(w, h, interlace=interlace, **kw).write(f, rows)

    # Gray and RGB with a tRNS colour key.
    for name, gray in (("gray8_trns", True), ("rgb8_trns", False)):
        planes = 1 if gray else 3
        rows = rows_of(W, H, planes, 255, rng)
        key = tuple(rows[1][0:planes])
        path = os.path.join(OUT, f"png_{name}.png")
        with open(path, "wb") as f:
            png.Writer(W, H, greyscale=gray, bitdepth=8, transparent=key[0] if gray else key).write(f, rows)
        cases.append((name, None, planes, W, H, False))

    # Palettes: 8-bit without tRNS, 4-bit without, 8-bit with tRNS (partial alpha), 2-bit interlaced.
    for name, bits, with_alpha, interlace in (("palette8", 8, False, False), ("palette4", 4, False, False),
                                              ("palette8_trns", 8, True, False), ("palette2_interlaced", 2, False, True)):
        n = 1 << bits if bits < 8 else 20
        if with_alpha:
            pal = [(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255), a)
                   for a in [0, 255, 128, 1, 254] + [rng.randint(0, 255) for _ in range(n - 5)]]
        else:
            pal = [(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)) for _ in range(n)]
        w, h = (11, 9) if interlace else (W, H)
        rows = [[rng.randint(0, n - 1) for _ in range(w)] for _ in range(h)]
        rows[0][:min(w, n)] = list(range(min(w, n)))
        path = os.path.join(OUT, f"png_{name}.png")
        with open(path, "wb") as f:
            png.Writer(w, h, palette=pal, bitdepth=bits, interlace=interlace).write(f, rows)
        cases.append((name, None, 1, w, h, interlace))

    for name, *_ in cases:
        path = os.path.join(OUT, f"png_{name}.png")
        w, h, white = expected_from_reference(path, (255, 255, 255))
        _, _, black = expected_from_reference(path, (0, 0, 0))
        expected[name] = {"width": w, "height": h, "white": white, "black": black}

    # Cross-check the opaque 8-bit (and lower) cases with Pillow.
    try:
        from PIL import Image
        for name, e in expected.items():
            im = Image.open(os.path.join(OUT, f"png_{name}.png"))
            if "16" in name or im.mode in ("RGBA", "LA", "PA") or "trns" in name or "transparency" in im.info:
                continue
            got = list(im.convert("RGB").tobytes())
            assert got == e["white"], f"Pillow disagrees on {name}"
    except ImportError:
        print("Pillow not installed: skipped the cross-check")

    with open(os.path.join(OUT, "png_expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"), sort_keys=True)

    # A header that claims 50000 x 50000 RGB pixels, with a one-row IDAT.
    ihdr = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * 30)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    with open(os.path.join(OUT, "png_huge_header.png"), "wb") as f:
        f.write(data)
    print(f"wrote {len(expected)} PNG cases + png_huge_header.png to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
