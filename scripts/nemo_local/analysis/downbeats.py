"""Downbeats: which beats start a bar, and how many beats a bar has (3 or 4), followed through the track.

Cues at every beat, each in standard scores over the track: the harmony changes there (the pitch-class profile of
the two beats after against the two before; the 150 Hz-2 kHz band spectrum held through the beat against the
beat before), the bass or kick starts a note there, and, with the beat model, its network hears a downbeat there.
Their weighted sum is the evidence that a beat starts a bar.

A hidden Markov model over the beats counts them through bars, as madmom's bar tracking does on its network's
output (Krebs, Böck, Dorfer and Widmer, "Downbeat tracking using beat-synchronous features and recurrent neural
networks", ISMIR 2016): the count advances one each beat; after a bar's last beat the next bar begins, in the same
meter but for a rare change; and rarely a bar ends early (a beat the tracker added, a short bar in the score), so
one wrong beat does not put every later bar a beat off. Viterbi finds the count the evidence supports best.

Where the cues are unsure (a kick on every beat over one chord) the count is still the likeliest one: on the
scoreboard that guess is right more often than a count from any other beat (what the montage would do without
downbeats), and a drop on it must still pass every other rule. Only flat evidence (no cue varies) gives none.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from nemo_local.analysis.features import BAND_HIGH, BAND_LOW, FEATURE_RATE, Features

METERS = (3, 4)
MIN_BARS = 4               # fewer bars than this say nothing about the bar
HARMONY_HZ = (150.0, 2000.0)   # where the harmony is, above the kick and bass and below the cymbals
CHORD_BEATS = 2            # the pitch-class profile of this many beats after a beat against as many before
# How much each cue counts: chords change on the bar most reliably in the scoreboard's songs; the band spectrum
# and the bass attack second; the network's downbeat guess is its weakest output (BENCHMARKS.md).
WEIGHTS = {"chroma": 1.0, "spectrum": 0.5, "bass": 0.3, "network": 0.3}
EVIDENCE_SCALE = 0.75      # log-likelihood of a downbeat per standard score of evidence
METER_CHANGE = 1e-3        # P(the next bar has the other meter)
SHORT_BAR = 1e-3           # P(a bar ends early, at any beat)


def _z(values: np.ndarray) -> np.ndarray:
    """Standard scores, clipped at 3: one outlier (the single attack of a drop) must not decide the bar."""
    std = float(values.std())
    return np.clip((values - values.mean()) / std, -3, 3) if std > 1e-9 else np.zeros_like(values)


def _frames(beats: np.ndarray, length: int) -> np.ndarray:
    return np.clip(np.round(beats * FEATURE_RATE).astype(np.int64), 0, max(0, length - 1))


def _held(values: np.ndarray, frames: np.ndarray, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """(beats, columns) `values` through each beat, to the next beat (the last to the end), by `reduce`."""
    edges = np.concatenate([frames, [len(values)]])
    return np.array([reduce(values[a: max(a + 1, b)], axis=0) for a, b in itertools.pairwise(edges)])


def _chord_change(chroma: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Cosine distance between the (log) pitch-class profiles of the CHORD_BEATS beats after and before each."""
    held = _held(chroma.astype(np.float64), frames, np.mean)
    held = np.log1p(100.0 * held / (held.max() + 1e-12))
    change = np.zeros(len(frames))
    for i in range(1, len(frames)):
        before = held[max(0, i - CHORD_BEATS): i].mean(axis=0)
        after = held[i: i + CHORD_BEATS].mean(axis=0)
        change[i] = 1.0 - before @ after / (np.linalg.norm(before) * np.linalg.norm(after) + 1e-12)
    change[0] = np.median(change[1:]) if len(change) > 1 else 0.0
    return change


def beat_cues(beats: np.ndarray, features: Features, heard: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Standard scores at each beat: the chord change, the band spectrum's change, the bass attack and (when
    given: the network's downbeat activation at each beat) how clearly a downbeat is heard."""
    frames = _frames(beats, len(features.bass))
    bass_db = 10 * np.log10(features.bass.astype(np.float64) + 1e-9)
    attack = np.array([bass_db[f: f + 4].max() - bass_db[max(0, f - 6): max(1, f - 1)].min() for f in frames])
    centres = np.geomspace(BAND_LOW, BAND_HIGH, features.bands.shape[1] + 1)
    centres = np.sqrt(centres[:-1] * centres[1:])
    harmony = features.bands[:, (centres >= HARMONY_HZ[0]) & (centres <= HARMONY_HZ[1])].astype(np.float64)
    held = _held(harmony, frames, np.median)   # the median keeps what is held (chords), not drum hits
    spectrum = np.zeros(len(frames))
    spectrum[1:] = np.sqrt(np.mean(np.diff(held, axis=0) ** 2, axis=1))
    spectrum[0] = np.median(spectrum[1:]) if len(spectrum) > 1 else 0.0
    cues = {"chroma": _z(_chord_change(features.chroma, frames)), "spectrum": _z(spectrum), "bass": _z(attack)}
    if heard is not None:
        cues["network"] = _z(np.asarray(heard, np.float64))
    return cues


def count_beats(evidence: np.ndarray, meters: tuple[int, ...] = METERS) -> tuple[np.ndarray, np.ndarray]:
    """(each beat's place in its bar, 0 the downbeat; each beat's bar length) that explain `evidence` best."""
    states = [(m, p) for m in meters for p in range(m)]
    index = {state: k for k, state in enumerate(states)}
    move = np.full((len(states), len(states)), -np.inf)
    starts = [index[(m, 0)] for m in meters]
    for (meter, place), k in index.items():
        if place < meter - 1:
            move[k, index[(meter, place + 1)]] = np.log1p(-SHORT_BAR) if place else 0.0
            if place:     # a bar of one beat is no bar
                move[k, starts] = np.log(SHORT_BAR / len(meters))
        else:
            for other, start in zip(meters, starts, strict=True):
                move[k, start] = (np.log1p(-METER_CHANGE) if other == meter
                                  else np.log(METER_CHANGE / (len(meters) - 1)))
    on_one = np.array([place == 0 for _, place in states])
    score = np.where(on_one, EVIDENCE_SCALE * evidence[0], 0.0)
    back = np.zeros((len(evidence), len(states)), np.int8)
    for i in range(1, len(evidence)):
        candidates = score[:, None] + move
        back[i] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + np.where(on_one, EVIDENCE_SCALE * evidence[i], 0.0)
    path = np.zeros(len(evidence), np.int64)
    path[-1] = int(score.argmax())
    for i in range(len(evidence) - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return np.array([states[k][1] for k in path]), np.array([states[k][0] for k in path])


def downbeats(beats: np.ndarray, features: Features, heard: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """(downbeat times in seconds, the commonest beats per bar); no downbeats and 4 when the bar cannot be told.
    `heard`: the beat model's downbeat activation at each beat, if there is one."""
    if len(beats) < MIN_BARS * max(METERS) or len(features.bands) == 0:
        return np.zeros(0), 4
    cues = beat_cues(beats, features, heard)
    evidence = np.sum([WEIGHTS[name] * cue for name, cue in cues.items()], axis=0)
    if float(evidence.std()) < 1e-9:
        return np.zeros(0), 4
    place, meter = count_beats(evidence)
    counts = {m: int(np.sum((place == 0) & (meter == m))) for m in METERS}
    return beats[place == 0].astype(np.float64), max(METERS, key=lambda m: (counts[m], m))
