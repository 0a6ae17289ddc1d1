"""Writes the translation recipes' validation split as single-reference TSV
files (the first pair of each held-out English sentence, in file order), so
that `recur evaluate` can report sacreBLEU with one reference, as the PyTorch
anchors do. Reproduces Recur's seeded split (ValidationSplit: FNV-1a 64 of
the key mixed with SplitMix64, `valid_count` lowest keys held out) and its
length filter (words separated by spaces or tabs).

Usage: python3 scripts/valid_split.py PAIRS.tsv OUTDIR [--key en|fr] [--count 1000] [--seed 1] [--max-words 10]
"""
import argparse
import os

M = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def unit(key, seed):
    h = 0xCBF29CE484222325
    for b in key.encode():
        h ^= b
        h = (h * 0x100000001B3) & M
    return (mix(h ^ mix((seed + 0x9E3779B97F4A7C15) & M)) >> 11) * 2.0 ** -53


def words(s):
    return len([w for w in s.replace("\t", " ").split(" ") if w])


p = argparse.ArgumentParser()
p.add_argument("pairs")
p.add_argument("outdir")
p.add_argument("--count", type=int, default=1000)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--max-words", type=int, default=10)
p.add_argument("--key", choices=["en", "fr"], default="en",
               help="the side the split keys on: the recipe's source side (en for en-fr, fr for fr-en)")
a = p.parse_args()
rows = []
for line in open(a.pairs, encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    en, fr = f[0].strip(" "), f[1].strip(" ")
    if words(en) <= a.max_words and words(fr) <= a.max_words:
        rows.append((en, fr))
side = 0 if a.key == "en" else 1
held = set(sorted({r[side] for r in rows}, key=lambda k: (unit(k, a.seed), k))[: a.count])
seen, out = set(), []
for r in rows:
    if r[side] in held and r[side] not in seen:
        seen.add(r[side])
        out.append(r)
os.makedirs(a.outdir, exist_ok=True)
name = "en-fr-valid-1ref.tsv" if a.key == "en" else "fr-en-valid-1ref.tsv"
with open(os.path.join(a.outdir, name), "w", encoding="utf-8") as f:
    if a.key == "en":
        f.writelines(f"{en}\t{fr}\n" for en, fr in out)
    else:
        f.writelines(f"{fr}\t{en}\n" for en, fr in out)
print(f"{len(rows)} pairs after the length filter, {len(out)} validation sentences")
