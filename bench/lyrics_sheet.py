#!/usr/bin/env python3
"""Contact sheet of the lyric layout: the sung line lit word by word with the next one below, over the bars
visualizer, over a photo, and over the montage of photos; in 16:9, 9:16 and 1:1 (from an enhanced LRC on a
generated song, so the lit word is known).

    python3 bench/lyrics_sheet.py            # docs/lyrics.png (+ PNGs in out/stills/)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from contact_sheet import ASPECT_SIZES, ASPECT_WORDS, FPS, arguments, cover_sheet, still  # noqa: E402
from montage_sheet import scene  # noqa: E402

from nemo_local.director.turn import direct  # noqa: E402
from nemo_local.media.synth import demo_track, write_wav  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402

LYRICS = ("[00:01.00]<00:01.00>Neon <00:01.60>rivers <00:02.40>running <00:03.20>through <00:03.70>the "
          "<00:04.00>night\n[00:05.00]<00:05.00>Every <00:05.60>window <00:06.30>burning <00:07.00>bright\n"
          "[00:09.00]\n")
AT = 3.4     # seconds: "through" lit, "Every window burning bright" next


def main() -> None:
    args = arguments(__doc__, "lyrics.png")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        track = demo_track(seconds=10, bpm=120, drop_at=5.0)
        song = write_wav(folder / "song.wav", track.samples, track.rate)
        (folder / "song.lrc").write_text(LYRICS)
        photos = [scene(folder / f"p{k}.jpg", k) for k in range(3)]
        files = [{"file_id": "a", "filename": "song.wav", "kind": "audio", "info": {"duration": 10.0}},
                 {"file_id": "l", "filename": "song.lrc", "kind": "text", "info": {}, "path": str(folder / "song.lrc")},
                 *({"file_id": f"p{k}", "filename": f"p{k}.jpg", "kind": "image", "info": {}} for k in range(3))]
        sources = {"a": song, "l": folder / "song.lrc", **{f"p{k}": p for k, p in enumerate(photos)}}
        cases = [("bars", "lyrics video, bars, no image", 2), ("photo", "lyrics video, bars", 3),
                 ("montage", "lyrics video, only my photos, cut every bar", 5)]
        for aspect in ASPECT_SIZES:
            pngs = []
            for name, prompt, uploads in cases:
                draft = direct(f"{prompt}, {ASPECT_WORDS[aspect]}", {}, files[:uploads], "bars").draft
                video = folder / f"{name}.mp4"
                get_renderer().render(RenderJob(draft=draft, sources=sources, output=video, fps=FPS))
                png = args.stills / f"lyrics-{aspect.replace(':', 'x')}-{name}.png"
                still(video, round(AT * FPS), png)
                pngs.append(png)
            rows.append((aspect, pngs))
    cover_sheet(rows, args.sheet)
    print(args.sheet)


if __name__ == "__main__":
    main()
