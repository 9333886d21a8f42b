#!/usr/bin/env python3
"""The reference side of the analysis scoreboard, run in its own environment (bench/.reference: librosa and
pretty_midi, which the project does not depend on). bench/scoreboard.py makes that environment and calls this.

    python corpus_reference.py truth SONG.mid SECONDS        -> the MIDI's own beats, downbeats, drops, character
    python corpus_reference.py librosa AUDIO.wav             -> librosa's beat tracker on the rendered audio

Prints one JSON object. Ground truth comes from the MIDI file alone (the composer's tempo map and time
signatures, and the notes), never from the audio.
"""

from __future__ import annotations

import json
import sys

import numpy as np

KICKS = {35, 36}
BASS_PROGRAMS = range(32, 40)          # General MIDI: acoustic bass ... synth bass 2


def truth(path: str, seconds: float) -> dict[str, object]:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(path)
    beats = midi.get_beats()
    downbeats = midi.get_downbeats()
    beats, downbeats = beats[beats < seconds], downbeats[downbeats < seconds]
    kicks = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes if n.pitch in KICKS))
    drums = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes))
    bass = np.array(sorted(n.start for i in midi.instruments if not i.is_drum and
                           (i.program in BASS_PROGRAMS or np.median([m.pitch for m in i.notes] or [99]) < 48)
                           for n in i.notes))
    return {"beats": beats.round(4).tolist(), "downbeats": downbeats.round(4).tolist(),
            "meters": sorted({f"{t.numerator}/{t.denominator}" for t in midi.time_signature_changes}) or ["4/4"],
            "tempo_changes": len(midi.get_tempo_changes()[0]),
            "character": character(beats, kicks, drums), "drops": drops(downbeats, kicks, bass, seconds)}


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


def drops(downbeats: np.ndarray, kicks: np.ndarray, bass: np.ndarray, seconds: float) -> list[float]:
    """Where a listener would mark a drop, from the notes: a downbeat where kick and bass come back together
    after at least two bars with neither (or with both far below the song's usual density), and stay for the
    next four bars. A proxy: MIDI files carry no drop labels."""
    if len(downbeats) < 8:
        return []
    edges = np.append(downbeats, seconds)
    kick_bars = np.histogram(kicks, edges)[0] if len(kicks) else np.zeros(len(downbeats))
    bass_bars = np.histogram(bass, edges)[0] if len(bass) else np.zeros(len(downbeats))
    both = np.minimum(kick_bars / max(1.0, np.median(kick_bars[kick_bars > 0]) if (kick_bars > 0).any() else 1.0),
                      bass_bars / max(1.0, np.median(bass_bars[bass_bars > 0]) if (bass_bars > 0).any() else 1.0))
    out = []
    for k in range(2, len(downbeats) - 4):
        away = both[max(0, k - 4):k]
        if np.mean(away[-2:]) <= 0.2 and np.mean(both[k:k + 4]) >= 0.8 and downbeats[k] > 4.0:
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
    if sys.argv[1] == "truth":
        print(json.dumps(truth(sys.argv[2], float(sys.argv[3]))))
    elif sys.argv[1] == "librosa":
        print(json.dumps(librosa_beats(sys.argv[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
