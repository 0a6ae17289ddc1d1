"""Writes the English sentences that `recur data speak` turns into espeak-ng speech
for speech-en: the English side of pairs.tsv, lowercased, punctuation other than
the apostrophe removed (speech does not say it), at most 8 words, no digits (the
transcript would not say what is spoken), each sentence once; a seeded sample cut
into a training list and a validation list that share no sentence.

    python3 scripts/speech_lines.py ../shared/data/eng-fra/pairs.tsv runs/data/en-lines --train 8000 --valid 300
writes runs/data/en-lines-train.txt and runs/data/en-lines-valid.txt.

--exclude FILE... leaves out every sentence that a line of those files gives
after the same normalisation, and --train 0 writes the validation list alone. A
test set that neither speech-en nor lm-en has read (for `--lm` fusion):

    python3 scripts/speech_lines.py runs/data/lm-en/valid.txt runs/data/lm-heldout --train 0 --valid 300 \
        --exclude runs/data/lm-en/train.txt runs/data/en-lines-train.txt"""
import argparse
import random
import re

ap = argparse.ArgumentParser()
ap.add_argument("pairs")
ap.add_argument("out_prefix")
ap.add_argument("--train", type=int, default=8000)
ap.add_argument("--valid", type=int, default=300)
ap.add_argument("--max-words", type=int, default=8)
ap.add_argument("--seed", type=int, default=11)
ap.add_argument("--exclude", nargs="*", default=[])
a = ap.parse_args()


def normalise(raw):
    """The spoken form of the first column of a line, or None (digits)."""
    en = raw.split("\t")[0].strip().lower()
    en = en.replace("\u2019", "'")
    if re.search(r"[0-9]", en):
        return None
    en = re.sub(r"[^a-z' ]+", " ", en)
    en = " ".join(w.strip("'") for w in en.split())
    return " ".join(en.split())


excluded = set()
for path in a.exclude:
    with open(path, encoding="utf-8") as f:
        excluded.update(normalise(raw) for raw in f)

seen, lines = set(), []
with open(a.pairs, encoding="utf-8") as f:
    for raw in f:
        en = normalise(raw)
        if not en or len(en.split()) > a.max_words or en in seen or en in excluded:
            continue
        seen.add(en)
        lines.append(en)

random.Random(a.seed).shuffle(lines)
need = a.train + a.valid
if len(lines) < need:
    raise SystemExit(f"only {len(lines)} sentences, {need} asked for")
if a.valid > 0:
    with open(a.out_prefix + "-valid.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:a.valid]) + "\n")
if a.train > 0:
    with open(a.out_prefix + "-train.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(lines[a.valid:need]) + "\n")
written = [f"{n} to {a.out_prefix}-{part}.txt" for n, part in ((a.valid, "valid"), (a.train, "train")) if n > 0]
print(f"{len(lines)} sentences; " + ", ".join(written))
