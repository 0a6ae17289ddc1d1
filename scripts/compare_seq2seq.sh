#!/usr/bin/env bash
# Seq2seq training speed, recur against PyTorch, one after the other on the same machine:
# `recur bench seq2seq` (release build) and ../shared/bench/baseline_seq2seq.py, the same
# shape (GRU, embedding and hidden 128, additive attention, batch 32, 10 target steps,
# vocabularies 4,500 and 2,900, 10,000 pairs), the same thread count.
#
#   scripts/compare_seq2seq.sh                 # 2 threads, 3 runs each
#   THREADS=1 RUNS=5 scripts/compare_seq2seq.sh
#   SCRATCH=.build-perf PYTHON=../venv-torch/bin/python3 scripts/compare_seq2seq.sh
#
# The machine's load is printed before each: timings on a shared 2-core machine
# move by 20-30 % with other work, so compare figures from the same sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
SCRATCH=${SCRATCH:-.build}
BASELINE=${BASELINE:-../shared/bench/baseline_seq2seq.py}

if [ -z "${PYTHON:-}" ]; then
    for p in python3 ../venv-torch/bin/python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch" 2>/dev/null; then PYTHON=$p; break; fi
    done
fi

swift build -c release --scratch-path "$SCRATCH" --product recur
BIN="$SCRATCH/release/recur"

echo "## recur ($(uptime | sed 's/.*load/load/'))"
"$BIN" bench seq2seq --threads "$THREADS" --runs "$RUNS"

if [ -z "${PYTHON:-}" ]; then
    echo "## PyTorch: no python3 with torch found (set PYTHON=...); skipped"
    exit 0
fi
echo "## PyTorch: $PYTHON $BASELINE ($(uptime | sed 's/.*load/load/'))"
"$PYTHON" "$BASELINE" --threads "$THREADS" --epochs "$RUNS"
