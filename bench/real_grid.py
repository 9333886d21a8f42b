#!/usr/bin/env python3
"""Beat truth for steady recordings (bench/real_beats.py): the constant-tempo grid that the onsets of a whole
recording fit best, and whether the recording keeps it. Runs in the reference environment (bench/.reference,
librosa), never imports the skill, so neither beat tracker under test has a say in the truth.

    bench/.reference/bin/python bench/real_grid.py WAV JSON

Much game and electronic music is sequenced to a clock: its beats are a grid of one period from start to end.
The onset strength (librosa, 2.9 ms hops) is folded on candidate periods around librosa's tempo estimate; the
period and phase that gather the most onset on a +-10 ms comb are the grid. The recording is called steady when
each quarter of it, fitted alone, finds the same period (within 0.2 %) and puts its beats within 20 ms of the
whole grid's, and when the grid's beats gather more onset (1.2 times) than the off-beats between them (eighth
notes fill those). The JSON:
{"steady": bool, "period": s, "phase": s, "bpm": float, "quarters": [...], "on_off": float, "start": s, "end": s}
(start and end: the first and last moment within 40 dB of the recording's peak).
"""

from __future__ import annotations

import json
import sys

import librosa
import numpy as np

SR, HOP = 44100, 128
FPS = SR / HOP                  # 344.5 onset frames a second: 2.9 ms
COMB_S = 0.010                  # a beat gathers the onset within 10 ms of it
PERIOD_AGREE, PHASE_AGREE_S, ON_OFF = 0.002, 0.020, 1.2


def fold(onset: np.ndarray, times: np.ndarray, period: float) -> tuple[float, float]:
    """(onset gathered, phase in s) of the best phase for one period: the envelope folded into 1 ms phase bins,
    summed over a +-COMB_S window around each."""
    bins = max(8, round(period * 1000))
    where = np.floor((times % period) / period * bins).astype(np.int64) % bins
    folded = np.bincount(where, weights=onset, minlength=bins)
    width = round(COMB_S * 1000)
    comb = sum(np.roll(folded, k) for k in range(-width, width + 1))
    best = int(np.argmax(comb))
    return float(comb[best]), (best + 0.5) / bins * period


def best_grid(onset: np.ndarray, times: np.ndarray, centre: float, spread: float = 0.03) -> tuple[float, float, float]:
    """(period, phase, gathered) best on a coarse then a fine sweep of periods within `spread` of `centre`."""
    def sweep(low: float, high: float, count: int) -> tuple[float, float, float]:
        results = [(*fold(onset, times, p), p) for p in np.linspace(low, high, count)]
        gathered, phase, period = max(results)
        return period, phase, gathered
    period, _, _ = sweep(centre * (1 - spread), centre * (1 + spread), 601)
    step = 2 * spread * centre / 600
    return sweep(period - step, period + step, 41)


def on_off(onset: np.ndarray, times: np.ndarray, period: float, phase: float) -> float:
    """Onset within COMB_S of the grid's beats against onset within COMB_S of the points half-way between."""
    offset = (times - phase) % period
    near = np.minimum(offset, period - offset) <= COMB_S
    half = np.abs(offset - period / 2) <= COMB_S
    return float(onset[near].sum() / max(onset[half].sum(), 1e-9))


def onset_strength(y: np.ndarray, piece_s: float = 30.0, context_s: float = 1.0) -> np.ndarray:
    """librosa's onset strength at HOP, computed a piece at a time (with a second of context either side, cut
    off after) so that a long recording does not hold gigabytes of spectrogram."""
    piece, context = int(piece_s * FPS) * HOP, int(context_s * FPS) * HOP
    parts = []
    for start in range(0, len(y), piece):
        left = max(0, start - context)
        chunk = y[left: start + piece + context]
        strength = librosa.onset.onset_strength(y=chunk, sr=SR, hop_length=HOP)
        skip = (start - left) // HOP
        parts.append(strength[skip: skip + min(piece, len(y) - start) // HOP + (start + piece >= len(y))])
    return np.concatenate(parts)[: 1 + len(y) // HOP]


def main() -> None:
    wav, out = sys.argv[1], sys.argv[2]
    y, _ = librosa.load(wav, sr=SR, mono=True)
    onset = onset_strength(y)
    times = librosa.frames_to_time(np.arange(len(onset)), sr=SR, hop_length=HOP)
    coarse = librosa.onset.onset_strength(y=y, sr=SR, hop_length=512)     # the tempogram at HOP takes 20 GB
    bpm = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=coarse, sr=SR, hop_length=512))[0])
    period, phase, _ = best_grid(onset, times, 60.0 / bpm)
    quarters = []
    steady = on_off(onset, times, period, phase) >= ON_OFF
    for part in np.array_split(np.arange(len(onset)), 4):
        p, ph, _ = best_grid(onset[part], times[part], period, spread=0.01)
        middle = float(times[part].mean())
        beat = ph + np.round((middle - ph) / p) * p                 # the quarter's beat nearest its middle
        apart = (beat - phase) % period
        apart = float(min(apart, period - apart))
        quarters.append({"period": p, "apart_s": round(apart, 4)})
        steady &= abs(p / period - 1) <= PERIOD_AGREE and apart <= PHASE_AGREE_S
    loud = librosa.feature.rms(y=y, hop_length=512)[0]                   # 11.6 ms steps are fine for where
    heard = np.flatnonzero(loud > 10 ** (-40 / 20) * np.abs(y).max()) * 512 / SR
    with open(out, "w") as handle:
        json.dump({"start": float(heard[0]) if len(heard) else 0.0, "end": float(heard[-1]) if len(heard) else 0.0,
                   "steady": bool(steady), "period": period, "phase": phase, "bpm": 60.0 / period,
                   "librosa_bpm": bpm, "quarters": quarters, "on_off": on_off(onset, times, period, phase),
                   "duration": float(len(y) / SR)}, handle, indent=1)


if __name__ == "__main__":
    main()
