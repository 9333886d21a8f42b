#!/usr/bin/env python3
"""Render benchmark: the local engine against the ffmpeg audiogram recipe, same input, size and x264 settings.

    python3 bench/render_bench.py                 # 3- and 10-minute tracks at 1920x1080
    python3 bench/render_bench.py --minutes 1     # a quick look

Each render runs in its own process, end to end (decode, analysis with no cache, frames, encode), and reports
wall time, x-realtime and peak RSS (the Python process, and the largest ffmpeg child). Not a test: numbers
depend on the machine; BENCHMARKS.md records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

WIDTH, HEIGHT, FPS = 1920, 1080, 30
PRESET, CRF = os.environ.get("BENCH_PRESET", "ultrafast"), 21   # --preset sets it for the child processes
TITLE = "Night Drive"


def make_inputs(folder: Path, minutes: float) -> tuple[Path, Path]:
    import numpy as np

    from nemo_local.media.ffmpeg import ffmpeg_exe
    from nemo_local.media.synth import demo_track, write_wav

    seconds = minutes * 60
    track = demo_track(seconds=seconds, bpm=124, drop_at=seconds * 0.55, rate=44100)
    wav = write_wav(folder / "track.wav", track.samples, track.rate)
    mp3 = folder / f"track-{minutes:g}min.mp3"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "192k",
                    str(mp3)], check=True)
    wav.unlink()
    rng = np.random.default_rng(1)   # a photo-like background: colour gradient with fine texture
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    rgb = np.stack([60 + 120 * x / WIDTH, 40 + 60 * y / HEIGHT, 120 - 60 * x / WIDTH], -1)
    rgb += rng.normal(0, 12, rgb.shape)
    from PIL import Image

    image = folder / "background.png"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(image)
    return mp3, image


def natural_photo(path: Path, seed: int = 3) -> Path:
    """A photo-like picture with the statistics of real photographs rather than of pure grain: texture at every
    scale with an amplitude spectrum falling as 1/f (what natural images show), colour that follows the light,
    and a mild sensor grain (sigma 2.5). The grain-only background of make_inputs is the worst case; this is the
    usual one."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(HEIGHT)[:, None]
    fx = np.fft.rfftfreq(WIDTH)[None, :]
    falloff = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / WIDTH)

    def field() -> np.ndarray:
        spectrum = (rng.normal(size=falloff.shape) + 1j * rng.normal(size=falloff.shape)) * falloff
        values = np.fft.irfft2(spectrum, s=(HEIGHT, WIDTH))
        return ((values - values.mean()) / values.std()).astype(np.float32)

    light, warm, green = field(), field(), field()
    rgb = np.stack([110 + 45 * light + 18 * warm, 100 + 45 * light + 12 * green, 90 + 45 * light - 18 * warm], -1)
    rgb += rng.normal(0, 2.5, rgb.shape)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return path


def engine_child(audio: Path, image: Path, out: Path) -> dict[str, float]:
    from nemo_local.media.ffmpeg import probe
    from nemo_local.render import RenderJob, get_renderer

    duration = probe(audio).duration or 0.0
    ms = int(duration * 1000)
    draft = {"d": ms, "m": {"style": "bars", "width": WIDTH, "height": HEIGHT, "accent": "#36c5f0",
                            "beat_sync": True, "drops": True, "progress_bar": True},
             "t": [{"tt": 0, "sg": [{"kind": "image", "src": "image", "s": 0, "d": ms}]},
                   {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]},
                   {"tt": 7, "sg": [{"text": TITLE, "s": 0, "d": 3000}]}]}
    started = time.perf_counter()
    get_renderer().render(RenderJob(draft=draft, sources={"audio": audio, "image": image}, output=out, fps=FPS,
                                    preset=PRESET))
    return {"seconds": time.perf_counter() - started, "duration": duration}


def recipe_child(audio: Path, image: Path, out: Path) -> dict[str, float]:
    """The usual ffmpeg audiogram: image decoded once and looped, showwaves, drawtext, a progress bar."""
    from PIL import ImageFont

    from nemo_local.media.ffmpeg import ffmpeg_exe, probe

    duration = probe(audio).duration or 0.0
    font = out.with_suffix(".ttf")
    font.write_bytes(ImageFont.load_default(size=40).font_bytes)  # the same font the engine draws with
    graph = (
        f"movie={image},scale={WIDTH}:{HEIGHT},format=yuv420p,loop=loop=-1:size=1:start=0,"
        f"setpts=N/{FPS}/TB,trim=duration={duration}[bg];"
        f"[0:a]showwaves=s={WIDTH}x400:mode=cline:rate={FPS}:colors=0x36c5f0,format=yuva420p[wave];"
        f"color=c=0x36c5f0:s={WIDTH}x12:r={FPS}[bar];"
        f"[bg][wave]overlay=0:{(HEIGHT - 400) // 2}:shortest=1[v1];"
        f"[v1][bar]overlay=x='-W+W*t/{duration}':y={HEIGHT - 12}:shortest=1,"
        f"drawtext=fontfile={font}:text='{TITLE}':fontcolor=white:fontsize=86:x=(w-tw)/2:y=h*0.1:"
        f"enable='lt(t,3)'[v]"
    )
    cmd = [ffmpeg_exe(), "-v", "error", "-y", "-i", str(audio), "-filter_complex", graph, "-map", "[v]",
           "-map", "0:a", "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", "-frames:v", str(round(duration * FPS)),
           str(out)]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return {"seconds": time.perf_counter() - started, "duration": duration}


class MemoryWatch:
    """Samples this process and its children in /proc: ru_maxrss cannot be used, since Linux carries a
    parent's high-water mark into a child across vfork+exec."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_total_mb = 0.0
        self.peak_child_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _kb(pid: str, field: str) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def _children(self) -> list[str]:
        pids: list[str] = []
        for task in Path("/proc/self/task").iterdir():
            with contextlib.suppress(OSError):
                pids += (task / "children").read_text().split()
        return pids

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            children = self._children()
            total = self._kb("self", "VmRSS") + sum(self._kb(pid, "VmRSS") for pid in children)
            self.peak_total_mb = max(self.peak_total_mb, total / 1024)
            for pid in children:
                self.peak_child_mb = max(self.peak_child_mb, self._kb(pid, "VmHWM") / 1024)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_child(kind: str, audio: Path, image: Path, out: Path) -> dict[str, float]:
    for cache in audio.parent.glob(f".{audio.name}.analysis-*"):
        cache.unlink()   # end to end: the analysis is part of the measured time
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(audio), str(image), str(out)],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[3.0, 10.0])
    parser.add_argument("--preset", default=PRESET, help="x264 preset for both renderers (default: the engine's)")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "AUDIO", "IMAGE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["BENCH_PRESET"] = args.preset
    if args.child:
        kind, audio, image, out = args.child
        with MemoryWatch() as watch:
            result = (engine_child if kind == "engine" else recipe_child)(Path(audio), Path(image), Path(out))
        result["rss_mb"] = MemoryWatch._kb("self", "VmHWM") / 1024
        result["child_rss_mb"] = watch.peak_child_mb
        result["total_rss_mb"] = watch.peak_total_mb
        print(json.dumps(result))
        return
    print(f"{WIDTH}x{HEIGHT} {FPS} fps, libx264 -preset {args.preset} -crf {CRF}, AAC 192k; {os.cpu_count()} cores")
    print("| track | renderer | wall s | x realtime | peak RSS python MB | peak RSS largest ffmpeg MB "
          "| peak RSS all processes MB | output MB |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            folder = Path(tmp) / f"{minutes:g}"
            folder.mkdir()
            audio, image = make_inputs(folder, minutes)
            for kind in ("engine", "recipe"):
                out = folder / f"{kind}.mp4"
                r = run_child(kind, audio, image, out)
                print(f"| {minutes:g} min | {kind} | {r['seconds']:.1f} | {r['duration'] / r['seconds']:.2f} | "
                      f"{r['rss_mb']:.0f} | {r['child_rss_mb']:.0f} | {r['total_rss_mb']:.0f} | "
                      f"{out.stat().st_size / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
