"""Timed words: what the recogniser, the user's files and the captions all speak in, and the units Chinese text is
lit in (a character each). Pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

RATE = 16_000             # samples a second of the audio the recogniser and the aligner hear
HAN = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKENS = re.compile(rf"[{HAN}][，。！？、；：,.!?]*|[^\s{HAN}]+")   # a Chinese character each (with its punctuation),
                                                                # else runs without spaces


@dataclass
class Word:
    start: float          # seconds
    end: float
    text: str             # as spoken, with its punctuation, no surrounding spaces
    probability: float = 1.0


def characters(words: list[Word]) -> list[Word]:
    """Chinese (and Japanese) text lit a character at a time: a heard word of several such characters becomes
    one word per character (with its punctuation), sharing the word's time evenly. Other words pass through."""
    out: list[Word] = []
    for w in words:
        tokens = TOKENS.findall(w.text) if re.search(f"[{HAN}]", w.text) else [w.text]
        if len(tokens) <= 1:
            out.append(w)
            continue
        step = (w.end - w.start) / len(tokens)
        out += [Word(round(w.start + k * step, 3), round(w.start + (k + 1) * step, 3), token, w.probability)
                for k, token in enumerate(tokens)]
    return out


ENVELOPE_S = 0.01


def tighten(words: list[Word], samples: np.ndarray, rate: int = RATE) -> list[Word]:
    """Whisper's word times run into the silence around speech (a first word starting at 0, a last word ending
    a second late). Move each start forward and each end back to where the audio is audible, never past the
    word's own middle."""
    hop = int(rate * ENVELOPE_S)
    frames = len(samples) // hop
    if frames == 0 or not words:
        return words
    envelope = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    floor = np.percentile(envelope, 10)
    audible = envelope > max(floor * 4, envelope.max() * 0.03, 1e-4)
    out = []
    for w in words:
        a, b = int(w.start / ENVELOPE_S), min(frames, int(np.ceil(w.end / ENVELOPE_S)))
        middle = (a + b) // 2
        heard = np.flatnonzero(audible[a:b]) + a
        if len(heard):
            a = min(int(heard[0]), middle)
            b = max(int(heard[-1]) + 1, middle + 1)
        out.append(Word(round(a * ENVELOPE_S, 3), round(max(a + 1, b) * ENVELOPE_S, 3), w.text, w.probability))
    return out
