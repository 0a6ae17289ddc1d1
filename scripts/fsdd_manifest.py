"""Writes a speech manifest (path<TAB>transcript, absolute paths) of raw FSDD
recordings, chosen by speaker, so that speech recipes can train and validate
on the isolated clips as they were recorded (no added silence), beside the
joined sequences of `recur data digits`. Optionally appends the rows of other
manifests (their relative paths made absolute), to build one validation file
that mixes isolated clips and sequences.

Usage: python3 scripts/fsdd_manifest.py FSDD_DIR OUT.tsv --speakers theo [--every 1] [--append other.tsv ...]
"""
import argparse
import os
import re

WORDS = "zero one two three four five six seven eight nine".split()

p = argparse.ArgumentParser()
p.add_argument("fsdd", help="the FSDD folder (with recordings/ inside) or its recordings folder")
p.add_argument("out")
p.add_argument("--speakers", required=True, help="comma-separated speaker names")
p.add_argument("--every", type=int, default=1, help="keep every N-th clip of each digit and speaker")
p.add_argument("--append", nargs="*", default=[], help="manifests whose rows are added after the clips")
a = p.parse_args()

rec = os.path.join(a.fsdd, "recordings")
if not os.path.isdir(rec):
    rec = a.fsdd
speakers = set(a.speakers.split(","))
pattern = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
rows = []
for name in sorted(os.listdir(rec)):
    m = pattern.match(name)
    if m and m.group(2) in speakers and int(m.group(3)) % a.every == 0:
        rows.append((os.path.abspath(os.path.join(rec, name)), WORDS[int(m.group(1))]))
if not rows:
    raise SystemExit(f"{rec}: no recordings of {a.speakers}")
for other in a.append:
    base = os.path.dirname(os.path.abspath(other))
    with open(other, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        pi, ti = header.index("path"), header.index("transcript")
        for line in f:
            cols = line.rstrip("\n").split("\t")
            rows.append((os.path.join(base, cols[pi]), cols[ti]))
tmp = a.out + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    f.write("path\ttranscript\n")
    f.writelines(f"{path}\t{text}\n" for path, text in rows)
os.replace(tmp, a.out)
print(f"{a.out}: {len(rows)} rows")
