"""Speed of repairtext's segmenter against smsutil's split, on the same texts in the same run.

Every outbound text is counted (for credits) and split, often several times (preview as the user types, queue,
send), so the segmenter must stay cheap. The target: at least 5x smsutil.split, which ignores grapheme
clusters and so does strictly less work. The texts are 300 characters, seeded, a third each: plain GSM-7,
GSM-7 with extension characters (2 septets each), and UCS-2 with emoji (plain, VS16, skin tones, ZWJ
families, flags) and curly punctuation. Prints figures; asserts nothing.

    .venv/bin/python bench/segments_bench.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import smsutil  # noqa: E402
from _support import emit  # noqa: E402

from repairtext.domain.segments import count_segments, split_segments  # noqa: E402

TEXT_LENGTH = 300
TEXTS_PER_KIND = 100
ROUNDS = 20

SENTENCE = ("your repair is ready for pickup at the shop today thanks we replaced screen battery phone laptop "
            "ticket estimate approved parts arrived call us back Café Øster Ålesund Ç §12 £40 ¥ Δ 5pm @ #1234 "
            "open until 6 é è à ü ñ")
WORDS = SENTENCE.split()
EXTENSION_WORDS = ("{ticket}", "[done]", "€120", "~5pm", "a|b", "^", "\\", "{name}")
EMOJI = ("😀", "👍", "👍🏽", "❤️", "✅", "🔧", "📱", "👨‍👩‍👧", "🇺🇸", "🙏🏼", "💻", "⚡")
UNICODE_PUNCTUATION = ("“", "”", "’", "–", "…")


def text_of(rng: random.Random, extras: tuple[str, ...], extra_share: float) -> str:
    words = []
    while len(" ".join(words)) < TEXT_LENGTH:
        words.append(rng.choice(extras) if rng.random() < extra_share else rng.choice(WORDS))
    return " ".join(words)[:TEXT_LENGTH]


def sample_texts() -> list[str]:
    rng = random.Random(20261127)
    texts = [text_of(rng, (), 0.0) for _ in range(TEXTS_PER_KIND)]
    texts += [text_of(rng, EXTENSION_WORDS, 0.1) for _ in range(TEXTS_PER_KIND)]
    texts += [text_of(rng, EMOJI + UNICODE_PUNCTUATION, 0.15) for _ in range(TEXTS_PER_KIND)]
    return texts


def texts_per_second(function, texts: list[str]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):  # best of several rounds: the figure least disturbed by the rest of the machine
        started = time.perf_counter()
        for text in texts:
            function(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def main() -> int:
    texts = sample_texts()
    ucs2 = sum(count_segments(t).encoding == "UCS-2" for t in texts)
    print(f"{len(texts)} texts of {TEXT_LENGTH} characters ({ucs2} UCS-2), best of {ROUNDS} rounds")
    theirs = texts_per_second(smsutil.split, texts)
    figures = {"split_segments": texts_per_second(split_segments, texts),
               "count_segments": texts_per_second(count_segments, texts)}
    print(f"  smsutil.split   {theirs:>12,.0f} texts/s")
    for name, ours in figures.items():
        print(f"  {name:<15} {ours:>12,.0f} texts/s  {ours / theirs:5.1f}x smsutil.split")
    ratios = {}
    for kind, chunk in (("GSM-7", texts[:TEXTS_PER_KIND]), ("GSM-7 + extension", texts[TEXTS_PER_KIND:-TEXTS_PER_KIND]),
                        ("UCS-2 + emoji", texts[-TEXTS_PER_KIND:])):
        ratio = texts_per_second(split_segments, chunk) / texts_per_second(smsutil.split, chunk)
        print(f"  split_segments on {kind:<18} {ratio:5.1f}x smsutil.split")
        ratios[kind] = round(ratio, 2)
    differing = sum(count_segments(t).segments != len(smsutil.split(t).parts) for t in texts)
    print(f"  segment counts that differ from smsutil (grapheme clusters kept whole): {differing}/{len(texts)}")
    emit("segments_bench", {"smsutil_split_per_s": round(theirs),
                            **{f"{k}_per_s": round(v) for k, v in figures.items()},
                            **{f"{k}_vs_smsutil": round(v / theirs, 2) for k, v in figures.items()},
                            "split_segments_vs_smsutil_by_kind": ratios, "counts_differing": differing})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
