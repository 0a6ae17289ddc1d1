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

# Spoken digit sequences, what the shipped speech-en model knows.
espeak-ng -v en-us -s 150 -w samples/speech/digits-1.wav "three one four"
espeak-ng -v en-gb -s 140 -w samples/speech/digits-2.wav "nine five"

# Three scenes from Recur's own scene generator (a seed never used for training).
RECUR=${RECUR:-.build/release/recur}
tmp=$(mktemp -d)
"$RECUR" data shapes --count 3 --out "$tmp" --seed 2026
mkdir -p samples/images
for i in 0 1 2; do cp "$tmp/images/0000$i.png" "samples/images/scene-$((i + 1)).png"; done
rm -rf "$tmp"
ls -l samples/images samples/speech
