"""Joins speech manifests (tab-separated, a header with `path` and `transcript`) into
one, keeping those two columns; relative paths are rewritten relative to the
output's folder (absolute ones stay).

    python3 scripts/join_manifests.py runs/data/speech-en-valid.tsv runs/data/speech-valid.tsv runs/data/espeak-en-valid/transcripts.tsv"""
import csv
import os
import sys

if len(sys.argv) < 3:
    raise SystemExit("usage: join_manifests.py OUT.tsv IN.tsv...")
out = sys.argv[1]
out_dir = os.path.dirname(os.path.abspath(out))
rows = []
for name in sys.argv[2:]:
    in_dir = os.path.dirname(os.path.abspath(name))
    with open(name, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if "path" not in reader.fieldnames or "transcript" not in reader.fieldnames:
            raise SystemExit(f"{name}: the header needs path and transcript columns")
        for r in reader:
            p = r["path"]
            if not os.path.isabs(p):
                p = os.path.relpath(os.path.join(in_dir, p), out_dir)
            rows.append((p, r["transcript"]))
tmp = out + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    f.write("path\ttranscript\n")
    for p, t in rows:
        f.write(f"{p}\t{t}\n")
os.replace(tmp, out)
print(f"{out}: {len(rows)} rows from {len(sys.argv) - 2} manifests")
