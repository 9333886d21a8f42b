#!/usr/bin/env python3
"""Chunked renders against the single pass, on this machine: one track, one draft, one analysis (done once,
handed to every run, so only the rendering is compared), rendered

  - in one pass (today's default),
  - in chunks on a Dask cluster of 1, 2, 4 and 8 worker processes (a real scheduler and workers on loopback:
    scatter, chunk MP4s back as bytes, join), 4 and 8 sharing the cores as throttled machines would,
  - in chunks on 2 local processes (`--jobs 2`: no scheduler, no transfer).

    python3 bench/chunk_bench.py                       # 10 minutes at 1920x1080, 30 s chunks (~15 min)
    python3 bench/chunk_bench.py --minutes 2 --workers 1 2    # a quick look
    python3 bench/chunk_bench.py --quality --minutes 1 --chunk-seconds 10   # each encode against the drawn frames

Reports x realtime per run, the chunking overhead (1 worker against the single pass), where it goes (scatter,
chunk start-up, join), how busy the workers were (sum of chunk times / (workers x wall): near 1 when scheduling
keeps up), a cost model of N workers from the measured terms, and for every chunked output: frames to the
frame, SSIM against the single pass on a frame every 2 s (ffmpeg's ssim filter), audio identical (decoded PCM).
"""

from __future__ import annotations

import argparse
import hashlib
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

from render_bench import FPS, HEIGHT, TITLE, WIDTH, make_inputs, natural_photo  # noqa: E402


def draft_for(seconds: float) -> dict[str, Any]:
    ms = int(seconds * 1000)
    return {"d": ms, "m": {"style": "bars", "width": WIDTH, "height": HEIGHT, "accent": "#36c5f0",
                           "beat_sync": True, "drops": True, "progress_bar": True},
            "t": [{"tt": 0, "sg": [{"kind": "image", "src": "image", "s": 0, "d": ms}]},
                  {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]},
                  {"tt": 7, "sg": [{"text": TITLE, "s": 0, "d": 3000}]}]}


class Timed:
    """A farm that records each chunk's own time where it ran, and the time to hand the work out."""

    def __init__(self, farm: Any) -> None:
        self.farm, self.chunk_seconds, self.first_back, self.all_back = farm, [], 0.0, 0.0

    def slots(self) -> int:
        return int(self.farm.slots())

    def run(self, scene: Any, parts: Any, cancelled: Any, done: Any) -> Any:
        started = time.perf_counter()

        def noted(result: Any) -> None:
            self.chunk_seconds.append(result.seconds)
            self.first_back = self.first_back or time.perf_counter() - started
            done(result)

        try:
            return self.farm.run(scene, parts, cancelled, noted)
        finally:
            self.all_back = time.perf_counter()

    def close(self) -> None:
        self.farm.close()


def render(audio: Path, image: Path, out: Path, analysis: Any, farm: Any = None,
           chunk_seconds: float = 30.0) -> dict[str, Any]:
    from nemo_local.render import RenderJob
    from nemo_local.render.engine import MusicRenderer

    seconds = analysis.duration
    timed = Timed(farm) if farm is not None else None
    job = RenderJob(draft=draft_for(seconds), sources={"audio": audio, "image": image}, output=out, fps=FPS,
                    analysis=lambda _: analysis)
    started = time.perf_counter()
    rendered = MusicRenderer(timed, chunk_seconds).render(job)
    wall = time.perf_counter() - started
    row: dict[str, Any] = {"wall_s": round(wall, 2), "x_realtime": round(seconds / wall, 2),
                           "chunks": rendered.chunks, "bytes": out.stat().st_size}
    if timed is not None:
        row["join_s"] = round(started + wall - timed.all_back, 2)     # writing the chunks out and joining them
        row["first_chunk_back_s"] = round(timed.first_back, 2)
        row["chunk_s"] = round(sum(timed.chunk_seconds), 2)
        row["chunk_s_median"] = round(sorted(timed.chunk_seconds)[len(timed.chunk_seconds) // 2], 2)
    return row


def compare(single: Path, other: Path) -> dict[str, Any]:
    """Frames, SSIM on a frame every 2 s, and whether the decoded audio is the same."""
    from nemo_local.media.ffmpeg import ffmpeg_exe

    every = 2 * FPS
    graph = (f"[0:v]select='not(mod(n\\,{every}))',setpts=N/TB[a];[1:v]select='not(mod(n\\,{every}))',"
             f"setpts=N/TB[b];[a][b]ssim=stats_file=-")
    proc = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(single), "-i", str(other), "-lavfi", graph,
                           "-f", "null", "-"], capture_output=True, text=True, check=True)
    values = [float(line.split("All:")[1].split()[0]) for line in proc.stdout.splitlines() if "All:" in line]

    def frames(path: Path) -> int:
        counted = subprocess.run([ffmpeg_exe(), "-i", str(path), "-map", "0:v", "-c", "copy", "-f", "null", "-"],
                                 capture_output=True, text=True).stderr
        return int(counted.rsplit("frame=", 1)[1].split()[0])

    def pcm(path: Path) -> str:
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-f", "s16le", "-"],
                             capture_output=True, check=True).stdout
        return hashlib.sha256(raw).hexdigest()

    return {"frames": frames(other), "frames_single": frames(single), "ssim_min": round(min(values), 5),
            "ssim_mean": round(sum(values) / len(values), 5), "ssim_samples": len(values),
            "audio_identical": pcm(single) == pcm(other)}


def quality(minutes: float, chunk_seconds: float) -> dict[str, Any]:
    """How far each lossy encode is from the frames as drawn (a lossless single pass), single pass and chunked
    (10 s chunks on 2 local processes): two lossy encodes of the same frames differ by both their losses."""
    from nemo_local.analysis import analyse
    from nemo_local.render import RenderJob
    from nemo_local.render.engine import MusicRenderer
    from nemo_local.render.farm import LocalFarm
    from nemo_local.render.settings import EncodeSettings

    with tempfile.TemporaryDirectory(prefix="chunk-quality-") as folder:
        base = Path(folder)
        audio, _ = make_inputs(base, minutes)
        image = natural_photo(base / "photo.png")
        analysis = analyse(audio)

        def job(name: str, lossless: bool = False) -> RenderJob:
            return RenderJob(draft=draft_for(analysis.duration), sources={"audio": audio, "image": image},
                             output=base / name, fps=FPS, analysis=lambda _: analysis,
                             encoding=EncodeSettings(lossless=True) if lossless else None)

        MusicRenderer().render(job("drawn.mp4", lossless=True))
        MusicRenderer().render(job("single.mp4"))
        farm = LocalFarm(2)
        MusicRenderer(farm, chunk_seconds).render(job("chunked.mp4"))
        farm.close()
        return {"single vs drawn": compare(base / "drawn.mp4", base / "single.mp4"),
                "chunked vs drawn": compare(base / "drawn.mp4", base / "chunked.mp4"),
                "chunked vs single": compare(base / "single.mp4", base / "chunked.mp4")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chunk-seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quality", action="store_true",
                        help="instead: single pass and chunked (--chunk-seconds) against the frames as drawn "
                             "(a lossless encode), on --minutes of music")
    args = parser.parse_args()
    if args.quality:
        print(json.dumps(quality(args.minutes, args.chunk_seconds), indent=2))
        return

    from distributed import LocalCluster

    from nemo_local.analysis import analyse
    from nemo_local.render.cluster import DaskFarm
    from nemo_local.render.farm import LocalFarm

    results: dict[str, Any] = {"minutes": args.minutes, "chunk_seconds": args.chunk_seconds,
                               "frame": f"{WIDTH}x{HEIGHT}@{FPS}", "runs": {}}
    with tempfile.TemporaryDirectory(prefix="chunk-bench-") as folder:
        base = Path(folder)
        audio, _ = make_inputs(base, args.minutes)
        image = natural_photo(base / "photo.png")
        started = time.perf_counter()
        analysis = analyse(audio)
        results["analysis_s"] = round(time.perf_counter() - started, 2)
        single = base / "single.mp4"
        results["runs"]["single pass"] = render(audio, image, single, analysis)
        print(json.dumps({"single pass": results["runs"]["single pass"]}), file=sys.stderr, flush=True)
        runs: list[tuple[str, Any]] = [(f"dask, {n} worker{'s' if n > 1 else ''}", n) for n in args.workers]
        runs.append(("local processes, 2 (--jobs 2)", None))
        for name, workers in runs:
            out = base / f"{len(results['runs'])}.mp4"
            if workers is None:
                farm: Any = LocalFarm(2)
                row = render(audio, image, out, analysis, farm, args.chunk_seconds)
                farm.close()
            else:
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
                    farm = DaskFarm(cluster.scheduler_address)
                    row = render(audio, image, out, analysis, farm, args.chunk_seconds)
                    farm.close()
                row["busy"] = round(row["chunk_s"] / (workers * row["wall_s"]), 3)
            row.update(compare(single, out))
            results["runs"][name] = row
            print(json.dumps({name: row}), file=sys.stderr, flush=True)
            out.unlink()
        again = base / "again.mp4"     # the machine is shared: the reference once more, at the end
        results["runs"]["single pass, again"] = render(audio, image, again, analysis)
        print(json.dumps({"single pass, again": results["runs"]["single pass, again"]}), file=sys.stderr, flush=True)
    one = results["runs"].get("dask, 1 worker")
    if one:
        single_s = (results["runs"]["single pass"]["wall_s"] + results["runs"]["single pass, again"]["wall_s"]) / 2
        results["overhead_1_worker"] = round(one["wall_s"] / single_s - 1, 4)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
