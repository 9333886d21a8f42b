"""Plain lyrics placed on a song: each line's start and end, from the words the recogniser heard in the singing
(matched in order to the lyric's words), with the sung stretches of the track as the fallback where too little
was heard; and the user's corrections ("line 3 starts at 0:42", "shift the lyrics 0.3 s later"). Pure.

How sure the placing is goes back to the user: a line counts as heard when at least a third of its words were
matched where they were sung; the reply says how many lines were."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from nemo_local.analysis import Analysis
from nemo_local.analysis.features import BAND_HIGH, BAND_LOW, FEATURE_RATE, N_BANDS, runs
from nemo_local.speech.words import TOKENS, Word

HEARD_SHARE = 1 / 3         # of a line's words matched for the line to count as heard
SURE_SHARE = 0.6            # of the lines heard for the placing to count as sure
LETTER_S = (0.04, 0.16)     # the sung pace (seconds a letter) a line's unheard words are given, at least and most
GAP_S = 0.15                # between two lines


@dataclass
class Placed:
    """Where each line is sung, and how it was found."""

    spans: list[tuple[float, float]]         # (start, end) of each line, in seconds
    heard: int                               # lines placed by words heard in them

    @property
    def sure(self) -> bool:
        return bool(self.spans) and self.heard >= SURE_SHARE * len(self.spans)

    def said(self) -> str:
        if self.sure:
            return f"{self.heard} of {len(self.spans)} lines heard in the singing"
        if self.heard:
            return (f"only {self.heard} of {len(self.spans)} lines heard in the singing, the others spread over "
                    "the sung parts: check them")
        return "the singing could not be made out: the lines are spread over the sung parts, check them"


def _key(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def _widen(heard: list[Word], used: set[int], at: int, way: int, missing: int) -> tuple[float, int]:
    """From a line's first (way -1) or last (way 1) heard word, take in the words heard right next to it that
    matched nothing (misheard lyric words: "onto" for "on to"), as many letters as the line's unheard words there
    have; returns the time reached and how many of those letters are still unaccounted for."""
    edge = heard[at].start if way < 0 else heard[at].end
    j = at + way
    while missing > 0 and 0 <= j < len(heard) and j not in used:
        gap = heard[j + 1].start - heard[j].end if way < 0 else heard[j].start - heard[j - 1].end
        if gap > 0.4:
            break
        edge = heard[j].start if way < 0 else heard[j].end
        missing -= len(_key(heard[j].text)) or 1
        j += way
    return edge, max(0, missing)


def spread(weights: list[float], stretches: list[tuple[float, float]], lo: float, hi: float
           ) -> list[tuple[float, float]]:
    """Place items of these weights one after another over the sung stretches between lo and hi (all of lo-hi
    when none is sung there), each taking a share of sung time in proportion to its weight."""
    inside = [(max(a, lo), min(b, hi)) for a, b in stretches if b > lo and a < hi and min(b, hi) > max(a, lo)]
    if not inside:
        inside = [(lo, hi)]
    total = sum(b - a for a, b in inside)
    edges = np.cumsum([0.0, *weights]) / max(sum(weights), 1e-9) * total

    def at(amount: float, starting: bool) -> float:
        """Where `amount` seconds of sung time are reached; a start at a stretch's end begins the next one."""
        for a, b in inside:
            if amount < b - a or (not starting and amount <= b - a):
                return a + amount
            amount -= b - a
        return inside[-1][1]
    return [(at(float(edges[k]), True), max(at(float(edges[k]), True) + 0.2, at(float(edges[k + 1]), False) - GAP_S))
            for k in range(len(weights))]


def place(lines: list[str], heard: list[Word], sung: list[tuple[float, float]], duration: float) -> Placed:
    """Each lyric line's span: by the heard words matched in order to its words where enough were, the others
    spread over the sung stretches between their placed neighbours."""
    tokens = [(k, w) for k, line in enumerate(lines) for w in TOKENS.findall(line)]
    matcher = difflib.SequenceMatcher(a=[_key(w) for _, w in tokens], b=[_key(w.text) for w in heard], autojunk=False)
    matched: dict[int, list[tuple[int, int]]] = {}                # line -> (token index, heard index)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            matched.setdefault(tokens[block.a + i][0], []).append((block.a + i, block.b + i))
    used = {h for hits in matched.values() for _, h in hits}
    first_token = {k: next(i for i, (line, _) in enumerate(tokens) if line == k) for k in range(len(lines))
                   if any(line == k for line, _ in tokens)}
    spans: list[tuple[float, float] | None] = [None] * len(lines)
    for k, hits in matched.items():
        count = len(TOKENS.findall(lines[k]))
        if len(hits) < max(1, HEARD_SHARE * count):
            continue
        letters = [len(_key(tokens[i][1])) for i in range(first_token[k], first_token[k] + count)]
        head, foot = hits[0][0] - first_token[k], hits[-1][0] - first_token[k]
        between = sum(letters[head: foot + 1])                     # the line's pace where it was heard
        pace = min(LETTER_S[1], max(LETTER_S[0],
                                    (heard[hits[-1][1]].end - heard[hits[0][1]].start) / max(1, between)))
        start, lead = _widen(heard, used, hits[0][1], -1, sum(letters[:head]))   # letters sung before the first
        end, tail = _widen(heard, used, hits[-1][1], 1, sum(letters[foot + 1:]))  # ... and after the last heard
        spans[k] = (max(0.0, start - lead * pace), min(duration, end + tail * pace))
    heard_lines = sum(span is not None for span in spans)
    # keep the heard lines in order (a repeated chorus can match later words): drop one that starts before the
    # line before it
    last = -1.0
    for k, span in enumerate(spans):
        if span is not None:
            if span[0] < last:
                spans[k], heard_lines = None, heard_lines - 1
            else:
                last = span[1]
    k = 0
    while k < len(lines):
        if spans[k] is not None:
            k += 1
            continue
        j = k
        while j < len(lines) and spans[j] is None:
            j += 1
        previous = spans[k - 1] if k > 0 else None
        coming = spans[j] if j < len(lines) else None
        before = previous[1] + GAP_S if previous is not None else 0.0
        after = coming[0] - GAP_S if coming is not None else duration
        weights = [len(lines[i]) + 10.0 for i in range(k, j)]
        for i, span in zip(range(k, j), spread(weights, sung, before, max(before + 0.5 * (j - k), after)),
                           strict=True):
            spans[i] = span
        k = j
    placed = [span for span in spans if span is not None]
    return Placed([(round(a, 3), round(max(b, a + 0.3), 3)) for a, b in placed], heard_lines)


VOICE_LOW_HZ, VOICE_HIGH_HZ = 300.0, 3400.0


def sung_in(analysis: Analysis) -> list[tuple[float, float]]:
    """The stretches of a track where a voice is likely, from its analysis's band levels."""
    step = (BAND_HIGH / BAND_LOW) ** (1 / N_BANDS)
    low, high = (round(np.log(f / BAND_LOW) / np.log(step)) for f in (VOICE_LOW_HZ, VOICE_HIGH_HZ))
    return sung_stretches(analysis.bands, FEATURE_RATE, max(0, low), min(N_BANDS, high))


def sung_stretches(bands_db: np.ndarray, rate: float, low: int, high: int, min_s: float = 0.4
                   ) -> list[tuple[float, float]]:
    """Where a voice is likely: frames whose voice bands (`low`..`high`) stand 6 dB over their quiet level,
    smoothed over half a second; stretches shorter than `min_s` are dropped."""
    if not len(bands_db):
        return []
    voice = bands_db[:, low:high].mean(axis=1)
    width = max(1, int(rate * 0.5))
    smooth = np.convolve(voice, np.ones(width) / width, mode="same")
    active = smooth > np.percentile(smooth, 20) + 6
    return [(a / rate, b / rate) for a, b in runs(active) if (b - a) / rate >= min_s]


def corrected(spans: list[tuple[float, float]], starts: list[tuple[int, float]], shift: float
              ) -> list[tuple[float, float]]:
    """The user's corrections: every line shifted by `shift` seconds, then each (line number from 1, start)
    moves that line (keeping its length); the line before ends where it starts if it would overlap."""
    out = [(max(0.0, a + shift), max(0.0, b + shift)) for a, b in spans]
    for number, start in starts:
        k = number - 1
        if 0 <= k < len(out):
            a, b = out[k]
            out[k] = (start, start + (b - a))
            if k > 0 and out[k - 1][1] > start:
                out[k - 1] = (out[k - 1][0], max(out[k - 1][0] + 0.2, start - GAP_S))
    return out
