#!/usr/bin/env python3
"""Contact sheet of the speech layers: captions with the lit word over the waveform, over a photo, and with a
lower third, a logo and a title; in 16:9, 9:16 and 1:1. Needs espeak-ng and the [captions] extra.

    python3 bench/captions_sheet.py          # docs/captions.png (+ PNGs in out/stills/)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from contact_sheet import ASPECT_SIZES, ASPECT_WORDS, FPS, arguments, cover_sheet, still  # noqa: E402
from montage_sheet import scene  # noqa: E402

from nemo_local.director.turn import direct  # noqa: E402
from nemo_local.media.ffmpeg import probe  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402
from nemo_local.speech import asr  # noqa: E402

TEXT = ("Welcome back to the Nemo show. This week we talk about turning a podcast into a video, "
        "and why captions matter when people scroll with the sound off.")


def logo(path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([10, 10, 290, 290], fill=(255, 190, 40, 255))
    draw.ellipse([90, 90, 210, 210], fill=(20, 24, 40, 255))
    image.save(path)
    return path


def main() -> None:
    args = arguments(__doc__, "captions.png")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        talk = folder / "talk.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(talk), TEXT], check=True)
        words = asr.transcribe(talk)
        moment = next(w for w in words if w.text.lower().startswith("podcast"))
        at = round((moment.start + moment.end) / 2 * FPS)
        photo = scene(folder / "photo.jpg", 1)
        mark = logo(folder / "logo.png")
        files = [{"file_id": "a", "filename": "talk.wav", "kind": "audio", "info": {"duration": probe(talk).duration}},
                 {"file_id": "p", "filename": "photo.jpg", "kind": "image", "info": {}},
                 {"file_id": "l", "filename": "logo.png", "kind": "image", "info": {}}]
        sources = {"a": talk, "p": photo, "l": mark}
        cases = [("waveform", "waveform, captions, no image", 0, 1),          # (name, words, frame, uploads)
                 ("photo", "bars, captions", 0, 2),
                 ("branded", "waveform, captions, no image, use logo.png as the logo, host 'Jane Doe', "
                             "episode 'Episode 12: Captions', title \"The Nemo Show\"", round(1.0 * FPS), 3)]
        for aspect in ASPECT_SIZES:
            pngs = []
            for name, prompt, frame, uploads in cases:
                draft = direct(f"{prompt}, {ASPECT_WORDS[aspect]}", {}, files[:uploads], "wave").draft
                video = folder / f"{name}.mp4"
                get_renderer().render(RenderJob(draft=draft, sources=sources, output=video, fps=FPS))
                png = args.stills / f"captions-{aspect.replace(':', 'x')}-{name}.png"
                still(video, frame or at, png)
                pngs.append(png)
            rows.append((aspect, pngs))
    cover_sheet(rows, args.sheet)
    print(args.sheet)


if __name__ == "__main__":
    main()
