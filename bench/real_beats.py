#!/usr/bin/env python3
"""Beats on real recordings: both trackers against the grids of the steady recordings of bench/real_drops.json.

    python3 bench/real_beats.py                  # every recording; grids made once (bench/real_grid.py)
    python3 bench/real_beats.py --half held-out  # one half

The truth is the constant-tempo grid a recording's onsets fit (bench/real_grid.py, in the reference environment,
without the skill), kept only for recordings that hold it from start to end ("steady"); the others are listed and
left out. Each tracker is scored at its own metrical level when that is the grid's, half or double it (half time:
either phase of the grid's every other beat; double: the grid and the points between) - the level a listener taps
is a choice, so the level is reported, not scored. A tempo at any other ratio (4/3, 3/2: the wrong pulse) is
scored against the grid itself. Per recording: beat F (70 ms, MIREX); in brackets F when the grid's off-beats count
too (the grid's phase is where the onsets gather most, and on some chiptunes that is the off-beat: there both
trackers agree with each other on the other phase); the level; and the timing of the beats that
hit: their mean offset from the grid (the onset function's own lag is in it, the same for both trackers) and
their spread around it (jitter, the standard deviation: how steadily the beats keep time). "frames": the network's
beats put back on its 20 ms frames (what `bar_tracker.vertex` refines), to measure what the sub-frame step gives.
"default": the beats the analysis uses (`analysis.chosen`: the network's, unless `pulse` refuses its tempo).
Not a test: BENCHMARKS.md keeps the results with this command.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_drops import HALVES, OUT, ROOT, decoded, reference_python, selection_arguments, tracks
from scoreboard import beat_match

from nemo_local.analysis import beat_net, beat_period, chosen, neural_rhythm, signal_rhythm
from nemo_local.analysis.features import extract

LEVELS = {"half": 0.5, "same": 1.0, "double": 2.0}
TRACKERS = ("beatnet", "signal", "frames", "default")   # frames: the network's beats on its 20 ms frames, before
                                                        # `vertex`; default: what the analysis uses (`chosen`)


def grid(track: dict[str, Any]) -> dict[str, Any]:
    target = OUT / f"{track['name']}.grid.json"
    if not target.exists():
        python = reference_python()
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        subprocess.run([str(python), str(ROOT / "bench" / "real_grid.py"), str(decoded(track)), str(target)],
                       check=True, env=env)
    return dict(json.loads(target.read_text()))


def level_of(tempo: float, bpm: float) -> str:
    ratio = np.log2(max(tempo, 1e-6) / bpm)
    name = min(LEVELS, key=lambda k: abs(ratio - np.log2(LEVELS[k])))
    return name if abs(ratio - np.log2(LEVELS[name])) <= 0.03 else f"x{2 ** ratio:.2f}"


def truths(g: dict[str, Any], level: str) -> list[np.ndarray]:
    """The grid's beats at `level` over the heard part of the recording (a beat of it at either end left out)."""
    period, start, end = g["period"], g["start"] + g["period"], g["end"] - g["period"]
    beats = g["phase"] + period * np.arange(np.ceil((start - g["phase"]) / period), (end - g["phase"]) / period)
    if level == "half":
        return [beats[0::2], beats[1::2]]
    if level == "double":
        return [np.sort(np.concatenate([beats, beats + period / 2]))]
    return [beats]


def score(track: dict[str, Any]) -> dict[str, Any]:
    g = grid(track)
    row: dict[str, Any] = {"name": track["name"], "half": track["half"], "steady": g["steady"],
                           "bpm": round(g["bpm"], 2)}
    if not g["steady"]:
        return row
    wav = decoded(track)
    features = extract(wav)
    neural = neural_rhythm(wav, features)
    if neural is None:
        sys.exit("the beat network's weights are not installed: python3 scripts/nemo.py setup")
    signal = signal_rhythm(features)
    found = {"beatnet": neural.beats, "signal": signal.beats,
             "frames": np.round(neural.beats * beat_net.FPS) / beat_net.FPS,
             "default": chosen(neural, signal, features.onset).beats}
    for tracker in TRACKERS:
        beats = found[tracker]
        beats = beats[(beats >= g["start"] + g["period"] / 2) & (beats <= g["end"])]
        tempo = 60.0 / beat_period(beats) if len(beats) > 2 else 0.0
        level = level_of(tempo, g["bpm"])
        best = max((beat_match(beats, truth) for truth in truths(g, level if level in LEVELS else "same")),
                   key=lambda result: result[0])
        errors = 1000 * np.array(best[1] or [np.nan])
        shifted = {**g, "phase": g["phase"] + g["period"] / 2}
        either = max(best[0], *(beat_match(beats, truth)[0]
                                for truth in truths(shifted, level if level in LEVELS else "same")))
        row[tracker] = {"f": round(best[0], 3), "either": round(either, 3), "level": level, "tempo": round(tempo, 2),
                        "bias_ms": round(float(np.mean(errors)), 1), "jitter_ms": round(float(np.std(errors)), 1)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    selection_arguments(parser)
    args = parser.parse_args()
    rows = []
    for track in tracks(args.only, args.half):
        row = score(track)
        rows.append(row)
        if not row["steady"]:
            print(f"{row['half']:10} {row['name']:28} not steady (left out)", flush=True)
            continue
        print(f"{row['half']:10} {row['name']:28} grid {row['bpm']:7.2f} | " + " | ".join(
            f"{k} F {row[k]['f']:.3f} ({row[k]['either']:.3f}) {row[k]['level']:6} {row[k]['tempo']:7.2f} "
            f"off {row[k]['bias_ms']:+.1f} +- {row[k]['jitter_ms']:.1f} ms"
            for k in TRACKERS), flush=True)
    for half in HALVES:
        group = [r for r in rows if r["half"] == half and r["steady"]]
        if group:
            print(f"{half}: {len(group)} steady recordings; " + "; ".join(
                f"{k}: mean F {np.mean([r[k]['f'] for r in group]):.3f} "
                f"(either phase {np.mean([r[k]['either'] for r in group]):.3f}), "
                f"wrong pulse {sum(r[k]['level'] not in LEVELS for r in group)}, "
                f"half {sum(r[k]['level'] == 'half' for r in group)}, "
                f"jitter {np.nanmean([r[k]['jitter_ms'] for r in group]):.1f} ms" for k in TRACKERS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
