#!/usr/bin/env python3
"""Contact sheet of the montage layers: photos alone, the visualizer over them at a beat, the drop's flash over
them, a crossfade mid-way, and a portrait photo in the frame; in 16:9, 9:16 and 1:1.

    python3 bench/montage_sheet.py          # docs/montage.png (+ PNGs in out/stills/)

The photos are drawn here (sky, sun, hills; one tall portrait), the track is the synthetic demo.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from contact_sheet import ASPECT_SIZES, ASPECT_WORDS, FPS, SECONDS, arguments, cover_sheet, still  # noqa: E402

from nemo_local.analysis import analyse  # noqa: E402
from nemo_local.director.montage import rhythm_of  # noqa: E402
from nemo_local.director.turn import direct  # noqa: E402
from nemo_local.draft import ASPECTS  # noqa: E402
from nemo_local.media.synth import demo_track, write_wav  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402

SKIES = [((255, 150, 90), (60, 40, 110)), ((120, 190, 255), (20, 60, 140)), ((255, 210, 120), (200, 80, 60)),
         ((90, 200, 180), (20, 50, 80))]


def scene(path: Path, number: int, width: int = 1800, height: int = 1200) -> Path:
    """A landscape 'photo': a sky gradient, a sun, two ranges of hills and its number in a corner."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    top, bottom = (np.array(c, np.float32) for c in SKIES[number % len(SKIES)])
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sky = np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3))
    image = Image.fromarray(sky.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx, cy, r = width * (0.3 + 0.15 * number), height * 0.35, height * 0.12
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 240, 200))
    xs = np.arange(0, width + 20, 20)
    for k, (level, shade) in enumerate(((0.62, 0.45), (0.75, 0.25))):
        ys = height * level + np.sin(xs / width * (5 + number + k) + number) * height * 0.06
        draw.polygon([*zip(xs.tolist(), ys.tolist(), strict=True), (width, height), (0, height)],
                     fill=tuple(int(c * shade) for c in SKIES[number % len(SKIES)][1]))
    draw.text((40, height - 120), f"PHOTO {number + 1}", fill=(255, 255, 255),
              font=ImageFont.load_default(size=72))
    image.filter(ImageFilter.SMOOTH).save(path, quality=92)
    return path


def portrait(path: Path) -> Path:
    """A tall phone photo: a figure against a wall."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (900, 1600), (70, 90, 120))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 1100, 900, 1600], fill=(50, 40, 40))
    draw.ellipse([330, 300, 570, 560], fill=(230, 190, 160))
    draw.rounded_rectangle([250, 560, 650, 1300], radius=120, fill=(200, 60, 80))
    image.save(path, quality=92)
    return path


def render(audio: Path, pictures: list[Path], prompt: str, aspect: str, out: Path) -> dict[str, Any]:
    width, height = ASPECTS[aspect]
    files = [{"file_id": "audio", "filename": "demo.wav", "kind": "audio", "info": {"duration": SECONDS},
              "path": str(audio)}]
    files += [{"file_id": f"p{k}", "filename": p.name, "kind": "image", "info": {}, "path": str(p)}
              for k, p in enumerate(pictures)]
    draft = direct(f"{prompt}, {ASPECT_WORDS[aspect]}", {}, files, "bars",
                   lambda f: rhythm_of(analyse(Path(f["path"])))).draft
    assert (draft["m"]["width"], draft["m"]["height"]) == (width, height)
    get_renderer().render(RenderJob(draft=draft, sources={f["file_id"]: Path(f["path"]) for f in files},
                                    output=out, fps=FPS))
    return draft


def main() -> None:
    args = arguments(__doc__, "montage.png")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        track = demo_track(seconds=SECONDS, bpm=124, drop_at=9.5)
        audio = write_wav(folder / "demo.wav", track.samples, track.rate)
        analysis = analyse(audio)
        drop = round(analysis.drops[0] * FPS) + 2
        beat = round(next(b for b in analysis.beats if 4.0 < b < 6) * FPS)
        photos = [scene(folder / f"photo{k}.jpg", k) for k in range(4)]
        tall = portrait(folder / "portrait.jpg")
        for aspect in ASPECT_SIZES:
            tag = aspect.replace(":", "x")
            only = render(audio, photos, 'only my photos, title "Night Drive"', aspect, folder / "only.mp4")
            over = render(audio, [*photos[:2], tall, *photos[2:]], 'bars over my photos, title "Night Drive"',
                          aspect, folder / "over.mp4")
            fade = render(audio, photos, "only my photos, crossfade", aspect, folder / "fade.mp4")
            shots = next(t["sg"] for t in fade["t"] if t["tt"] == 0)
            cut = round(shots[2]["s"] * FPS / 1000) + 3
            tall_shot = next(s for s in next(t["sg"] for t in over["t"] if t["tt"] == 0) if s["src"] == "p2")
            del only
            picks = [("only", folder / "only.mp4", beat), ("over", folder / "over.mp4", beat),
                     ("drop", folder / "over.mp4", drop), ("crossfade", folder / "fade.mp4", cut),
                     ("portrait", folder / "over.mp4", round(tall_shot["s"] * FPS / 1000) + 10)]
            pngs = []
            for name, video, frame in picks:
                png = args.stills / f"montage-{tag}-{name}.png"
                still(video, frame, png)
                pngs.append(png)
            rows.append((aspect, pngs))
    cover_sheet(rows, args.sheet)
    print(args.sheet)


if __name__ == "__main__":
    main()
