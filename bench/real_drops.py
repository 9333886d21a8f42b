#!/usr/bin/env python3
"""Drops on real recordings: mixed and mastered game music from Debian packages, drops marked by a person from
plots (never from the analysis), scored against both beat trackers.

    apt-get install warzone2100-music hedgewars-data supertux-data     # the recordings (about 480 MB installed)
    python3 bench/real_drops.py plots          # bench/.corpus/real/*.png, the plots the marks are read from
    python3 bench/real_drops.py                # the scoreboard: tuning half and held-out half apart

The marks, the rule they follow and the split are in bench/real_drops.json (written before any rule was tuned on
these recordings; the held-out half is looked at only to report it). Decoded audio and plots go to
bench/.corpus/real (not committed); the plots are drawn in the reference environment (bench/.reference, librosa
and matplotlib) by bench/real_plots.py, which does not import the skill. Not a test: BENCHMARKS.md keeps the
results with this command.

Scores: a found drop is right when a mark (sure or doubtful) is within WINDOW seconds; a sure mark is found when a
drop is within WINDOW; doubtful marks count neither way. Reported per half and per tracker.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from scoreboard import REFERENCE, matches  # noqa: E402

from nemo_local.analysis import analyse_features, rhythm  # noqa: E402
from nemo_local.analysis.features import extract  # noqa: E402
from nemo_local.media.ffmpeg import ffmpeg_exe  # noqa: E402

MARKS = ROOT / "bench" / "real_drops.json"
OUT = ROOT / "bench" / ".corpus" / "real"
WINDOW = 0.5
TRACKERS = ("beatnet", "signal")
HALVES = ("tune", "held-out", "held-out-2", "held-out-3", "held-out-4")


def tracks(only: list[str] | None = None, half: str = "all") -> list[dict[str, Any]]:
    """The recordings of the marks file: all of them, or those named in `only`, or of one half."""
    return [track for track in json.loads(MARKS.read_text())["tracks"]
            if (not only or track["name"] in only) and half in ("all", track["half"])]


def selection_arguments(parser: argparse.ArgumentParser) -> None:
    """--only, --half and --json, as this scoreboard and bench/real_beats.py take them."""
    parser.add_argument("--only", nargs="*", default=[], help="track names")
    parser.add_argument("--half", choices=[*HALVES, "all"], default="all")
    parser.add_argument("--json", type=Path, help="write the rows here")


def decoded(track: dict[str, Any]) -> Path:
    """The recording as 44.1 kHz mono WAV (once); its source checked against the SHA-256 in the marks file."""
    source = Path(track["file"])
    if not source.exists():
        sys.exit(f"{source} missing: apt-get install {track['package']}")
    wav = OUT / f"{track['name']}.wav"
    if not wav.exists():
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if track.get("sha256") and digest != track["sha256"]:
            sys.exit(f"{source}: not the recording that was marked (sha256 {digest[:12]}...)")
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-ac", "1", "-ar", "44100",
                        str(wav)], check=True)
    return wav


def reference_python() -> Path:
    """The reference environment's interpreter (librosa, matplotlib), which bench/scoreboard.py makes."""
    python = REFERENCE / "bin" / "python"
    if not python.exists():
        sys.exit("no reference environment: run python3 bench/scoreboard.py once (it makes bench/.reference)")
    return python


def plots(names: list[str]) -> None:
    python = reference_python()
    for track in tracks(names):
        png = OUT / f"{track['name']}.png"
        if not png.exists():
            subprocess.run([str(python), str(ROOT / "bench" / "real_plots.py"), str(decoded(track)), str(png)],
                           check=True)
        print(png)


def score(track: dict[str, Any]) -> dict[str, Any]:
    wav = decoded(track)
    started = time.perf_counter()
    features = extract(wav)
    row: dict[str, Any] = {"name": track["name"], "half": track["half"], "duration": round(features.duration, 1)}
    sure, maybe = [float(t) for t in track["drops"]], [float(t) for t in track.get("doubtful", [])]
    for tracker in TRACKERS:       # beatnet: the default analysis (the network, unless `pulse` refuses its tempo)
        analysis = analyse_features(features, rhythm(wav, features) if tracker == "beatnet" else None)
        found = [round(t, 2) for t in analysis.drops]
        row[tracker] = {"found": found, "strength": analysis.drop_strength, "tempo": round(analysis.tempo, 1),
                        "right": matches(found, sure + maybe, WINDOW), "recalled": matches(sure, found, WINDOW)}
    row["sure"], row["seconds"] = len(sure), round(time.perf_counter() - started, 1)
    return row


def totals(rows: list[dict[str, Any]], tracker: str) -> str:
    found = sum(len(r[tracker]["found"]) for r in rows)
    right = sum(r[tracker]["right"] for r in rows)
    sure = sum(r["sure"] for r in rows)
    recalled = sum(r[tracker]["recalled"] for r in rows)
    p = right / found if found else float("nan")
    return f"P {right}/{found} = {p:.2f}, R {recalled}/{sure} = {recalled / max(sure, 1):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="score", choices=["score", "plots"])
    selection_arguments(parser)
    args = parser.parse_args()
    if args.what == "plots":
        plots(args.only)
        return
    rows = []
    for track in tracks(args.only, args.half):
        row = score(track)
        rows.append(row)
        marks = ", ".join(f"{t:g}" for t in track["drops"]) + (f" (doubtful {track['doubtful']})"
                                                               if track.get("doubtful") else "")
        print(f"{row['half']:8} {row['name']:28} marks [{marks}] | " + " | ".join(
            f"{k} {row[k]['tempo']} {row[k]['found']} {row[k]['right']}/{len(row[k]['found'])} "
            f"{row[k]['recalled']}/{row['sure']}" for k in TRACKERS), flush=True)
    for half in HALVES:
        group = [r for r in rows if r["half"] == half]
        if group:
            print(f"{half}: {len(group)} recordings, {sum(r['sure'] for r in group)} marked drops; " + "; ".join(
                f"{k}: {totals(group, k)}" for k in TRACKERS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
