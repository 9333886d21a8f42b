#!/usr/bin/env python3
"""Preview benchmark: how long `nemo.py preview` takes for a 3-minute track once its analysis is cached.

    python3 bench/preview_bench.py [--minutes 3] [--runs 3]

The upload route analyses audio in the background, so by the time a user asks for a preview the analysis is
normally cached; this measures the render itself (the 1080p draft with a photo background, shrunk to 640 px,
10 s around the drop), in-process, against the analysis time it saves. Not a test: BENCHMARKS.md has results.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from encoder_bench import draft  # noqa: E402
from render_bench import make_inputs  # noqa: E402

from nemo_local.analysis import analyse  # noqa: E402
from nemo_local.media.ffmpeg import probe  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        audio, image = make_inputs(Path(tmp), args.minutes)
        started = time.perf_counter()
        analyse(audio)
        analysis = time.perf_counter() - started
        the_draft = draft("bars", args.minutes * 60, True)
        the_draft["m"]["preview"] = True  # type: ignore[index]
        times = []
        for run in range(args.runs):
            out = Path(tmp) / f"preview{run}.mp4"
            started = time.perf_counter()
            get_renderer().render(RenderJob(draft=the_draft, sources={"audio": audio, "image": image}, output=out))
            times.append(time.perf_counter() - started)
        info = probe(out)
        print(f"| {args.minutes:g} min | {analysis:.2f} | {min(times):.2f} | {sum(times) / len(times):.2f} | "
              f"{info.width}x{info.height}, {info.duration:.1f} s, {out.stat().st_size / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
