"""Prints 600 seeded random digit sequences (1-4 digits, as words), one per
line: the text `recur data speak` turns into espeak-ng speech for speech-en."""
import random

r = random.Random(7)
words = "zero one two three four five six seven eight nine".split()
for _ in range(600):
    print(" ".join(r.choice(words) for _ in range(r.randint(1, 4))))
