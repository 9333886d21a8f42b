"""A synthetic music track with known beats and a known drop: for demos, tests and benchmarks."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Track:
    samples: np.ndarray          # mono float32 in [-1, 1]
    rate: int
    beats: np.ndarray            # beat times in seconds
    drop: float                  # the drop, in seconds
    tempo: float
    downbeats: np.ndarray | None = None   # bar starts in seconds (4 beats a bar, the drop on a bar's first beat)


CHORDS = ((220.0, 277.2, 329.6), (185.0, 220.0, 277.2), (293.7, 370.0, 440.0), (164.8, 207.7, 246.9))   # above 150 Hz


def _kick(rate: int, gain: float, low: float = 50.0) -> np.ndarray:
    """A kick sweeping down to `low` Hz (a high one is the thin, filtered kick of an intro)."""
    t = np.arange(int(0.25 * rate)) / rate
    freq = low + 2 * low * np.exp(-t * 30)
    return (gain * np.sin(2 * np.pi * np.cumsum(freq) / rate) * np.exp(-t * 14)).astype(np.float32)


def _noise_hit(rate: int, length: float, decay: float, gain: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(length * rate)) / rate
    return (gain * rng.standard_normal(len(t)) * np.exp(-t * decay)).astype(np.float32)


def beat_grid(seconds: float, bpm: float, bpm_after: float | None = None, change_at: float = 0.0) -> np.ndarray:
    """Beat times at `bpm`, switching to `bpm_after` at the first beat after `change_at`."""
    times, t = [], 0.0
    while t < seconds - 0.05:
        times.append(t)
        t += 60.0 / (bpm_after if bpm_after and t >= change_at else bpm)
    return np.array(times)


def demo_track(seconds: float = 20.0, bpm: float = 120.0, drop_at: float | None = None, rate: int = 44100,
               seed: int = 7, bpm_after: float | None = None, change_at: float = 0.0) -> Track:
    """Intro with light drums and a pad, a break with a riser and no kick, then the drop: kick and bass.

    Bars have four beats and the pad's chord changes on each bar's first beat (A, F#m, D, E), counted so that the
    drop starts a bar. With bpm_after, the tempo changes at change_at seconds (beats stay on one continuous grid).
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float32)
    beats = beat_grid(seconds, bpm, bpm_after, change_at)
    drop = drop_at if drop_at is not None else beats[int(len(beats) * 0.6)]
    drop = float(beats[np.argmin(np.abs(beats - drop))])
    drop_index = int(np.argmin(np.abs(beats - drop)))
    break_start = float(beats[max(0, drop_index - 4)])
    period = float(np.diff(beats[max(0, drop_index - 1): drop_index + 1]).mean()) if drop_index else 60.0 / bpm
    t = np.arange(n) / rate
    downbeats = beats[drop_index % 4:: 4]
    chord = np.searchsorted(downbeats, t, side="right") % len(CHORDS)
    for index, notes in enumerate(CHORDS):
        held = chord == index
        out[held] += (0.1 * sum(np.sin(2 * np.pi * f * t[held]) for f in notes)).astype(np.float32)
    riser = (t >= break_start) & (t < drop)
    hiss = np.diff(rng.standard_normal(int(riser.sum()) + 1))     # white noise differenced: a riser without lows
    out[riser] += (0.1 * ((t[riser] - break_start) / (drop - break_start)) * hiss).astype(np.float32)
    for index, beat in enumerate(beats):
        start = int(beat * rate)
        in_break = break_start <= beat < drop
        after = beat >= drop
        hits = []
        in_bar = (index - drop_index) % 4
        if not in_break and (after or in_bar in (0, 2)):   # the intro's thin kick on 1 and 3; the drop's full, on all
            hits.append(_kick(rate, 0.9) if after else _kick(rate, 0.35, low=140.0))
        if in_bar == 0:                                    # a cymbal on each bar's first beat
            hits.append(_noise_hit(rate, 1.0, 4, 0.12, rng))
        if in_bar % 2 == 1:                                # the snare on 2 and 4
            hits.append(_noise_hit(rate, 0.15, 25, 0.35 if after else 0.2, rng))
        hits.append(_noise_hit(rate, 0.04, 90, 0.08, rng))
        for hit in hits:
            end = min(n, start + len(hit))
            out[start:end] += hit[: end - start]
    bass_mask = t >= drop
    phase = (t[bass_mask] - drop) % period
    bass = 0.35 * np.sin(2 * np.pi * 55 * t[bass_mask]) * np.exp(-phase * 3)
    out[bass_mask] += bass.astype(np.float32)
    peak = float(np.max(np.abs(out))) or 1.0
    return Track((out / peak * 0.9).astype(np.float32), rate, beats, drop, bpm, downbeats)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit mono WAV, written to a temp name and renamed (no half-written file)."""
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as raw, wave.open(raw, "wb") as handle:   # a path wave cannot open: a plain OSError
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    tmp.replace(path)
    return path


def write_demo_track(path: Path, seconds: float = 20.0) -> Path:
    track = demo_track(seconds)
    return write_wav(path, track.samples, track.rate)
