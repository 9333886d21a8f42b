"""Downbeats: which beat starts the bar, and how many beats a bar has (3 or 4).

Two cues mark the first beat of a bar in most popular music: the bass or kick starts a note there, and the
harmony changes there. For every beat both are measured (the bass attack against the moment before it; the
distance between the 150 Hz-2 kHz band spectrum held through the beat before and the beat after), scored against
the track, and summed. For 3 and 4 beats a bar, each phase gets the mean score of its beats; the bar is the
phase that stands out most from the next best. When none stands out (a kick on every beat over one chord),
there are no downbeats: counting bars from a guess would put cuts off the bar as often as on it.
"""

from __future__ import annotations

import itertools

import numpy as np

from nemo_local.analysis.features import BAND_HIGH, BAND_LOW, FEATURE_RATE

METERS = (4, 3)
MIN_BARS = 4               # fewer bars than this say nothing about the bar
MIN_STANDOUT = 3.0         # the chosen phase over the next best, in standard errors of a phase's mean
THREE_OVER_FOUR = 1.25     # 3/4 only when it stands out this much more than 4/4 (4/4 is far more common)
HARMONY_HZ = (150.0, 2000.0)   # where the harmony is, above the kick and bass and below the cymbals


def _z(values: np.ndarray) -> np.ndarray:
    """Standard scores, clipped at 3: one outlier (the single attack of a drop) must not decide the bar."""
    std = float(values.std())
    return np.clip((values - values.mean()) / std, -3, 3) if std > 1e-9 else np.zeros_like(values)


def beat_cues(beats: np.ndarray, bands: np.ndarray, bass: np.ndarray) -> np.ndarray:
    """(beats, 2) scores: the bass attack and the harmonic change at each beat, in standard deviations."""
    frames = np.clip(np.round(beats * FEATURE_RATE).astype(np.int64), 0, max(0, len(bass) - 1))
    bass_db = 10 * np.log10(bass.astype(np.float64) + 1e-9)
    attack = np.array([bass_db[f: f + 4].max() - bass_db[max(0, f - 6): max(1, f - 1)].min() for f in frames])
    edges = np.concatenate([frames, [len(bands)]])
    centres = np.geomspace(BAND_LOW, BAND_HIGH, bands.shape[1] + 1)
    centres = np.sqrt(centres[:-1] * centres[1:])
    harmony = bands[:, (centres >= HARMONY_HZ[0]) & (centres <= HARMONY_HZ[1])].astype(np.float64)
    # the median over the beat keeps what is held (chords), not the drum hits within it
    held = np.array([np.median(harmony[a: max(a + 1, b)], axis=0) for a, b in itertools.pairwise(edges)])
    change = np.zeros(len(frames))
    change[1:] = np.sqrt(np.mean(np.diff(held, axis=0) ** 2, axis=1))
    change[0] = np.median(change[1:]) if len(change) > 1 else 0.0
    return np.stack([_z(attack), _z(change)], axis=1)


def _standout(cue: np.ndarray, meter: int) -> tuple[float, int]:
    """(how far the best phase's mean is above the next best's, in standard errors; that phase)."""
    bars = len(cue) // meter
    by_phase = cue[: bars * meter].reshape(bars, meter).mean(axis=0)
    order = np.argsort(-by_phase)
    # against the next best phase, not the mean: a backbeat (snare on 2 and 4) makes two phases of four alike
    error = float(cue.std()) * np.sqrt(2.0 / bars)
    return (float(by_phase[order[0]] - by_phase[order[1]]) / error if error > 1e-9 else 0.0), int(order[0])


def bar_of(cues: np.ndarray, meter: int) -> tuple[float, int]:
    """(standout, phase) of `meter` beats a bar: each cue weighted by how much bar it shows on its own."""
    weights = np.array([max(0.0, _standout(cues[:, k], meter)[0]) for k in range(cues.shape[1])])
    if weights.sum() <= 0:
        return 0.0, 0
    return _standout(cues @ (weights / weights.sum()), meter)


def downbeats(beats: np.ndarray, bands: np.ndarray, bass: np.ndarray) -> tuple[np.ndarray, int]:
    """(downbeat times in seconds, beats per bar); no downbeats and 4 when the bar cannot be told."""
    if len(beats) < MIN_BARS * max(METERS) or len(bands) == 0:
        return np.zeros(0), 4
    cues = beat_cues(beats, bands, bass)
    scores = {meter: bar_of(cues, meter) for meter in METERS}
    meter = 3 if scores[3][0] > THREE_OVER_FOUR * max(scores[4][0], 1e-9) else 4
    standout, phase = scores[meter]
    if standout < MIN_STANDOUT:
        return np.zeros(0), 4
    return beats[phase::meter].astype(np.float64), meter
