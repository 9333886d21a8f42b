"""The clip worth posting: a span of about the asked length that starts and ends on sentence boundaries, chosen
for dense speech, an energetic delivery and a strong opening (a sentence that begins after a pause). Pure.

Also the spans the user names: "the 30 seconds from 1:20", "first minute", "trim to 45 s".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nemo_local.speech.words import Word

SENTENCE_END = re.compile(r"[.?!。？！…]$")
PAUSE_S = 0.45             # a pause before a sentence this long makes a clean, strong opening
SLACK = 0.15               # a chosen span may be this much shorter or longer than asked


@dataclass
class Span:
    start: float
    end: float
    why: str


def sentences(words: list[Word]) -> list[tuple[float, float, int]]:
    """(start, end, words) of each sentence: a word ending in . ? ! closes one."""
    out, first = [], 0
    for k, word in enumerate(words):
        if SENTENCE_END.search(word.text) or k == len(words) - 1:
            out.append((words[first].start, word.end, k - first + 1))
            first = k + 1
    return out


def clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def best(words: list[Word], loudness_db: np.ndarray, rate: float, length: float, duration: float) -> Span | None:
    """The best span of about `length` seconds; `loudness_db` is the audio's level at `rate` values a second.
    None when the speech is shorter than asked (the whole file is the clip then)."""
    parts = sentences(words)
    if not parts or duration <= length * (1 + SLACK):
        return None
    voiced = loudness_db[loudness_db > loudness_db.max() - 40] if len(loudness_db) else loudness_db
    typical = float(np.median(voiced)) if len(voiced) else 0.0
    rate_all = len(words) / max(1.0, parts[-1][1] - parts[0][0])
    choice: tuple[float, Span] | None = None
    for i, (start, _, _) in enumerate(parts):
        count = 0
        for j in range(i, len(parts)):
            end = parts[j][1]
            count += parts[j][2]
            span = end - start
            if span > length * (1 + SLACK):
                break
            if span < length * (1 - SLACK):
                continue
            density = count / span
            level = loudness_db[int(start * rate): max(int(start * rate) + 1, int(end * rate))]
            energy = float(np.mean(level)) - typical if len(level) else 0.0
            gap = start - parts[i - 1][1] if i > 0 else start
            opening = 1.0 if gap >= PAUSE_S or i == 0 else 0.0
            fit = 1 - abs(span - length) / length
            score = density / rate_all + 0.15 * energy + 0.5 * opening + fit
            if choice is None or score > choice[0]:
                reasons = [f"{density:.1f} words a second (the whole file: {rate_all:.1f})"]
                if energy > 0.5:
                    reasons.append(f"delivered {energy:.1f} dB louder than usual")
                if opening:
                    reasons.append("it opens on a fresh sentence after a pause")
                why = f"{clock(start)}-{clock(end)}, starting and ending on a sentence: " + "; ".join(reasons)
                choice = (score, Span(max(0.0, start - 0.15), min(duration, end + 0.3), why))
    return choice[1] if choice else None


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "fifteen": 15, "twenty": 20,
                "thirty": 30, "forty": 40, "forty-five": 45, "sixty": 60, "ninety": 90, "a": 1, "half a": 0.5}
AMOUNT = r"(\d+(?:\.\d+)?|one|two|three|four|five|ten|fifteen|twenty|thirty|forty-five|forty|sixty|ninety|half a|a)"
UNIT = r"(s|secs?|seconds?|min|mins|minutes?)"
BEST = re.compile(rf"\b(?:the )?(?:best|most (?:interesting|exciting)|strongest|top) {AMOUNT}[ -]?{UNIT}\b")
FROM = re.compile(rf"\b(?:the )?{AMOUNT}[ -]?{UNIT} (?:from|starting at|after) (\d{{1,2}}):(\d{{2}})\b")
FIRST = re.compile(rf"\b(?:the )?first {AMOUNT}?[ -]?{UNIT}\b")
TRIM = re.compile(rf"\b(?:trim|cut|shorten) (?:it |the \w+ )?to {AMOUNT}[ -]?{UNIT}\b")


def seconds(amount: str, unit: str) -> float:
    value = float(NUMBER_WORDS.get(amount, 0) or amount) if amount else 1.0
    return value * (60 if unit.startswith("min") else 1)


def asked(lowered: str) -> tuple[str, float, float] | None:
    """What span the words ask for: ("best", 0, length), or ("at", start, length); None if none."""
    found = BEST.search(lowered)
    if found:
        return "best", 0.0, seconds(found[1], found[2])
    found = FROM.search(lowered)
    if found:
        return "at", int(found[3]) * 60 + int(found[4]), seconds(found[1], found[2])
    found = FIRST.search(lowered)
    if found:
        return "at", 0.0, seconds(found[1] or "1", found[2])
    found = TRIM.search(lowered)
    if found:
        return "at", 0.0, seconds(found[1], found[2])
    return None
