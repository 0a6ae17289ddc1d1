#!/usr/bin/env python3
"""Writes the metric fixtures for Tests/RecurTrainingTests (Metric*Tests).

Run from the repository root with a Python that has the reference packages:

    pip install sacrebleu jiwer pycocoevalcap
    python scripts/make_metric_fixtures.py

Every expected number is computed by the reference implementation itself:

  metrics_text.json     per case: hypotheses, reference streams, and
                        sacrebleu's corpus BLEU (score, counts, totals,
                        lengths, brevity penalty, signature), sentence BLEU
                        (sacrebleu.sentence_bleu defaults), the 13a tokens of
                        every line, corpus and sentence chrF (CHRF defaults)
                        and chrF++ (word_order=2), and jiwer's WER and CER
                        (default transforms) against the first reference.
  metrics_caption.json  per case: pre-tokenized captions (one hypothesis,
                        several references per image) and pycocoevalcap's
                        Bleu(4) (corpus BLEU-1..4 with the "closest" reference
                        length, and per image) and Cider (CIDEr-D: n=4,
                        sigma=6, clipping, x10, idf from the references).
                        The captions are given already tokenized (lower case,
                        no punctuation), which is what pycocoevalcap's
                        scorers receive after its Java PTBTokenizer; the
                        scorers themselves only split on whitespace.
                        `ptb_tokenized`: raw captions and what that
                        PTBTokenizer (Stanford CoreNLP 3.4.1, needs `java`)
                        plus pycocoevalcap's punctuation filter makes of
                        them, for CaptionMetrics.cocoTokenize.

Lines are passed to sacrebleu after `rstrip()`, as its command line does.
"""
import json
import os
from importlib.metadata import version

import jiwer
import sacrebleu
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RecurTrainingTests", "Fixtures")

TEXT_CASES = [
    {
        "name": "english",
        "hyps": [
            "The cat sat on a mat.",
            "Hello, world",
            "It's 5 o'clock and the dog isn't here!",
            "We paid $3,000.50 for it (roughly).",
            "the quick brown fox jumps over the lazy dog",
        ],
        "refs": [[
            "The cat sat on the mat.",
            "Hello world!",
            "It is five o'clock and the dog is not here.",
            "We paid $3,000.50 for it, roughly.",
            "The quick brown fox jumped over the lazy dog.",
        ]],
    },
    {
        "name": "french",
        "hyps": [
            "L'homme a mangé 3,5 kg de pommes à Noël.",
            "« Où est-elle ? » demanda-t-il.",
            "Il y a 20-30 élèves dans la classe, n'est-ce pas ?",
            "Je n'aime pas les épinards…",
            "Ça coûte 1.000 €, c'est cher !",
        ],
        "refs": [[
            "L'homme a mangé 3,5 kg de pommes à Noël.",
            "« Où est-elle ? » a-t-il demandé.",
            "Il y a entre 20 et 30 élèves dans la classe, n'est-ce pas ?",
            "Je n'aime pas du tout les épinards...",
            "Ça coûte 1 000 €, c'est trop cher !",
        ]],
    },
    {
        "name": "empty_hypotheses",
        "hyps": ["", "a small house", "", "the end"],
        "refs": [["There is nothing here.", "A small house.", "Nothing.", "The end."]],
    },
    {
        "name": "all_empty_hypotheses",
        "hyps": ["", ""],
        "refs": [["one two three", "four five"]],
    },
    {
        "name": "longer_hypotheses",
        "hyps": [
            "the cat is sitting on the mat in the house near the big window today",
            "hello hello hello hello world world",
            "yes yes yes yes yes yes yes",
        ],
        "refs": [["the cat is on the mat", "hello world", "yes"]],
    },
    {
        "name": "multiple_references",
        "hyps": [
            "It is a guide to action which ensures that the military always obeys the commands of the party.",
            "he read the book because he was interested in world history",
            "the cat sat",
            "",
        ],
        "refs": [
            [
                "It is a guide to action that ensures that the military will forever heed Party commands.",
                "he was interested in world history because he read the book",
                "the cat sat on the mat",
                "nothing",
            ],
            [
                "It is the guiding principle which guarantees the military forces always being under the command of the Party.",
                "he read the book because he was interested in world history",
                "a cat was sitting",
                "",
            ],
            [
                "It is the practical guide for the army always to heed the directions of the party.",
                "because he was interested in world history he read the book",
                "there sat the cat",
                "none at all",
            ],
        ],
    },
    {
        "name": "unicode",
        "hyps": [
            "Grüße aus Köln — schön, dass du da bist!",
            "東京は大きい都市です。",
            "I ❤️ naïve café crème 😀 ok",
            "e\u0301te\u0301 (decomposed accents)",
            "non\u00a0breaking\u2009spaces  and   runs\tof\twhitespace   ",
            "“curly quotes” and ‘single’ ones",
        ],
        "refs": [[
            "Grüße aus Köln – schön, dass du hier bist!",
            "東京は大都市です。",
            "I ❤️ naive café crème 😀 okay",
            "\u00e9t\u00e9 (decomposed accents)",
            "non breaking spaces and runs of whitespace",
            "\"curly quotes\" and 'single' ones",
        ]],
    },
    {
        "name": "tokenizer_edges",
        "hyps": [
            "AT&amp;T said &quot;hi&quot; &lt;b&gt; <skipped> ok",
            "e.g. U.S.A. costs $5.00, i.e. 1.5% or 3,000 - 20-30 x-1 5-6",
            "[a]{b}|c~d^e_f`g\\h@i?j=k<l>m;n:o/p+q*r)s(t'u\"v#w!x",
            "end... and ,,, then .5 and 5. and .,.,",
            "a-\nb line-\nbreak",
        ],
        "refs": [[
            "AT&T said \"hi\" <b> ok",
            "e.g. U.S.A. costs $5.00, i.e. 1.5 % or 3,000 - 20 - 30 x-1 5-6",
            "[a] {b} | c ~ d ^ e _ f ` g \\ h @ i ? j = k < l > m ; n : o / p + q * r ) s ( t ' u \" v # w ! x",
            "end ... and , , , then . 5 and 5 . and . , . ,",
            "ab linebreak",
        ]],
    },
]

# Pre-tokenized captions (lower case, punctuation removed, as after the PTB tokenizer).
CAPTION_CASES = [
    {
        "name": "coco_like",
        "hyps": [
            "a man riding a wave on top of a surfboard",
            "a plate of food with broccoli and meat",
            "two dogs playing in the snow",
            "a red double decker bus driving down a street",
        ],
        "refs": [
            [
                "a man on a surfboard riding a wave",
                "a surfer riding a large wave in the ocean",
                "a person riding a surf board on a wave",
                "a man is surfing on a big wave",
                "surfer in a black wetsuit riding a wave",
            ],
            [
                "a plate with broccoli and some meat on it",
                "a white plate topped with meat and vegetables",
                "food on a plate including broccoli",
                "a dinner plate with beef and broccoli",
                "a meal of meat and broccoli on a plate",
            ],
            [
                "two dogs play together in the snow",
                "a pair of dogs running through snow",
                "two brown dogs are playing in the snow",
                "dogs wrestling in a snowy field",
                "two dogs in the snow",
            ],
            [
                "a red double decker bus on a city street",
                "a double decker bus drives down the road",
                "a large red bus driving down a street",
                "red bus in traffic on a busy street",
                "a tour bus driving past some buildings",
            ],
        ],
    },
    {
        "name": "variable_refs_and_lengths",
        "hyps": [
            "a cat",
            "a very long caption that goes on and on about a cat sitting on a mat in a room",
            "",
            "a bird on a branch",
            "the the the the",
        ],
        "refs": [
            ["a cat sitting on a couch", "a small cat", "cat on a sofa"],
            ["a cat sitting on a mat"],
            ["an empty room", "a room with nothing in it"],
            ["a bird perched on a tree branch", "a small bird sitting on a branch", "a bird on a branch", "bird"],
            ["the cat", "a dog and the cat"],
        ],
    },
    {
        "name": "unicode_tokens",
        "hyps": ["un café crème sur une table", "deux chiens jouent dans la neige"],
        "refs": [
            ["un café crème posé sur une table", "une tasse de café sur la table"],
            ["deux chiens qui jouent dans la neige", "des chiens dans la neige", "deux chiens jouent"],
        ],
    },
]


# Raw captions for the tokenizer comparison (run through pycocoevalcap's PTBTokenizer, Java).
RAW_CAPTIONS = [
    "A man riding a wave on top of a surfboard.",
    "A dog's toy, lying on the grass!",
    "Two \"big\" dogs (brown and white) playing in the snow.",
    "The cat doesn't like the water; it's wet.",
    "A woman can't find her keys -- she's looking everywhere...",
    "People are standing around a table, eating food.",
    "A red, double-decker bus drives down the street?",
    "An x-ray of a person's hand shows 5 fingers.",
    "There are 3.5 pizzas and 1,000 people: what a party!",
    "I'm sure they're happy, we've seen it, he'll go, I'd say.",
    "A sign reads 'STOP' at the corner.",
    "  Many   spaces\tand tabs   here .  ",
    "A group of people [some wearing hats] at a concert.",
    "A plate with {broccoli} and meat",
    "A BLUE TRAIN ON THE TRACKS",
    "café crème on a table.",
    "A man in a red shirt - holding an umbrella",
    "Kids play soccer at the park",
    "It costs $5 or 50% off",
    "U.S.A. flag on a pole.",
    "Hello!!! What is this???",
    "A cat on a mat",
    "No mountain is so high as Mt. Everest.",
    "I cannot whistle, we're gonna win.",
    "Dr. Smith and Mr. Jones at the station on Main St.",
]


def text_case(case):
    hyps = [h.rstrip() for h in case["hyps"]]
    refs = [[r.rstrip() for r in stream] for stream in case["refs"]]
    bleu = BLEU()
    s = bleu.corpus_score(hyps, refs)
    sig = str(bleu.get_signature())
    sent = [sacrebleu.sentence_bleu(h, [stream[i] for stream in refs]).score for i, h in enumerate(hyps)]
    chrf = CHRF()
    c = chrf.corpus_score(hyps, refs)
    chrf_sig = str(chrf.get_signature())
    chrfpp = CHRF(word_order=2)
    cpp = chrfpp.corpus_score(hyps, refs)
    chrfpp_sig = str(chrfpp.get_signature())
    sent_chrf = [sacrebleu.sentence_chrf(h, [stream[i] for stream in refs]).score for i, h in enumerate(hyps)]
    tok = Tokenizer13a()
    out = {
        "name": case["name"],
        "hyps": hyps,
        "refs": refs,
        "bleu": {
            "score": s.score,
            "counts": list(s.counts),
            "totals": list(s.totals),
            "precisions": list(s.precisions),
            "bp": s.bp,
            "sys_len": s.sys_len,
            "ref_len": s.ref_len,
            "signature": sig,
            "formatted": s.format(width=1, signature=sig),
        },
        "sentence_bleu": sent,
        "chrf": {"score": c.score, "signature": chrf_sig, "name": c.name},
        "chrf_pp": {"score": cpp.score, "signature": chrfpp_sig, "name": cpp.name},
        "sentence_chrf": sent_chrf,
        "tokens_13a": [tok(line) for line in hyps + [r for stream in refs for r in stream]],
        "lines_13a": hyps + [r for stream in refs for r in stream],
    }
    # jiwer against the first reference stream (jiwer has one reference per line).
    first = refs[0]
    w = jiwer.process_words(first, hyps)
    out["wer"] = {"wer": w.wer, "hits": w.hits, "substitutions": w.substitutions,
                  "deletions": w.deletions, "insertions": w.insertions}
    ch = jiwer.process_characters(first, hyps)
    out["cer"] = {"cer": ch.cer, "hits": ch.hits, "substitutions": ch.substitutions,
                  "deletions": ch.deletions, "insertions": ch.insertions}
    return out


def caption_case(case):
    gts = {i: refs for i, refs in enumerate(case["refs"])}
    res = {i: [h] for i, h in enumerate(case["hyps"])}
    bleu, bleu_per = Bleu(4).compute_score(gts, res, verbose=0)
    cider, cider_per = Cider().compute_score(gts, res)
    return {
        "name": case["name"],
        "hyps": case["hyps"],
        "refs": case["refs"],
        "bleu": list(bleu),
        "bleu_per_image": [list(x) for x in zip(*bleu_per)],
        "cider": float(cider),
        "cider_per_image": [float(x) for x in cider_per],
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    text = {
        "sacrebleu_version": sacrebleu.__version__,
        "jiwer_version": version("jiwer"),
        "cases": [text_case(c) for c in TEXT_CASES],
    }
    # jiwer edge cases: empty references (all empty: jiwer returns the insertion count).
    edge = []
    for refs, hyps in [(["", "a b"], ["x", "a b"]), (["", ""], ["x y", "z"]), (["a  b\tc "], [" a b  c"])]:
        w = jiwer.process_words(refs, hyps)
        ch = jiwer.process_characters(refs, hyps)
        edge.append({"refs": refs, "hyps": hyps, "wer": w.wer, "cer": ch.cer})
    text["jiwer_edges"] = edge
    with open(os.path.join(OUT, "metrics_text.json"), "w", encoding="utf-8") as f:
        json.dump(text, f, ensure_ascii=False, indent=1)
        f.write("\n")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    ptb = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(RAW_CAPTIONS)})
    caption = {"pycocoevalcap_version": version("pycocoevalcap"),
               "ptb_tokenized": [{"raw": c, "tokens": ptb[i][0]} for i, c in enumerate(RAW_CAPTIONS)],
               "cases": [caption_case(c) for c in CAPTION_CASES]}
    with open(os.path.join(OUT, "metrics_caption.json"), "w", encoding="utf-8") as f:
        json.dump(caption, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
