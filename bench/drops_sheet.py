#!/usr/bin/env python3
"""Graded drops, looked at: the same music and picture with its drop at full strength and as a subtle one (the
strength just over the rule, `structure.GRADE_FLOOR`), a frame before the drop, at it, and 0.2 s and 0.6 s after;
and three drops the analysis finds on real recordings (bench/real_drops.py's set), one of each kind, as rendered.

    python3 bench/drops_sheet.py            # docs/drops.png (+ PNGs in out/stills/)
    python3 bench/drops_sheet.py --real     # docs/real-drops.png (the recordings' packages installed)
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from contact_sheet import FPS, still  # noqa: E402
from render_bench import natural_photo  # noqa: E402

from nemo_local.analysis import analyse  # noqa: E402
from nemo_local.analysis.structure import GRADE_FLOOR  # noqa: E402
from nemo_local.media.synth import demo_track, write_wav  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402

SECONDS, DROP = 8.0, 5.0
WIDTH, HEIGHT = 1280, 720
REAL = (("hw-rock", 27.4, "bass in after the intro"), ("wz-aft-track17", 24.0, "drums in, bass held"),
        ("st-mis-battle_theme", 110.0, "back from a 6-10 dB dip"))


COLUMNS = ("before", "at the drop", "+0.2 s", "+0.6 s")


def sheet(rows: list[tuple[str, list[Path]]], out: Path) -> None:
    """One row per strength, the frames side by side under their column names."""
    from PIL import Image, ImageDraw, ImageFont

    tile_w, tile_h, label_w, head, gap = 400, 225, 230, 30, 8
    canvas = Image.new("RGB", (label_w + len(COLUMNS) * (tile_w + gap), head + len(rows) * (tile_h + gap)),
                       (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=18)
    for column, name in enumerate(COLUMNS):
        draw.text((label_w + column * (tile_w + gap) + 8, 6), name, fill=(230, 230, 230), font=font)
    for row, (name, files) in enumerate(rows):
        top = head + row * (tile_h + gap)
        draw.multiline_text((8, top + tile_h // 2 - 30), name, fill=(230, 230, 230), font=font)
        for column, path in enumerate(files):
            with Image.open(path) as image:
                tile = image.convert("RGB").resize((tile_w, tile_h), Image.Resampling.LANCZOS)
            canvas.paste(tile, (label_w + column * (tile_w + gap), top))
    canvas.save(out, optimize=True)


def frames(video: Path, drop: int, name: str, out_dir: Path) -> list[Path]:
    pngs = []
    for label, frame in zip(COLUMNS, (drop - 6, drop + 1, drop + 6, drop + 18), strict=True):
        png = out_dir / f"drop-{name}-{label.replace(' ', '')}.png"
        still(video, frame, png)
        pngs.append(png)
    return pngs


def real(out_dir: Path) -> None:
    """The recordings' drops, rendered to a little after them over a photo (the bars style)."""
    from real_drops import decoded

    tracks = {t["name"]: t for t in json.loads((ROOT / "bench" / "real_drops.json").read_text())["tracks"]}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        photo = natural_photo(Path(folder) / "photo.png")
        for name, mark, kind in REAL:
            audio = decoded(tracks[name])
            found = analyse(audio)
            near = [(t, g) for t, g in found.graded_drops() if abs(t - mark) <= 0.5]
            if not near:
                sys.exit(f"{name}: no drop found near the mark at {mark} s")
            time, strength = near[0]
            ms = int((time + 1.0) * 1000)
            draft = {"d": ms, "m": {"style": "bars", "width": 640, "height": 360, "accent": "#36c5f0"},
                     "t": [{"tt": 0, "sg": [{"kind": "image", "src": "photo", "s": 0, "d": ms}]},
                           {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]}]}
            video = Path(folder) / f"{name}.mp4"
            get_renderer().render(RenderJob(draft=draft, sources={"audio": audio, "photo": photo}, output=video,
                                            fps=FPS, analysis=lambda _, a=found: a))
            label = f"{name}\n{time:.1f} s, strength {strength:g}\n{kind}"
            rows.append((label, frames(video, round(time * FPS), name, out_dir)))
    target = ROOT / "docs" / "real-drops.png"
    sheet(rows, target)
    print(target)


def main() -> None:
    out_dir = ROOT / "out" / "stills"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        track = demo_track(seconds=SECONDS, bpm=120.0, drop_at=DROP, rate=44100)
        audio = write_wav(base / "song.wav", track.samples, track.rate)
        photo = natural_photo(base / "photo.png")
        found = analyse(audio, cache=False)
        drop = round(found.drops[0] * FPS)
        ms = int(SECONDS * 1000)
        draft = {"d": ms, "m": {"style": "bars", "width": WIDTH, "height": HEIGHT, "accent": "#36c5f0"},
                 "t": [{"tt": 0, "sg": [{"kind": "image", "src": "photo", "s": 0, "d": ms}]},
                       {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]}]}
        rows = []
        for name, strength in (("strong", 1.0), ("subtle", GRADE_FLOOR)):
            graded = replace(found, drop_strength=[strength] * len(found.drops))
            video = base / f"{name}.mp4"
            get_renderer().render(RenderJob(draft=draft, sources={"audio": audio, "photo": photo}, output=video,
                                            fps=FPS, analysis=lambda _, g=graded: g))
            rows.append((f"{name} {strength:g}", frames(video, drop, name, out_dir)))
    target = ROOT / "docs" / "drops.png"
    sheet(rows, target)
    print(target)


if __name__ == "__main__":
    if "--real" in sys.argv[1:]:
        (ROOT / "out" / "stills").mkdir(parents=True, exist_ok=True)
        real(ROOT / "out" / "stills")
    else:
        main()
