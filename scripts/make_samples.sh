#!/usr/bin/env bash
# Regenerates the inputs in samples/ that the project makes itself.
# Needs espeak-ng (make deps installs it). Deterministic for a given espeak-ng version.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p samples/speech samples/text

# Sentences written for this project (not from any corpus).
cat > samples/text/en.txt <<'TXT'
the cat sleeps on the warm roof
we will meet at the station tomorrow
please open the window
TXT
cat > samples/text/fr.txt <<'TXT'
le chat dort sur le toit chaud
nous nous retrouverons à la gare demain
ouvre la fenêtre s'il te plaît
TXT

i=1
while IFS= read -r line; do
  espeak-ng -v en-us -s 150 -w "samples/speech/en-$i.wav" "$line"
  i=$((i + 1))
done < samples/text/en.txt
ls -l samples/speech samples/text

# A few PNG scenes drawn here with the standard library only (zlib + struct).
mkdir -p samples/images
python3 - <<'PY'
import struct, zlib
def png(path, w, h, draw):
    rows = []
    for y in range(h):
        row = bytearray([0])
        for x in range(w):
            row += bytes(draw(x, y))
        rows.append(bytes(row))
    raw = b"".join(rows)
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    data += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)
def scene(shapes, bg):
    def draw(x, y):
        for kind, cx, cy, r, col in shapes:
            if kind == "circle" and (x - cx) ** 2 + (y - cy) ** 2 <= r * r: return col
            if kind == "square" and abs(x - cx) <= r and abs(y - cy) <= r: return col
        return bg
    return draw
png("samples/images/red-circle-left-of-blue-square.png", 160, 120,
    scene([("circle", 45, 60, 25, (220, 30, 30)), ("square", 115, 60, 22, (30, 60, 220))], (235, 235, 225)))
png("samples/images/small-green-square.png", 160, 120,
    scene([("square", 80, 70, 12, (40, 170, 60))], (200, 215, 235)))
PY
ls -l samples/images
