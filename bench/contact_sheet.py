#!/usr/bin/env python3
"""Still frames of every style at a beat, at the drop and in a quiet passage, and a contact sheet of them.

    python3 bench/contact_sheet.py                       # docs/styles.png, covers.png, photos.png (+ out/stills/)
    python3 bench/contact_sheet.py --stills /tmp/stills  # full-size PNGs elsewhere
    python3 bench/contact_sheet.py --audio bench/.corpus/audio/freedoom1-D_E3M9.wav   # a real track: real-*.png

The track is the synthetic demo (drums, bass, a break and a drop), rendered at 1920x1080 with a title. The
photo sheet shows every style at a beat over a textured photo (render_bench.natural_photo), frosted where the
style draws, in each aspect.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from nemo_local.analysis import analyse  # noqa: E402
from nemo_local.media.ffmpeg import ffmpeg_exe  # noqa: E402
from nemo_local.media.synth import demo_track, write_wav  # noqa: E402
from nemo_local.render import RenderJob, get_renderer  # noqa: E402
from nemo_local.render.styles import STYLES  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from render_bench import natural_photo  # noqa: E402

FPS = 30
SECONDS = 16.0
TILE_WIDTH = 400


def moments(audio: Path, start: float = 0.0) -> dict[str, int]:
    """Frame numbers (of a render from `start` s into the audio): a beat before the drop, the drop, and the
    moment 1.3 s before it (the break, on the demo track)."""
    result = analyse(audio)
    drop = next(d for d in result.drops if d >= start) - start
    beat = next(b for b in result.beats - start if 2.0 < b < drop - 3)
    return {"beat": round(beat * FPS), "drop": round(drop * FPS) + 1, "quiet": round((drop - 1.3) * FPS)}


def window(audio: Path) -> float:
    """Where a real track's 16 s shown start: 9.5 s before its first drop (where the demo track's drop is)."""
    drops = analyse(audio).drops
    if not drops:
        raise SystemExit(f"{audio.name}: the analysis finds no drop in it; pick a track with one")
    return max(0.0, drops[0] - 9.5)


ASPECT_SIZES = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
ASPECT_WORDS = {"16:9": "landscape", "9:16": "vertical", "1:1": "square"}   # how a user asks for each


def make_cover(path: Path) -> Path:
    """A square album cover with its title near the edges: the case that cropping used to cut."""
    from PIL import Image, ImageDraw, ImageFont

    size = 1000
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([200 * x + 40, 60 + 80 * y, 180 - 120 * x * y], -1)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, size - 1, size - 1], outline=(250, 240, 220), width=18)
    font = ImageFont.load_default(size=64)
    draw.text((50, 40), "THE REAL MUSIC TEST BAND", fill=(255, 255, 255), font=font)
    draw.text((50, size - 120), "NIGHT DRIVE", fill=(255, 255, 255), font=font)
    image.save(path)
    return path


def render_style(audio: Path, style: str, out: Path, aspect: str = "16:9", cover: Path | None = None,
                 start: float = 0.0) -> None:
    ms = int(SECONDS * 1000)
    width, height = ASPECT_SIZES[aspect]
    visual = {"kind": "image", "src": "cover", "s": 0, "d": ms} if cover else {"kind": "visualizer", "s": 0, "d": ms}
    draft = {"d": ms, "m": {"style": style, "width": width, "height": height, "accent": "#ff4081" if cover
                            else "#36c5f0", "beat_sync": True, "drops": True, "progress_bar": True,
                            "clip_start_ms": int(start * 1000)},
             "t": [{"tt": 0, "sg": [visual]},
                   {"tt": 1, "sg": [{"src": "audio", "s": 0, "d": ms, "v": 1.0}]},
                   {"tt": 7, "sg": [{"text": "Night Drive", "s": 0, "d": ms}]}]}
    sources = {"audio": audio, **({"cover": cover} if cover else {})}
    get_renderer().render(RenderJob(draft=draft, sources=sources, output=out, fps=FPS))


def still(video: Path, frame: int, png: Path) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-vf", f"select=eq(n\\,{frame})",
                    "-frames:v", "1", str(png)], check=True)


def sheet(pngs: list[list[Path]], out: Path) -> None:
    from PIL import Image, ImageDraw, ImageFont

    tile_h = TILE_WIDTH * 9 // 16
    label_w, label_h = 90, 28
    canvas = Image.new("RGB", (label_w + TILE_WIDTH * 3, label_h + tile_h * len(pngs)), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=18)
    for column, name in enumerate(("beat", "drop", "quiet")):
        draw.text((label_w + column * TILE_WIDTH + 8, 4), name, fill=(230, 230, 230), font=font)
    for row, files in enumerate(pngs):
        draw.text((8, label_h + row * tile_h + tile_h // 2 - 10), STYLES[row], fill=(230, 230, 230), font=font)
        for column, path in enumerate(files):
            with Image.open(path) as image:
                tile = image.convert("RGB").resize((TILE_WIDTH, tile_h), Image.Resampling.LANCZOS)
            canvas.paste(tile, (label_w + column * TILE_WIDTH, label_h + row * tile_h))
    canvas.save(out, optimize=True)


def cover_sheet(rows: list[tuple[str, list[Path]]], out: Path) -> None:
    """One row per aspect ratio, its stills side by side (covers: beat, drop and quiet)."""
    from PIL import Image, ImageDraw, ImageFont

    tile_h, label_w, gap = 300, 70, 8
    widths = {aspect: tile_h * w // h for aspect, (w, h) in ASPECT_SIZES.items()}
    canvas_w = label_w + max(len(files) * (widths[a] + gap) for a, files in rows)
    canvas = Image.new("RGB", (canvas_w, len(rows) * (tile_h + gap)), (24, 24, 28))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=18)
    for row, (aspect, files) in enumerate(rows):
        top = row * (tile_h + gap)
        draw.text((8, top + tile_h // 2 - 10), aspect, fill=(230, 230, 230), font=font)
        for column, path in enumerate(files):
            with Image.open(path) as image:
                tile = image.convert("RGB").resize((widths[aspect], tile_h), Image.Resampling.LANCZOS)
            canvas.paste(tile, (label_w + column * (widths[aspect] + gap), top))
    canvas.save(out, optimize=True)


def arguments(doc: str | None, sheet: str, real: bool = False) -> argparse.Namespace:
    """--stills (full-size PNGs, created) and --sheet (the contact sheet, default docs/SHEET) for a sheet script;
    with `real`, --audio too (a real track instead of the demo)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stills", type=Path, default=ROOT / "out" / "stills")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / sheet)
    if real:
        parser.add_argument("--audio", type=Path, help="a real track with a drop (sheets named real-*.png)")
    args = parser.parse_args()
    args.stills.mkdir(parents=True, exist_ok=True)
    return args


def main() -> None:
    args = arguments(__doc__, "styles.png", real=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.audio:
            audio, start = args.audio, window(args.audio)
            args.sheet = args.sheet.with_name("real-" + args.sheet.name)
        else:
            track = demo_track(seconds=SECONDS, bpm=124, drop_at=9.5)
            audio, start = write_wav(Path(tmp) / "demo.wav", track.samples, track.rate), 0.0
        frames = moments(audio, start)
        rows = []
        for style in STYLES:
            video = Path(tmp) / f"{style}.mp4"
            render_style(audio, style, video, start=start)
            row = []
            for name, frame in frames.items():
                png = args.stills / f"{style}-{name}.png"
                still(video, frame, png)
                row.append(png)
            rows.append(row)
        cover = make_cover(Path(tmp) / "cover.png")
        cover_rows = []
        for aspect in ASPECT_SIZES:
            video = Path(tmp) / f"cover-{aspect.replace(':', 'x')}.mp4"
            render_style(audio, "bars", video, aspect, cover, start)
            pngs = []
            for name, frame in frames.items():
                png = args.stills / f"cover-{aspect.replace(':', 'x')}-{name}.png"
                still(video, frame, png)
                pngs.append(png)
            cover_rows.append((aspect, pngs))
        photo = natural_photo(Path(tmp) / "photo.png")
        photo_rows = []
        for aspect in ASPECT_SIZES:
            pngs = []
            for style in STYLES:
                video = Path(tmp) / f"photo-{style}-{aspect.replace(':', 'x')}.mp4"
                render_style(audio, style, video, aspect, photo, start)
                png = args.stills / f"photo-{style}-{aspect.replace(':', 'x')}.png"
                still(video, frames["beat"], png)
                pngs.append(png)
            photo_rows.append((aspect, pngs))
    sheet(rows, args.sheet)
    prefix = "real-" if args.audio else ""
    covers, photos = args.sheet.with_name(prefix + "covers.png"), args.sheet.with_name(prefix + "photos.png")
    cover_sheet(cover_rows, covers)
    cover_sheet(photo_rows, photos)
    print(args.sheet, covers, photos)


if __name__ == "__main__":
    main()
