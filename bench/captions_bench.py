#!/usr/bin/env python3
"""Captions benchmark: transcription speed, end-to-end speed at 1080x1920 with captions, and peak RSS, on long
spoken files (espeak-ng reading a generated text, with pauses between sentences).

    python3 bench/captions_bench.py                  # 10 and 60 minutes
    python3 bench/captions_bench.py --minutes 2      # a quick look

Each measurement runs in its own process: `transcribe` (no cache), then `render` (the transcript cached, as
after a first render; analysis not cached), and, up to 10 minutes, a reference render of the same audio without
captions, so the cost of the caption layer is a ratio from the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from render_bench import MemoryWatch  # noqa: E402

SUBJECTS = ["My sister", "The drummer", "Our producer", "A listener from Ohio", "The new intern", "Everybody here",
            "Nobody on the team", "Your favourite singer", "The sound engineer", "My neighbour"]
VERBS = ["talked about", "finally finished", "could not stop thinking about", "wrote a song about",
         "spent the weekend on", "asked me about", "recorded", "laughed at", "described", "remembered"]
OBJECTS = ["the summer festival", "a broken guitar string", "the longest road trip of the year",
           "coffee at three in the morning", "the old tape machine", "a concert in the rain",
           "the first album we ever bought", "learning to play the piano", "the quiet part of the show",
           "a cheap microphone that sounded amazing"]


def speech(folder: Path, minutes: float) -> Path:
    """Sentences read by espeak-ng, joined with short pauses, until `minutes` of audio."""
    import numpy as np

    rate, target, parts, total, k = 22050, minutes * 60, [], 0.0, 0
    chunk = folder / "chunk.wav"
    rng = np.random.default_rng(5)
    while total < target:
        text = " ".join(f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}." for _ in range(6))
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(chunk), text], check=True)
        with wave.open(str(chunk)) as handle:
            samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
        parts += [samples, np.zeros(int(rate * 0.6), "<i2")]
        total += (len(samples) + rate * 0.6) / rate
        k += 1
    path = folder / f"talk-{minutes:g}min.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.concatenate(parts)[: int(target * rate)].tobytes())
    return path


def child(kind: str, audio: Path, out: Path) -> dict[str, Any]:
    from nemo_local.director.turn import direct
    from nemo_local.media.ffmpeg import probe
    from nemo_local.render import RenderJob, get_renderer
    from nemo_local.speech import asr

    duration = probe(audio).duration or 0.0
    started = time.perf_counter()
    if kind == "transcribe":
        words = asr.transcribe(audio)
        return {"seconds": time.perf_counter() - started, "duration": duration, "words": len(words)}
    files = [{"file_id": "a", "filename": audio.name, "kind": "audio", "info": {"duration": duration}}]
    prompt = "vertical, waveform, captions" if kind == "render" else "vertical, waveform, no captions"
    draft = direct(prompt, {}, files, "wave", for_speech=kind == "render").draft
    get_renderer().render(RenderJob(draft=draft, sources={"a": audio}, output=out, fps=30,
                                    captions=out.with_suffix("")))
    return {"seconds": time.perf_counter() - started, "duration": duration}


def run(kind: str, audio: Path, out: Path) -> dict[str, Any]:
    for cache in audio.parent.glob(f".{audio.name}.analysis-*"):
        cache.unlink()
    if kind == "transcribe":
        for cache in audio.parent.glob(f".{audio.name}.transcript-*"):
            cache.unlink()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(audio), str(out)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, audio, out = args.child
        with MemoryWatch() as watch:
            result = child(kind, Path(audio), Path(out))
        result["rss_mb"] = MemoryWatch._kb("self", "VmHWM") / 1024
        result["total_rss_mb"] = watch.peak_total_mb
        print(json.dumps(result))
        return
    print("| audio | step | wall s | x realtime | peak RSS python MB | peak RSS all MB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            folder = Path(tmp) / f"{minutes:g}"
            folder.mkdir()
            audio = speech(folder, minutes)
            for kind in ("transcribe", "render", "reference") if minutes <= 10 else ("transcribe", "render"):
                r = run(kind, audio, folder / f"{kind}.mp4")
                name = {"transcribe": "transcription (tiny.en, int8)", "render": "render 1080x1920, captions",
                        "reference": "same render, no captions"}[kind]
                print(f"| {minutes:g} min | {name} | {r['seconds']:.1f} | {r['duration'] / r['seconds']:.2f} | "
                      f"{r['rss_mb']:.0f} | {r['total_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
