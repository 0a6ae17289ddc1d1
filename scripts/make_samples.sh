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
