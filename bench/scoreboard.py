#!/usr/bin/env python3
"""Analysis scoreboard on music no one here wrote: beats, tempo, downbeats and drops against ground truth, side
by side with librosa's beat tracker on the same audio, in the same run.

    python3 bench/scoreboard.py                 # every song of the corpus
    python3 bench/scoreboard.py --songs 12      # a quick look

The corpus: the 66 distinct MIDI songs of Freedoom (Debian's `freedoom` package; rock, metal, electronic, ambient and
orchestral game music by many composers), rendered to audio with FluidSynth and the FluidR3 General MIDI
soundfont (Debian's `fluidsynth` and `fluid-soundfont-gm`). Ground truth comes from each MIDI file alone: its tempo
map and time signatures give the beats and downbeats (read as a player reads them: tempo events from any
track), its notes the character of the song (straight; syncopated or swung: kicks between the beats or off-beat
notes on the triplet; no drums), whether the grid is the music's (songs played in freely are listed apart); and
the drops, heard in a second rendering of each song with only its kick drum and its notes under C3 (the "low
stem"): a downbeat where that stem comes back 9 dB above the loudest of the two bars before, and holds for four
bars. Nothing is committed: MIDI and audio go to bench/.corpus, and librosa and pretty_midi live in their own
environment, bench/.reference, made on first use (bench/corpus_reference.py runs there).

Scores: beat and downbeat F-measure within 70 ms, the first 5 s ignored (as mir_eval does); tempo right within 4 %
or off by a metrical factor (x2, x1/2, x3/2, x2/3); drops: precision and recall within one beat; and, of the drops
found that no heard drop is near, how many sit within a beat of a drum entry (the MIDI's drums back after four
bars or more without them: a drop kind the low stem cannot show, counted apart, not as truth). Not a test:
BENCHMARKS.md records the results and the command.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import time
import wave
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from nemo_local.analysis import analyse  # noqa: E402

CORPUS = ROOT / "bench" / ".corpus"
REFERENCE = ROOT / "bench" / ".reference"
READER = ROOT / "bench" / "corpus_reference.py"      # runs in REFERENCE: the truth, the low stems, librosa
WADS = [Path("/usr/share/games/doom/freedoom1.wad"), Path("/usr/share/games/doom/freedoom2.wad")]
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DEBIAN = "apt-get install freedoom fluidsynth fluid-soundfont-gm"
REFERENCE_PACKAGES = ["librosa==0.11.0", "pretty_midi>=0.2.10"]
WINDOW = 0.07
SKIP = 5.0
GRID_FIT = 0.8    # a MIDI whose notes mostly miss its own grid was played in freely: its beats are no ground truth


def midi_songs() -> list[Path]:
    """The music lumps (D_*) of the Freedoom WADs as .mid files; a song in both WADs is kept once."""
    out, seen = [], set()
    (CORPUS / "midi").mkdir(parents=True, exist_ok=True)
    for wad in WADS:
        data = wad.read_bytes()
        _, count, directory = struct.unpack("<4sii", data[:12])
        for k in range(count):
            pos, size, raw = struct.unpack("<ii8s", data[directory + 16 * k: directory + 16 * k + 16])
            name = raw.rstrip(b"\0").decode("ascii", "replace")
            body = data[pos: pos + size]
            if not name.startswith("D_") or not body.startswith(b"MThd") or body in seen:
                continue
            seen.add(body)
            path = CORPUS / "midi" / f"{wad.stem}-{name}.mid"
            if not path.exists():
                path.write_bytes(body)
            out.append(path)
    return out


def rendered(midi: Path) -> Path:
    wav = CORPUS / ("low-audio" if midi.parent.name == "low" else "audio") / f"{midi.stem}.wav"
    if not wav.exists() or wav.stat().st_mtime < midi.stat().st_mtime:
        wav.parent.mkdir(parents=True, exist_ok=True)
        part = wav.with_suffix(".part.wav")
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", "44100", "-F", str(part), str(SOUNDFONT),
                        str(midi)], check=True, capture_output=True)
        part.rename(wav)
    return wav


def low_stem(midi: Path) -> Path:
    """The song's kicks and low notes alone, rendered: where its drops can be heard without the rest."""
    stem = CORPUS / "low" / f"{midi.stem}.mid"
    if not stem.exists() or stem.stat().st_mtime < READER.stat().st_mtime:     # made by an older reader
        stem.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(REFERENCE / "bin" / "python"), str(READER), "low-stem", str(midi), str(stem)],
                       check=True, capture_output=True)
    return rendered(stem)


def reference(songs: list[tuple[Path, Path, float]]) -> list[dict[str, Any]]:
    """Ground truth and librosa's beats for every song, from one process in the reference environment."""
    listing = CORPUS / "songs.json"
    listing.write_text(json.dumps([{"midi": str(m), "wav": str(w), "seconds": s, "low": str(low_stem(m))}
                                   for m, w, s in songs]))
    proc = subprocess.run([str(REFERENCE / "bin" / "python"), str(READER), str(listing)], capture_output=True,
                          text=True, check=True)
    return list(json.loads(proc.stdout.strip().splitlines()[-1]))


def ensure_reference() -> None:
    if not (REFERENCE / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(REFERENCE)], check=True)
        subprocess.run([str(REFERENCE / "bin" / "python"), "-m", "pip", "install", "--quiet", *REFERENCE_PACKAGES],
                       check=True)


def f_measure(found: np.ndarray, truth: np.ndarray, window: float = WINDOW, skip: float = SKIP) -> float:
    """Beat F-measure: each true beat matched by at most one found beat within `window` seconds."""
    found, truth = found[found >= skip], truth[truth >= skip]
    return float("nan") if len(truth) == 0 else beat_match(found, truth, window)[0]


def beat_match(found: np.ndarray, truth: np.ndarray, window: float = WINDOW) -> tuple[float, list[float]]:
    """The F-measure of `found` against `truth` (each true beat matched by the nearest unused found beat within
    `window` seconds), and each match's offset (found - true, seconds)."""
    used, offsets = np.zeros(len(found), bool), []
    for t in truth:
        near = np.flatnonzero(~used & (np.abs(found - t) <= window))
        if len(near):
            k = int(near[np.argmin(np.abs(found[near] - t))])
            used[k] = True
            offsets.append(float(found[k] - t))
    if not offsets:
        return 0.0, []
    precision, recall = len(offsets) / len(found), len(offsets) / len(truth)
    return 2 * precision * recall / (precision + recall), offsets


def any_level_f(found: np.ndarray, truth: np.ndarray) -> float:
    """The best F-measure against the true beats at the notated level, twice as fast (midpoints added) or half
    as fast (either phase): tapping at a different metrical level is a choice, not a mistake, for a video's
    cuts; a beat between the true ones (off-beat) still scores low."""
    if len(truth) < 4:
        return f_measure(found, truth)
    double = np.sort(np.concatenate([truth, (truth[:-1] + truth[1:]) / 2]))
    return max(f_measure(found, t) for t in (truth, double, truth[::2], truth[1::2]))


def tempo_verdict(found_bpm: float, truth_beats: np.ndarray) -> str:
    true_bpm = 60 / float(np.median(np.diff(truth_beats)))
    ratio = found_bpm / true_bpm
    for name, factor in (("right", 1.0), ("x2", 2.0), ("x1/2", 0.5), ("x3/2", 1.5), ("x2/3", 2 / 3)):
        if abs(ratio / factor - 1) <= 0.04:
            return name
    return "other"


def matches(found: list[float], truth: list[float], window: float) -> int:
    return sum(1 for f in found if any(abs(f - t) <= window for t in truth))


def score(song: Path, wav: Path, refs: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    ours = analyse(wav, cache=False)
    our_seconds = time.perf_counter() - started
    truth, theirs = refs["truth"], refs["librosa"]
    beats = np.array(truth["beats"], float)
    downbeats = np.array(truth["downbeats"], float)
    beat = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5
    true_drops = [float(d) for d in truth["stem_drops"]]
    entries = [float(d) for d in truth.get("drum_entries", [])]
    unheard = [d for d in ours.drops if not any(abs(d - t) <= beat for t in true_drops)]
    return {
        "song": song.stem, "seconds": round(ours.duration, 1), "grid_fit": round(float(truth["grid_fit"]), 2),
        "character": truth["character"] if float(truth["grid_fit"]) >= GRID_FIT else "grid not the music's",
        "meters": truth["meters"], "tempo_changes": truth["tempo_changes"],
        "beat_f": f_measure(ours.beats, beats), "librosa_beat_f": f_measure(np.array(theirs["beats"]), beats),
        "beat_f_any": any_level_f(ours.beats, beats),
        "librosa_beat_f_any": any_level_f(np.array(theirs["beats"]), beats),
        "tempo": tempo_verdict(ours.tempo, beats) if len(beats) > 2 else "n/a",
        "librosa_tempo": tempo_verdict(float(theirs["tempo"]), beats) if len(beats) > 2 else "n/a",
        "downbeat_f": f_measure(ours.downbeats, downbeats), "downbeats_found": len(ours.downbeats),
        "drops_true": len(true_drops), "drops_found": len(ours.drops),
        "drops_right": matches(ours.drops, true_drops, beat), "drops_recalled": matches(true_drops, ours.drops, beat),
        "drops_at_drum_entries": matches(unheard, entries, beat),
        "our_s": round(our_seconds, 2), "librosa_s": round(float(theirs["seconds"]), 2),
    }


def summary(rows: list[dict[str, Any]]) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row["character"])].append(row)
    groups["all with a true grid"] = [r for r in rows if r["character"] != "grid not the music's"]
    print("\n| material | songs | beat F ours | beat F librosa | beat F any level ours | beat F any level librosa | "
          "tempo right ours | tempo right librosa | downbeat F ours (songs with downbeats) | drops P | drops R | "
          "of the rest, at drum entries |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in ("straight", "syncopated/swung", "no drums", "all with a true grid", "grid not the music's"):
        group = groups.get(name, [])
        if not group:
            continue

        def mean(key: str, group: list[dict[str, Any]] = group) -> float:
            values = [float(r[key]) for r in group if not np.isnan(float(r[key]))]
            return float(np.mean(values)) if values else float("nan")

        found = sum(int(r["drops_found"]) for r in group)
        true = sum(int(r["drops_true"]) for r in group)
        right = sum(int(r["drops_right"]) for r in group)
        recalled = sum(int(r["drops_recalled"]) for r in group)
        with_bars = sum(int(r["downbeats_found"]) > 0 for r in group)
        print(f"| {name} | {len(group)} | {mean('beat_f'):.3f} | {mean('librosa_beat_f'):.3f} | "
              f"{mean('beat_f_any'):.3f} | {mean('librosa_beat_f_any'):.3f} | "
              f"{sum(r['tempo'] == 'right' for r in group)}/{len(group)} | "
              f"{sum(r['librosa_tempo'] == 'right' for r in group)}/{len(group)} | {mean('downbeat_f'):.3f} "
              f"({with_bars}) | {right}/{found} | {recalled}/{true} | "
              f"{sum(int(r['drops_at_drum_entries']) for r in group)}/{found - right} |")
    audio = sum(float(r["seconds"]) for r in rows)
    ours = sum(float(r["our_s"]) for r in rows)
    theirs = sum(float(r["librosa_s"]) for r in rows)
    print(f"\n{len(rows)} songs, {audio / 60:.1f} min of audio; our whole analysis {ours:.1f} s "
          f"({100 * ours / audio:.2f} % of the duration), librosa's beat tracker alone {theirs:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--songs", type=int, default=0, help="only the first N songs (0: all)")
    parser.add_argument("--json", type=Path, help="also write every song's scores here")
    args = parser.parse_args()
    if not all(w.exists() for w in WADS) or not SOUNDFONT.exists() or shutil.which("fluidsynth") is None:
        raise SystemExit(f"the corpus needs Debian's packages: {DEBIAN}")
    ensure_reference()
    songs = midi_songs()[: args.songs or None]
    audio = [rendered(song) for song in songs]
    seconds = []
    for wav in audio:
        with wave.open(str(wav)) as handle:
            seconds.append(handle.getnframes() / handle.getframerate())
    refs = reference(list(zip(songs, audio, seconds, strict=True)))
    rows = []
    print("| song | s | grid fit | character | meter | beat F ours | beat F librosa | any level ours | "
          "any level librosa | tempo ours | tempo librosa | downbeat F | drops right/found | true drops recalled |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for song, wav, ref in zip(songs, audio, refs, strict=True):
        row = score(song, wav, ref)
        rows.append(row)
        print(f"| {row['song']} | {row['seconds']} | {row['grid_fit']} | {row['character']} | "
              f"{','.join(row['meters'])} | "
              f"{row['beat_f']:.3f} | {row['librosa_beat_f']:.3f} | {row['beat_f_any']:.3f} | "
              f"{row['librosa_beat_f_any']:.3f} | {row['tempo']} | {row['librosa_tempo']} | "
              f"{row['downbeat_f']:.3f} | {row['drops_right']}/{row['drops_found']} | "
              f"{row['drops_recalled']}/{row['drops_true']} |", flush=True)
    summary(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
