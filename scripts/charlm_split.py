"""Writes the character-LM corpus split exactly as ../shared/bench/baseline_charlm.py
makes it (the English side of the pairs, deduplicated and sorted, shuffled with
Python's random.Random(1), the last 5 % of sentences for validation), as two
text files of one sentence per line, so that recipes/lm-en.yaml trains and
validates on the same sentences as the PyTorch baseline it is compared with.

Usage: python3 scripts/charlm_split.py ../shared/data/eng-fra/pairs.tsv OUTDIR
"""
import os
import random
import sys

pairs, out = sys.argv[1], sys.argv[2]
sents = sorted({l.split("\t")[0] for l in open(pairs, encoding="utf-8")})
random.Random(1).shuffle(sents)
cut = int(len(sents) * 0.95)
os.makedirs(out, exist_ok=True)
for name, part in (("train.txt", sents[:cut]), ("valid.txt", sents[cut:])):
    path = os.path.join(out, name)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(part) + "\n")
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(part)} sentences, {sum(len(s) + 1 for s in part)} characters")
