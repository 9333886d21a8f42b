#!/usr/bin/env python3
"""Analysis benchmark: what each step of the audio analysis costs, as a share of the track's duration.

    python3 bench/analysis_bench.py [--minutes 3 10] [--runs 3]

The track is the synthetic demo track (intro, break, drop) repeated to the length asked, written as a WAV, so
every step has work to do: features (decode + STFT), the signal tracker's beats, and, with the beat model
installed, the network's activations (its own two decodes at 22.05 kHz, two frame grids) and the bar tracker;
downbeats (counted on the network's beats when it runs), drops, sections.
Each step is timed on its own (best of `--runs`), in-process, after one warm-up run; "all" sums the steps a
render runs (the network's instead of the signal tracker's when the model is there). The peak memory of a whole
`analyse()` in a fresh process is given too (its VmHWM), to show it does not grow with the track. Not a test:
BENCHMARKS.md has results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from nemo_local.analysis import bar_tracker, beat_model, beat_net  # noqa: E402
from nemo_local.analysis.beats import beat_strength, beat_times, peaks_near  # noqa: E402
from nemo_local.analysis.downbeats import downbeats  # noqa: E402
from nemo_local.analysis.features import extract  # noqa: E402
from nemo_local.analysis.structure import drops, sections  # noqa: E402
from nemo_local.media.synth import demo_track, write_wav  # noqa: E402


def best_of(runs: int, step: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def steps_for(path: Path) -> dict[str, Callable[[], object]]:
    """Every analysis step of one file, each ready to time on its own (the later ones on the first's output)."""
    features = extract(path)
    beats, _, _ = beat_times(features.onset)
    steps: dict[str, Callable[[], object]] = {
        "features": lambda: extract(path),
        "signal beats": lambda: beat_times(features.onset),
    }
    heard, strength = None, beat_strength(features.onset, beats)
    if beat_model.available():
        models = beat_model.load()
        activation = beat_net.activations(path, models)
        steps["network activations"] = lambda: beat_net.activations(path, models)
        steps["bar tracker"] = lambda: bar_tracker.track(activation, beat_net.FPS)
        beats = bar_tracker.track(activation, beat_net.FPS)[0]
        heard = peaks_near(activation[:, 1], beats, beat_net.FPS)
        strength = peaks_near(activation.sum(axis=1), beats, beat_net.FPS)
    steps["downbeats"] = lambda: downbeats(beats, features, heard)
    bars = downbeats(beats, features, heard)[0]
    steps["drops"] = lambda: drops(features, beats, bars, strength)
    steps["sections"] = lambda: sections(features.bands, beats, features.duration)
    return steps


def peak_memory_mb(path: Path) -> float:
    """Peak resident memory of a fresh process that imports the analysis and analyses the file, in MB."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report this (large) process
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from nemo_local.analysis import analyse; analyse(Path(sys.argv[2]), cache=False); "
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "scripts"), str(path)], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[3.0, 10.0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    piece = demo_track(seconds=20.0, bpm=124.0, rate=44100)
    print("| track | step | seconds | % of the track |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for minutes in args.minutes:
            repeats = max(1, round(minutes * 3))
            path = write_wav(Path(folder) / f"track-{minutes:g}.wav", np.tile(piece.samples, repeats), piece.rate)
            duration = repeats * 20.0
            total = 0.0
            for name, step in steps_for(path).items():
                seconds = best_of(args.runs, step)
                if not name.startswith("signal") or not beat_model.available():
                    total += seconds
                print(f"| {minutes:g} min | {name} | {seconds:.3f} | {100 * seconds / duration:.3f} |")
            print(f"| {minutes:g} min | **all** | {total:.3f} | {100 * total / duration:.3f} |")
            print(f"| {minutes:g} min | peak memory of analyse() | {peak_memory_mb(path):.0f} MB | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
