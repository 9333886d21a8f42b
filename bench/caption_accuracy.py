#!/usr/bin/env python3
"""Caption accuracy: the word error rate of each installed English speech model, counted as ASR is scored
(Whisper's English normaliser: case, punctuation, British and American spellings, numbers in words or digits are
no errors), over many synthetic voices (espeak-ng, flite, festival) at two speeds; and what each model costs
(x realtime on this machine, peak memory). The passages are split in two: the default model is chosen on the
tuning half; the held-out half is reported apart, as the check.

    python3 bench/caption_accuracy.py --json out/caption_accuracy.json

Needs espeak-ng, flite and festival (Debian packages) and both models: the [captions-zh] extra (tiny.en and base).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from nemo_local.media.ffmpeg import ffmpeg_exe, probe  # noqa: E402
from nemo_local.speech import asr, models  # noqa: E402
from nemo_local.speech.scoring import edit_distance, normalised  # noqa: E402

PASSAGES = [   # everyday podcast speech with names, numbers, dates and British spellings; even: tuning, odd: held out
    "Welcome back to the show. Today we are talking about the harbour festival, which opens on the third of June.",
    "My neighbour bought a second hand guitar for forty five pounds, and it sounds better than mine.",
    "The train to Manchester was late again, so we recorded this episode in the waiting room at seven.",
    "She told me the colour of the album cover was chosen in about ten minutes, after a very long night.",
    "If you enjoyed this conversation, please leave a review and tell a friend who likes music.",
    "Our guest has played the drums for twenty years and still practises every morning before breakfast.",
    "The theatre was half empty, but the sound was warm and the crowd sang along to every chorus.",
    "We counted one hundred and twelve emails about the last episode, most of them very kind.",
    "By seven in the evening the studio was quiet, and the engineer finally found the missing track.",
    "Nobody expected the small band from Leeds to sell out the arena in less than an hour.",
    "The microphone we used cost about thirty dollars, which surprised everyone who heard the demo.",
    "Next week we travel to Dublin to meet a songwriter who writes every lyric on old postcards.",
    "Our producer says the secret is patience, a good pair of headphones and plenty of tea.",
    "The festival programme lists eighty acts across four stages over a long summer weekend.",
    "Thanks for listening to episode twenty four, and remember to check the show notes for links.",
    "The vinyl pressing was delayed by a month, so the launch party moved to the first of October.",
]


def voices() -> dict[str, list[str]]:
    """voice name -> the command that speaks TEXT into OUT (placeholders), for the synthesisers installed."""
    found: dict[str, list[str]] = {}
    if shutil.which("espeak-ng"):
        for voice, speed in (("en-us", 150), ("en-us", 190), ("en-gb", 160), ("en-us+f3", 150), ("en-gb+m7", 175)):
            found[f"espeak-ng {voice} {speed}"] = ["espeak-ng", "-v", voice, "-s", str(speed), "-w", "OUT", "TEXT"]
    if shutil.which("flite"):
        for voice, stretch in (("slt", "1.0"), ("rms", "1.0"), ("awb", "1.0"), ("kal", "1.0"), ("slt", "0.8")):
            found[f"flite {voice} x{1 / float(stretch):.2g}"] = [
                "flite", "-voice", voice, "--setf", f"duration_stretch={stretch}", "-t", "TEXT", "-o", "OUT"]
    if shutil.which("text2wave"):
        found["festival kal"] = ["sh", "-c", 'printf %s "$0" | text2wave -o "$1"', "TEXT", "OUT"]
    return found


def speak(command: list[str], text: str, out: Path) -> Path:
    raw = out.with_suffix(".raw.wav")
    subprocess.run([text if a == "TEXT" else str(raw) if a == "OUT" else a for a in command], check=True,
                   capture_output=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(raw), "-ar", "16000", "-ac", "1", str(out)],
                   check=True)
    raw.unlink()
    return out


def heard(path: Path, accurate: bool) -> str:
    return " ".join(w.text for w in asr.transcribe(path, accurate=accurate))


def cost(paths: list[Path], accurate: bool) -> dict[str, float]:
    """x realtime and peak memory of one model over the files, in a process of its own (no caches)."""
    code = "\n".join([
        "import sys, time, json", "from pathlib import Path", f"sys.path.insert(0, {str(ROOT / 'scripts')!r})",
        "from nemo_local.speech import asr", "from nemo_local.media.ffmpeg import probe",
        "paths = [Path(p) for p in json.loads(sys.argv[1])]",
        f"asr.transcribe(paths[0], accurate={accurate!r})",     # the model loaded first, as a server holds it
        "t = time.perf_counter()", f"for p in paths[1:]: asr.transcribe(p, accurate={accurate!r})",
        "spent = time.perf_counter() - t", "audio = sum(probe(p).duration for p in paths[1:])",
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]",
        "print(json.dumps({'x_realtime': spent / audio, 'peak_mb': int(peak) / 1024}))"])
    with tempfile.TemporaryDirectory() as tmp:   # fresh copies: nothing cached beside them
        copies = []
        for k, path in enumerate(paths):
            copies.append(Path(tmp) / f"{k}.wav")
            shutil.copy(path, copies[-1])
        done = subprocess.run([sys.executable, "-c", code, json.dumps([str(p) for p in copies])], check=True,
                              capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    names = {False: models.model_source().name, True: models.model_source(accurate=True).name}
    table: dict[str, Any] = {"models": names, "voices": {}, "halves": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder, clips = Path(tmp), []
        for voice, command in voices().items():
            for k, passage in enumerate(PASSAGES):
                clips.append((voice, k, speak(command, passage, folder / f"{len(clips)}.wav")))
        errors: dict[tuple[str, bool, str], list[int]] = defaultdict(lambda: [0, 0])
        for voice, k, path in clips:
            half = "tuning" if k % 2 == 0 else "held out"
            said = normalised(PASSAGES[k])
            for accurate in (False, True):
                wrong = edit_distance(said, normalised(heard(path, accurate)))
                for key in ((voice, accurate, half), ("all", accurate, half)):
                    errors[key][0] += wrong
                    errors[key][1] += len(said)
        for (voice, accurate, half), (wrong, words) in sorted(errors.items()):
            where = table["halves"] if voice == "all" else table["voices"].setdefault(voice, {})
            where.setdefault(names[accurate], {})[half] = round(wrong / words, 4)
        sample = [path for _, _, path in clips[:: max(1, len(clips) // 24)]]
        seconds = sum(probe(p).duration or 0 for p in sample)
        table["cost"] = {names[accurate]: {**cost(sample, accurate), "audio_s": round(seconds, 1)}
                         for accurate in (False, True)}
    table["clips"], table["passages"] = len(clips), len(PASSAGES)
    print(json.dumps(table, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"{time.monotonic() - started:.0f} s", file=sys.stderr)
