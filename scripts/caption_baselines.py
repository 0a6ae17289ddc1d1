"""Caption baselines that need no captioning model, scored as `recur evaluate`
scores a caption model (CIDEr-D, COCO BLEU-4 via `recur score`), on the
held-out images of a training run (RUN/valid.tsv, written by `recur train`).

- constant: one caption for every image: of the training captions, the one
  with the best CIDEr-D on the training images themselves (chosen on training
  data only; the candidates are the 40 whose words are most common).
- nearest: the caption of the training image whose Recur grid features
  (`recur features image`, the settings the model used) are nearest (L2 on
  standardised features); of its captions, the one most like the others
  (COCO retrieval baselines pick the consensus caption this way).

Usage: python3 scripts/caption_baselines.py CAPTIONS.tsv MEDIA_ROOT RUN_DIR
           [--recur PATH] [--grid 7] [--size 112]
Needs numpy. Prints one line per baseline; writes the hypotheses to RUN_DIR/baselines/.
"""
import argparse
import collections
import json
import os
import subprocess
import sys

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("captions")
p.add_argument("media_root")
p.add_argument("run")
p.add_argument("--recur", default="recur")
p.add_argument("--grid", type=int, default=7)
p.add_argument("--size", type=int, default=112)
a = p.parse_args()

out = os.path.join(a.run, "baselines")
os.makedirs(out, exist_ok=True)

caps = collections.OrderedDict()
for line in open(a.captions, encoding="utf-8"):
    name, text = line.rstrip("\n").split("\t", 1)
    caps.setdefault(os.path.abspath(os.path.join(a.media_root, name)), []).append(text)
valid = collections.OrderedDict()
for line in open(os.path.join(a.run, "valid.tsv"), encoding="utf-8"):
    path, text = line.rstrip("\n").split("\t", 1)
    valid.setdefault(path, []).append(text)
train = [k for k in caps if k not in valid]
assert all(k in caps for k in valid), "valid.tsv names images that are not in the caption list"
print(f"{len(train)} training images, {len(valid)} held-out images", file=sys.stderr)


def write_refs(images, prefix):
    files = []
    for r in range(max(len(caps[i]) for i in images)):
        f = os.path.join(out, f"{prefix}.ref{r}")
        with open(f, "w", encoding="utf-8") as h:
            for i in images:
                h.write((caps[i][r] if r < len(caps[i]) else "") + "\n")
        files.append(f)
    return files


def score(metric, refs, hyps, name):
    f = os.path.join(out, name)
    with open(f, "w", encoding="utf-8") as h:
        h.write("\n".join(hyps) + "\n")
    args = [a.recur, "score", metric, "--hyp", f, "--json"]
    for r in refs:
        args += ["--ref", r]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


train_refs = write_refs(train, "train")
valid_refs = write_refs(list(valid), "valid")

# Constant caption: shortlist by mean document frequency of its words, pick by training CIDEr-D.
df = collections.Counter()
for i in train:
    df.update({w for c in caps[i] for w in c.lower().strip(".").split()})
pool = [c for i in train for c in caps[i]]
short = sorted(set(pool), key=lambda c: -np.mean([df[w] for w in c.lower().strip(".").split()] or [0]))[:40]
best = max(short, key=lambda c: score("cider", train_refs, [c] * len(train), "constant-train.txt")["score"])

# Nearest neighbour on the model's features.
feat_dir = os.path.join(out, "features")
subprocess.run([a.recur, "features", "image", *caps.keys(), "--grid", str(a.grid), "--size", str(a.size),
                "--out-dir", feat_dir], check=True, capture_output=True)


def load(path):
    return np.load(os.path.join(feat_dir, os.path.splitext(os.path.basename(path))[0] + ".npy")).ravel()


X = np.stack([load(i) for i in train])
mu, sd = X.mean(0), X.std(0) + 1e-6
X = (X - mu) / sd


def consensus(texts):
    sets = [set(t.lower().strip(".").split()) for t in texts]
    return texts[max(range(len(texts)), key=lambda k: sum(len(sets[k] & sets[j]) / max(len(sets[k] | sets[j]), 1)
                                                            for j in range(len(texts)) if j != k))]


nearest = []
for i in valid:
    d = ((X - (load(i) - mu) / sd) ** 2).sum(1)
    nearest.append(consensus(caps[train[int(d.argmin())]]))

for name, hyps in [("constant", [best] * len(valid)), ("nearest", nearest)]:
    c = score("cider", valid_refs, hyps, name + ".txt")
    b = score("caption-bleu", valid_refs, hyps, name + ".txt")
    print(f"{name:9s} CIDEr-D {c['score']:.4f}  BLEU-1..4 " + " ".join(f"{x:.3f}" for x in b["bleu"])
          + (f"  ({best})" if name == "constant" else ""))
