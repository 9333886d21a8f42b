#!/usr/bin/env python3
"""Montage benchmark: the user's photos and clips cut to the music, against today's single-background render.

    python3 bench/montage_bench.py                # 3 min: reference, 12 photos, 4 clips; then the RSS checks
    python3 bench/montage_bench.py --quick        # 1 min, fewer cases

Every case runs in its own process, end to end from the director: analysis (no cache), the cut plan, photo
decoding, drawing, encoding. The reference (one photo-like background, bars, title, progress bar) is measured
in the same run, so the ratios hold on a noisy shared machine. Photos are 4032x3024 phone-sized JPEGs with a
smooth texture; clips are 1080p H.264 with motion. RSS is sampled from /proc (see render_bench.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from render_bench import MemoryWatch, make_inputs  # noqa: E402

PROMPT = "cut my photos on the beat, bars over them"


def photos(folder: Path, count: int) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(7)
    out = []
    for k in range(count):
        small = rng.uniform(0, 255, (24, 32, 3)).astype(np.uint8)     # smooth colour fields, like a photo
        image = Image.fromarray(small).resize((4032, 3024), Image.Resampling.BICUBIC)
        grain = rng.normal(0, 6, (3024, 4032, 1))
        pixels = np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8)
        path = folder / f"photo{k + 1:02d}.jpg"
        Image.fromarray(pixels).filter(ImageFilter.SMOOTH).save(path, quality=88)
        out.append(path)
    return out


def clips(folder: Path, count: int) -> list[Path]:
    from nemo_local.media.ffmpeg import ffmpeg_exe

    out = []
    for k in range(count):
        path = folder / f"clip{k + 1}.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size=1920x1080:rate=30,hue=h={k * 70},noise=alls=6:allf=t", "-t", "6",
                        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(path)], check=True)
        out.append(path)
    return out


def child(audio: Path, pictures: list[Path], out: Path) -> dict[str, Any]:
    from nemo_local.analysis import analyse
    from nemo_local.director.montage import rhythm_of
    from nemo_local.director.turn import direct
    from nemo_local.media.ffmpeg import probe
    from nemo_local.render import RenderJob, get_renderer

    files = [{"file_id": "audio", "filename": audio.name, "kind": "audio",
              "info": {"duration": probe(audio).duration}, "path": str(audio)}]
    files += [{"file_id": f"p{k}", "filename": p.name, "kind": "video" if p.suffix == ".mp4" else "image",
               "info": {}, "path": str(p)} for k, p in enumerate(pictures)]
    started = time.perf_counter()
    prompt = PROMPT if len(pictures) > 1 else 'bars, title "Night Drive", progress bar'
    draft = direct(prompt, {}, files, "bars", lambda f: rhythm_of(analyse(Path(f["path"])))).draft
    get_renderer().render(RenderJob(draft=draft, sources={f["file_id"]: Path(f["path"]) for f in files},
                                    output=out, fps=30))
    shots = len(next(t["sg"] for t in draft["t"] if t["tt"] == 0))
    return {"seconds": time.perf_counter() - started, "duration": draft["d"] / 1000, "shots": shots}


def run(audio: Path, pictures: list[Path], out: Path) -> dict[str, Any]:
    for cache in audio.parent.glob(f".{audio.name}.analysis-*"):
        cache.unlink()
    proc = subprocess.run([sys.executable, __file__, "--child", str(audio), str(out), *map(str, pictures)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        audio, out, *pictures = args.child
        with MemoryWatch() as watch:
            result = child(Path(audio), [Path(p) for p in pictures], Path(out))
        result["rss_mb"] = MemoryWatch._kb("self", "VmHWM") / 1024
        result["total_rss_mb"] = watch.peak_total_mb
        print(json.dumps(result))
        return
    minutes = 1.0 if args.quick else 3.0
    print("| case | track | shots | wall s | x realtime | vs reference | peak RSS python MB | peak RSS all MB "
          "| Mbit/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio, background = make_inputs(folder, minutes)
        many = photos(folder, 24)
        cases: list[tuple[str, Path, list[Path]]] = [
            ("reference: one background", audio, [background]),
            ("12 photos", audio, many[:12]),
            ("4 clips (1080p H.264)", audio, clips(folder, 4)),
        ]
        if not args.quick:
            longer, _ = make_inputs(folder / "long" if (folder / "long").mkdir() is None else folder, 2 * minutes)
            cases += [("24 photos", audio, many), ("12 photos, twice as long", longer, many[:12])]
        reference = None
        for name, track, pictures in cases:
            out = folder / "out.mp4"
            r = run(track, pictures, out)
            speed = r["duration"] / r["seconds"]
            reference = reference or speed
            mbit = out.stat().st_size * 8 / r["duration"] / 1e6
            print(f"| {name} | {r['duration'] / 60:g} min | {r['shots']} | {r['seconds']:.1f} | {speed:.2f} | "
                  f"{speed / reference:.2f} | {r['rss_mb']:.0f} | {r['total_rss_mb']:.0f} | {mbit:.1f} |", flush=True)


if __name__ == "__main__":
    main()
