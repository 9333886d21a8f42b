#!/usr/bin/env python3
"""The reference side of the analysis scoreboard, run in its own environment (bench/.reference: librosa and
pretty_midi, which the project does not depend on). bench/scoreboard.py makes that environment and calls this.

    python corpus_reference.py SONGS.json

SONGS.json lists {"midi", "wav", "seconds"} objects; for each, the MIDI's own beats, downbeats, drops and
character ("truth") and librosa's beat tracker on the rendered audio ("librosa"). Prints one JSON list, in one
process (librosa's JIT compilation is paid once). Ground truth comes from the MIDI file alone (the composer's
tempo map and time signatures, and the notes), never from the audio.
"""

from __future__ import annotations

import json
import sys

import numpy as np

KICKS = {35, 36}


def truth(path: str, seconds: float) -> dict[str, object]:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(path)
    beats = midi.get_beats()
    downbeats = midi.get_downbeats()
    beats, downbeats = beats[beats < seconds], downbeats[downbeats < seconds]
    kicks = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes if n.pitch in KICKS))
    drums = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes))
    low = [(n.start, n.end) for i in midi.instruments if not i.is_drum for n in i.notes if n.pitch < 48]
    return {"beats": beats.round(4).tolist(), "downbeats": downbeats.round(4).tolist(),
            "meters": sorted({f"{t.numerator}/{t.denominator}" for t in midi.time_signature_changes}) or ["4/4"],
            "tempo_changes": len(midi.get_tempo_changes()[0]),
            "character": character(beats, kicks, drums), "drops": drops(downbeats, kicks, low, seconds),
            "grid_fit": grid_fit(beats, np.array(sorted(n.start for i in midi.instruments for n in i.notes)))}


def grid_fit(beats: np.ndarray, onsets: np.ndarray) -> float:
    """The share of note onsets within 35 ms of the MIDI's own grid (sixteenths or eighth-note triplets). A song
    played in without a click has a grid that is not the music's: its beats are no ground truth."""
    inside = onsets[(onsets >= beats[0]) & (onsets < beats[-1])] if len(beats) > 1 else np.zeros(0)
    if len(inside) == 0:
        return 0.0
    idx = np.searchsorted(beats, inside, side="right") - 1
    period = beats[idx + 1] - beats[idx]
    phase = (inside - beats[idx]) / period
    near = np.minimum(np.abs(phase * 4 - np.round(phase * 4)) / 4, np.abs(phase * 3 - np.round(phase * 3)) / 3)
    return float(np.mean(near * period <= 0.035))


def character(beats: np.ndarray, kicks: np.ndarray, drums: np.ndarray) -> str:
    """"no drums", "straight" (kicks on the beat, off-beat notes on the eighth) or "syncopated/swung" (kicks
    between beats, or off-beat notes on the triplet), from where the notes fall on the MIDI's own beat grid."""
    if len(drums) < 16 or len(beats) < 8:
        return "no drums"
    period = np.median(np.diff(beats))

    def phase(times: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(beats, times, side="right") - 1, 0, len(beats) - 1)
        return (times - beats[idx]) / period % 1.0

    kick_phase = phase(kicks[(kicks >= beats[0]) & (kicks < beats[-1])]) if len(kicks) else np.zeros(0)
    on_beat = np.mean(np.minimum(kick_phase, 1 - kick_phase) < 0.08) if len(kick_phase) else 1.0
    rest = phase(drums[(drums >= beats[0]) & (drums < beats[-1])])
    off = rest[(rest > 0.2) & (rest < 0.8)]
    triplet = np.mean(np.abs(off - 2 / 3) < 0.06) if len(off) else 0.0
    eighth = np.mean(np.abs(off - 1 / 2) < 0.06) if len(off) else 0.0
    return "syncopated/swung" if on_beat < 0.75 or triplet > max(eighth, 0.15) else "straight"


def drops(downbeats: np.ndarray, kicks: np.ndarray, low: list[tuple[float, float]], seconds: float) -> list[float]:
    """Where a listener would mark a drop, from the notes: a downbeat where the kick and the low register (any
    note under C3, 131 Hz: what a listener hears as the bass, whatever instrument plays it) come back together
    after two whole bars with neither, and stay for the next four bars; at most one in eight bars. A proxy: MIDI
    files carry no drop labels."""
    if len(downbeats) < 8:
        return []
    edges = np.append(downbeats, seconds)
    lengths = np.diff(edges)
    sounding = np.zeros(len(downbeats))
    for start, end in low:                      # the share of each bar with a low note sounding
        first, last = np.searchsorted(edges, start, side="right") - 1, np.searchsorted(edges, end, side="left")
        for k in range(max(0, first), min(len(downbeats), last)):
            sounding[k] += max(0.0, min(end, edges[k + 1]) - max(start, edges[k])) / lengths[k]
    counts = np.histogram(kicks, edges)[0].astype(float) if len(kicks) else np.zeros(len(downbeats))
    usual = np.median(counts[counts > 0]) if (counts > 0).any() else 1.0
    both = np.minimum(np.minimum(sounding, 1.0) / 0.5, counts / max(1.0, usual))
    out: list[float] = []
    for k in range(2, len(downbeats) - 4):
        if (both[k - 2:k] <= 0.2).all() and (both[k:k + 4] >= 0.5).all() and np.mean(both[k:k + 4]) >= 0.8 \
                and downbeats[k] > 4.0 and not (out and downbeats[k] - out[-1] < 8 * lengths[k]):
            out.append(round(float(downbeats[k]), 3))
    return out


def librosa_beats(path: str) -> dict[str, object]:
    import time

    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    started = time.perf_counter()
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return {"beats": np.asarray(beats).round(4).tolist(), "tempo": float(np.atleast_1d(tempo)[0]),
            "seconds": time.perf_counter() - started}


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as handle:
        songs = json.load(handle)
    print(json.dumps([{"truth": truth(song["midi"], float(song["seconds"])), "librosa": librosa_beats(song["wav"])}
                      for song in songs]))


if __name__ == "__main__":
    main()
