#!/usr/bin/env python3
"""Encoder benchmark: x264 settings against speed, bytes and quality, on the engine's own 1080p pictures.

    python3 bench/encoder_bench.py                     # 20 s per style, every candidate on `bars` + photo
    python3 bench/encoder_bench.py --seconds 10 --styles bars
    python3 bench/encoder_bench.py --versus --seconds 60   # the previous default against today's, head to head

For each style a lossless render (x264 -qp 0) is the reference. Each candidate renders the same draft end to end
(decode, analysis without cache, drawing, encoding) and is timed; its bitrate is read from the file and its
quality is the SSIM (and PSNR) of its frames against the reference's, by ffmpeg's ssim/psnr filters. Renders are
deterministic, so the two frame sequences are the same pictures. Not a test: BENCHMARKS.md records the results.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from render_bench import make_inputs, natural_photo  # noqa: E402

from nemo_local.media.ffmpeg import ffmpeg_exe  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402
from nemo_local.render.settings import EncodeSettings  # noqa: E402


def x264(preset: str, crf: float, keyint: int = 250, params: str = "") -> EncodeSettings:
    return EncodeSettings(preset, crf, keyint=keyint, x264=params)


CANDIDATES: dict[str, EncodeSettings] = {
    "ultrafast crf21 (old bench)": x264("ultrafast", 21),
    "ultrafast crf23 (old default)": x264("ultrafast", 23),
    "ultrafast crf23 cabac": x264("ultrafast", 23, 250, "cabac=1"),
    "ultrafast crf23 cabac keyint300": x264("ultrafast", 23, 300, "cabac=1"),
    "ultrafast crf23 cabac keyint300 deadzone32": x264("ultrafast", 23, 300, "cabac=1:deadzone-inter=32"),
    "ultrafast crf25 cabac keyint300": x264("ultrafast", 25, 300, "cabac=1"),
    "superfast crf23": x264("superfast", 23),
    "superfast crf23 keyint300": x264("superfast", 23, 300),
    "superfast crf23 keyint300 ref1": x264("superfast", 23, 300, "ref=1"),
    "superfast crf25 keyint300": x264("superfast", 25, 300),
    "veryfast crf23 keyint300": x264("veryfast", 23, 300),
    "veryfast crf23 keyint300 ref1 bf2": x264("veryfast", 23, 300, "ref=1:bframes=2"),
    "veryfast crf25 keyint300": x264("veryfast", 25, 300),
    "ultrafast crf22 cabac keyint300 mbtree": x264("ultrafast", 22, 300, "cabac=1:mbtree=1:rc-lookahead=10"),
    "ultrafast crf22 cabac keyint300 mbtree aq1": x264("ultrafast", 22, 300,
                                                        "cabac=1:mbtree=1:rc-lookahead=10:aq-mode=1"),
    "ultrafast crf22 cabac keyint300 mbtree deblock 8x8dct": x264("ultrafast", 22, 300,
                                                                   "cabac=1:mbtree=1:rc-lookahead=10:deblock=1:"
                                                                   "8x8dct=1"),
    "ultrafast crf20 cabac keyint300 mbtree": x264("ultrafast", 20, 300, "cabac=1:mbtree=1:rc-lookahead=10"),
    "ultrafast crf22 cabac keyint300 mbtree deblock (new default)": x264("ultrafast", 22, 300,
                                                                          "cabac=1:mbtree=1:rc-lookahead=10:"
                                                                          "deblock=1"),
}

# The default before mbtree (2026-11-23 to 2026-12-03), for --versus.
PREVIOUS_DEFAULT = x264("ultrafast", 23, 300, "cabac=1")


def draft(style: str, seconds: float, image: bool) -> dict[str, object]:
    ms = int(seconds * 1000)
    visual = {"kind": "image", "src": "image", "s": 0, "d": ms} if image else {"kind": "visualizer", "s": 0, "d": ms}
    return {"d": ms, "m": {"style": style, "width": 1920, "height": 1080, "accent": "#36c5f0", "beat_sync": True,
                           "drops": True, "progress_bar": True},
            "t": [{"tt": 0, "sg": [visual]}, {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]},
                  {"tt": 7, "sg": [{"text": "Night Drive", "s": 0, "d": 3000}]}]}


def render(audio: Path, image: Path, out: Path, the_draft: dict[str, object], settings: EncodeSettings) -> float:
    for cache in audio.parent.glob(f".{audio.name}.analysis-*"):
        cache.unlink()
    started = time.perf_counter()
    get_renderer().render(RenderJob(draft=the_draft, sources={"audio": audio, "image": image}, output=out,
                                    encoding=settings))
    return time.perf_counter() - started


def quality(candidate: Path, reference: Path) -> tuple[float, float]:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(candidate), "-i", str(reference),
                           "-lavfi", "[0:v][1:v]ssim;[0:v][1:v]psnr", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    ssim = re.search(r"SSIM .*All:([\d.]+)", proc.stderr)
    psnr = re.search(r"PSNR .*average:([\d.inf]+)", proc.stderr)
    return float(ssim[1]) if ssim else 0.0, float(psnr[1]) if psnr else 0.0


def video_kbps(path: Path, seconds: float) -> float:
    return path.stat().st_size * 8 / seconds / 1000


REFERENCE = ROOT / "bench" / "encoder_reference.json"
REFERENCE_SECONDS = 6.0


def reference_render(folder: Path) -> tuple[Path, float]:
    """The render whose size the defaults are held to (tests/test_sharing.py): 6 s of the demo track, `bars` on
    the photo-like background, 1920x1080, the default EncodeSettings. Returns (file, total kbit/s)."""
    audio, image = make_inputs(folder, REFERENCE_SECONDS / 60)
    out = folder / "defaults.mp4"
    render(audio, image, out, draft("bars", REFERENCE_SECONDS, True), EncodeSettings())
    return out, video_kbps(out, REFERENCE_SECONDS)


def record_reference() -> None:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        _, kbps = reference_render(Path(tmp))
    REFERENCE.write_text(json.dumps({"command": "python3 bench/encoder_bench.py --record-reference",
                                     "settings": repr(EncodeSettings()), "seconds": REFERENCE_SECONDS,
                                     "kbps": round(kbps, 1)}, indent=2) + "\n")
    print(f"{REFERENCE.relative_to(ROOT)}: {kbps:.0f} kbit/s")


def versus(seconds: float, runs: int, styles: list[str]) -> None:
    """The previous default against today's on every picture, end to end, runs interleaved so that both see the
    same machine; speed is reported as today's x-realtime over the previous default's (best of `runs`)."""
    print(f"1920x1080 30 fps, {seconds:g} s per render, end to end, best of {runs}; Mbit/s includes AAC 192k")
    print("| picture | settings | wall s | x realtime | speed vs previous | Mbit/s | SSIM | PSNR dB |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio, grain = make_inputs(folder, seconds / 60)
        textured = natural_photo(folder / "textured.png")
        cases = [("bars on a grain photo", "bars", grain, True), ("bars on a textured photo", "bars", textured, True),
                 ("bars on a textured photo, not frosted", "bars", textured, False),
                 ("wave on a textured photo", "wave", textured, True),
                 *((style, style, None, True) for style in styles)]
        for label, style, image, frosted in cases:
            the_draft = draft(style, seconds, image is not None)
            the_draft["m"]["frost"] = frosted
            picture = image or grain
            reference = folder / "reference.mkv"
            render(audio, picture, reference, the_draft, EncodeSettings("ultrafast", lossless=True))
            settings = {"previous default": PREVIOUS_DEFAULT, "default": EncodeSettings()}
            walls: dict[str, list[float]] = {name: [] for name in settings}
            for _ in range(runs):
                for name, chosen in settings.items():
                    walls[name].append(render(audio, picture, folder / f"{name}.mp4", the_draft, chosen))
            for name in settings:
                out = folder / f"{name}.mp4"
                ssim, psnr = quality(out, reference)
                wall = min(walls[name])
                print(f"| {label} | {name} | {wall:.1f} | {seconds / wall:.2f} | "
                      f"{min(walls['previous default']) / wall:.2f} | {video_kbps(out, seconds) / 1000:.2f} | "
                      f"{ssim:.4f} | {psnr:.1f} |", flush=True)
            reference.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--styles", nargs="+", default=["bars", "wave", "circle", "rings"])
    parser.add_argument("--pick", default="ultrafast crf23 cabac keyint300", help="the candidate run on every style")
    parser.add_argument("--only", nargs="+", help="run only these candidates (names as in the table)")
    parser.add_argument("--no-photo", action="store_true", help="skip the photo background")
    parser.add_argument("--record-reference", action="store_true",
                        help=f"write {REFERENCE.name}: the defaults' bitrate that the tests hold them to")
    parser.add_argument("--versus", action="store_true",
                        help="the previous default against today's on every picture, interleaved runs")
    parser.add_argument("--runs", type=int, default=2, help="with --versus: runs of each, best taken")
    args = parser.parse_args()
    if args.versus:
        versus(args.seconds, args.runs, args.styles)
        return
    if args.record_reference:
        record_reference()
        return
    print(f"1920x1080 30 fps, {args.seconds:g} s per render, end to end; file Mbit/s includes AAC 192k")
    print("| picture | settings | wall s | x realtime | Mbit/s | SSIM | PSNR dB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audio, image = make_inputs(folder, args.seconds / 60)
        cases = [*([] if args.no_photo else [("bars", True)]), *((style, False) for style in args.styles)]
        for style, with_image in cases:
            label = f"{style} on a photo" if with_image else style
            the_draft = draft(style, args.seconds, with_image)
            reference = folder / f"ref-{label}.mkv"
            render(audio, image, reference, the_draft, EncodeSettings("ultrafast", lossless=True))
            names = list(CANDIDATES) if with_image or style == "bars" else [args.pick]
            if args.only:
                names = [name for name in args.only if name in CANDIDATES]
            for name in names:
                out = folder / "candidate.mp4"
                wall = render(audio, image, out, the_draft, CANDIDATES[name])
                ssim, psnr = quality(out, reference)
                print(f"| {label} | {name} | {wall:.1f} | {args.seconds / wall:.2f} | "
                      f"{video_kbps(out, args.seconds) / 1000:.2f} | {ssim:.4f} | {psnr:.1f} |", flush=True)
            reference.unlink()


if __name__ == "__main__":
    main()
