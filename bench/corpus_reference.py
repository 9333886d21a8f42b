#!/usr/bin/env python3
"""The reference side of the analysis scoreboard, run in its own environment (bench/.reference: librosa and
pretty_midi, which the project does not depend on). bench/scoreboard.py makes that environment and calls this.

    python corpus_reference.py SONGS.json
    python corpus_reference.py low-stem SONG.mid OUT.mid      -> the song with only its kicks and low notes

SONGS.json lists {"midi", "wav", "seconds", "low"} objects ("low": the rendered low stem). For each: the
MIDI's own beats, downbeats and character, and the drops heard in the low stem ("truth"); librosa's beat tracker
on the rendered song ("librosa"). Prints one JSON list, from one process (librosa's JIT compilation is paid once).
Beats and downbeats come from the MIDI file alone (the composer's tempo map and time signatures), never from
the audio of the song.
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pretty_midi

KICKS = {35, 36}
LOW_PITCH = 48                         # C3, 131 Hz: below it a note is heard as the bass
RISE_DB = 9.0                          # a drop: the low stem this much louder than the loudest of the two bars before
SONG_WIDE = {"set_tempo", "time_signature", "key_signature"}
TAIL_S = (-1.0, 25.0)                  # the audio lasts as long as the MIDI read, plus the last notes' release


def load(path: str) -> pretty_midi.PrettyMIDI:
    """The MIDI file as a player hears it. pretty_midi reads tempo and meter from the first track only (it warns and
    goes on); FluidSynth, like every player, from any track. Seven Freedoom songs keep their tempo on the second
    track: read by pretty_midi alone their beats were at 120 BPM while their audio plays at 70-135. So the tempo,
    meter and key events of every track are moved to the first before pretty_midi reads the file."""
    import io

    import mido
    import pretty_midi

    song = mido.MidiFile(path)
    if song.type == 1 and any(m.type in SONG_WIDE for track in song.tracks[1:] for m in track):
        moved: list[tuple[int, mido.Message]] = []
        for k in range(1, len(song.tracks)):
            events = _absolute(song.tracks[k])
            moved += [(t, m) for t, m in events if m.type in SONG_WIDE]
            song.tracks[k] = _track([(t, m) for t, m in events if m.type not in SONG_WIDE])
        song.tracks[0] = _track(sorted(_absolute(song.tracks[0]) + moved, key=lambda event: event[0]))
    data = io.BytesIO()
    song.save(file=data)
    data.seek(0)
    return pretty_midi.PrettyMIDI(data)


def _absolute(track: Any) -> list[tuple[int, Any]]:
    """A mido track's messages with their absolute ticks."""
    return list(zip(itertools.accumulate(m.time for m in track), track, strict=True))


def _track(events: list[tuple[int, Any]]) -> Any:
    """A mido track from (absolute tick, message) pairs."""
    import mido

    track, last = mido.MidiTrack(), 0
    for tick, message in events:
        track.append(message.copy(time=tick - last))
        last = tick
    return track


def truth(path: str, seconds: float) -> dict[str, object]:
    midi = load(path)
    if not TAIL_S[0] <= seconds - midi.get_end_time() <= TAIL_S[1]:
        raise SystemExit(f"{path}: the MIDI read lasts {midi.get_end_time():.1f} s, its audio {seconds:.1f} s: "
                         "its beats would not be the audio's")
    beats = midi.get_beats()
    downbeats = midi.get_downbeats()
    beats, downbeats = beats[beats < seconds], downbeats[downbeats < seconds]
    kicks = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes if n.pitch in KICKS))
    drums = np.array(sorted(n.start for i in midi.instruments if i.is_drum for n in i.notes))
    first = min((n.start for i in midi.instruments for n in i.notes), default=0.0)
    return {"drum_entries": drum_entries(downbeats, drums, first),
            "beats": beats.round(4).tolist(), "downbeats": downbeats.round(4).tolist(),
            "meters": sorted({f"{t.numerator}/{t.denominator}" for t in midi.time_signature_changes}) or ["4/4"],
            "tempo_changes": len(midi.get_tempo_changes()[0]),
            "character": character(beats, kicks, drums),
            "grid_fit": grid_fit(beats, np.array(sorted(n.start for i in midi.instruments for n in i.notes)))}


def drum_entries(downbeats: np.ndarray, drums: np.ndarray, first: float) -> list[float]:
    """Downbeats where the drums come in after four bars or more without a drum note, 4 s or more after the first
    note, and play in each of the four bars from there; at most one in eight bars. Not the drop truth (that is
    heard, `stem_drops`): a diagnostic of what the contrast rule finds that a low stem cannot show."""
    out: list[float] = []
    if len(downbeats) < 6:
        return out
    counts = np.diff(np.searchsorted(drums, np.append(downbeats, np.inf)))      # drum notes in each bar
    for k in range(4, len(downbeats) - 4):
        if counts[k - 4:k].sum() == 0 and (counts[k:k + 4] > 0).all() and downbeats[k] >= first + 4.0 \
                and not (out and downbeats[k] - out[-1] < 8 * (downbeats[k] - downbeats[k - 1])):
            out.append(round(float(downbeats[k]), 3))
    return out


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


def librosa_beats(path: str) -> dict[str, object]:
    import time

    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    started = time.perf_counter()
    tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
    return {"beats": np.asarray(beats).round(4).tolist(), "tempo": float(np.atleast_1d(tempo)[0]),
            "seconds": time.perf_counter() - started}


def low_stem(path: str, out: str) -> None:
    """The song with only what a drop brings back: the kick drum and every note under C3, whatever plays it."""
    midi = load(path)
    for instrument in midi.instruments:
        instrument.notes = [n for n in instrument.notes
                            if (n.pitch in KICKS if instrument.is_drum else n.pitch < LOW_PITCH)]
    midi.write(out)


def stem_drops(downbeats: np.ndarray, wav: str) -> list[float]:
    """Drops heard in the low stem's audio: a downbeat where its level (RMS per bar) comes back RISE_DB or more
    above the loudest of the two bars before, after at least 4 s of music, and holds for four bars (each within
    6 dB of the song's usual low-stem level); at most one in eight bars."""
    import wave

    with wave.open(wav) as handle:
        rate, channels = handle.getframerate(), handle.getnchannels()
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768
    mono = samples.reshape(-1, channels).mean(axis=1)
    edges = (np.append(downbeats, len(mono) / rate) * rate).astype(int)
    level = np.array([10 * np.log10(np.mean(mono[a:b] ** 2) + 1e-10) if b > a else -100.0
                      for a, b in itertools.pairwise(edges)])
    usual = float(np.median(level[level > -80])) if (level > -80).any() else -100.0
    out: list[float] = []
    for k in range(2, len(level) - 4):
        if level[k] - level[k - 2:k].max() >= RISE_DB and (level[k:k + 4] >= usual - 6).all() and downbeats[k] > 4.0 \
                and not (out and downbeats[k] - out[-1] < 8 * (downbeats[k] - downbeats[k - 1])):
            out.append(round(float(downbeats[k]), 3))
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "low-stem":
        low_stem(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as handle:
        songs = json.load(handle)
    out = []
    for song in songs:
        found = truth(song["midi"], float(song["seconds"]))
        found["stem_drops"] = stem_drops(np.array(found["downbeats"]), song["low"]) if song.get("low") else []
        out.append({"truth": found, "librosa": librosa_beats(song["wav"])})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
