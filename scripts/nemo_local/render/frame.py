"""A yuv420p frame as numpy planes, its backgrounds, and text overlays drawn with Pillow's bundled font."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from nemo_local.media import procs
from nemo_local.media.ffmpeg import explain, ffmpeg_exe
from nemo_local.render.base import RenderError
from nemo_local.render.colour import hex_rgb, rgb_to_yuv


class Frame:
    """One contiguous yuv420p buffer with Y, U and V views, ready to write to the encoder."""

    def __init__(self, width: int, height: int, data: np.ndarray | None = None) -> None:
        self.width, self.height = width, height
        size = width * height
        self.data = np.zeros(size * 3 // 2, dtype=np.uint8) if data is None else data
        self.y = self.data[:size].reshape(height, width)
        self.u = self.data[size: size + size // 4].reshape(height // 2, width // 2)
        self.v = self.data[size + size // 4:].reshape(height // 2, width // 2)

    def copy_from(self, other: Frame) -> None:
        np.copyto(self.data, other.data)


def gradient_background(width: int, height: int, colour: str) -> Frame:
    """A vertical gradient from the colour (top) to a darker shade of it (bottom)."""
    top = np.array(hex_rgb(colour, (13, 19, 33)), dtype=np.float32)
    bottom = top * 0.35
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    column = top[None, :] * (1 - t) + bottom[None, :] * t        # (height, 3)
    yuv = rgb_to_yuv(column)
    frame = Frame(width, height)
    # Ordered (Bayer) dithering: a dark gradient spans only a few code values, which would show as wide bands;
    # a fixed 4x4 pattern breaks them up and, unlike random noise, costs the encoder next to nothing.
    frame.y[:] = np.clip(yuv[:, 0:1] + bayer(height, width), 0, 255).astype(np.uint8)
    frame.u[:] = np.clip(yuv[::2, 1:2] + bayer(height // 2, width // 2), 0, 255).astype(np.uint8)
    frame.v[:] = np.clip(yuv[::2, 2:3] + bayer(height // 2, width // 2), 0, 255).astype(np.uint8)
    return frame


BAYER4 = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16


def bayer(height: int, width: int) -> np.ndarray:
    """The 4x4 Bayer threshold matrix tiled over (height, width), in [0, 1): added before truncating to uint8."""
    return np.tile(BAYER4, (height // 4 + 1, width // 4 + 1))[:height, :width]


def squareish(ratio: float) -> bool:
    return 0.8 <= ratio <= 1.25


def fit_filter(width: int, height: int) -> str:
    """ffmpeg filters that show a picture whole, the way music apps show album art: a blurred, darker fill of
    the frame behind the picture fitted inside it. In a wide or square frame the picture sits low, leaving the
    top for the title; in a tall one it sits in the middle, below the title."""
    tall = height > width * 1.25
    box_w, box_h = (width, height) if tall else (min(width, int(height * 0.8)), int(height * 0.8))
    y = "(H-h)/2" if tall else f"{height}-h-{int(height * 0.05)}"
    blur = max(4, min(width, height) // 30)
    return (f"split=2[bg][fg];[bg]scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
            f"boxblur={blur}:3,eq=brightness=-0.12:saturation=0.8[back];"
            f"[fg]scale={box_w}:{box_h}:force_original_aspect_ratio=decrease[front];"
            f"[back][front]overlay=x=(W-w)/2:y={y},format=yuv420p")


@dataclass(frozen=True)
class Stage:
    """Where a visualizer draws, in full-resolution pixels: a box whose corners are rounded by `corner` (half the
    box's side makes it a disc)."""

    top: int
    left: int
    bottom: int
    right: int
    corner: int = 0


def frost(frame: Frame, stage: Stage, radius: float) -> None:
    """Blur the picture on the stage, fading back to the sharp picture over a margin around it: a frosted panel
    under the visualizer. A busy photo then no longer fights the graphics drawn over it, and the encoder does not
    have to code the photo's texture again wherever the graphics move (BENCHMARKS.md, "Encoder settings").
    Done once per still picture."""
    margin = max(2, int(radius * 5))
    for plane, step in ((frame.y, 1), (frame.u, 2), (frame.v, 2)):
        top, left = max(0, (stage.top - margin) // step), max(0, (stage.left - margin) // step)
        bottom = min(plane.shape[0], (stage.bottom + margin) // step)
        right = min(plane.shape[1], (stage.right + margin) // step)
        if bottom <= top or right <= left:
            continue
        region = plane[top:bottom, left:right]
        blurred = np.asarray(Image.fromarray(region).filter(ImageFilter.GaussianBlur(radius / step)), np.float32)
        ys = np.arange(top, bottom, dtype=np.float32)[:, None] * step
        xs = np.arange(left, right, dtype=np.float32)[None, :] * step
        c = stage.corner
        dy = np.maximum(np.maximum(stage.top + c - ys, ys - (stage.bottom - c)), 0)
        dx = np.maximum(np.maximum(stage.left + c - xs, xs - (stage.right - c)), 0)
        outside = np.clip((np.hypot(dx, dy) - c) / margin, 0, 1)
        weight = 1 - outside * outside * (3 - 2 * outside)                  # smoothstep: no visible edge
        region[:] = (region + (blurred - region) * weight + 0.5).astype(np.uint8)


def image_background(path: Path, width: int, height: int, dim: float = 0.6, fit: bool = False) -> Frame:
    """Decode the first frame of an image or video once, dimmed: scaled and cropped to fill the frame, or with
    `fit` shown whole over a blurred fill (covers: their edges often hold the title and the artist)."""
    vf = fit_filter(width, height) if fit else (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},format=yuv420p")
    proc = procs.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-frames:v", "1",
         "-vf", vf, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
        timeout=120,
    )
    expected = width * height * 3 // 2
    if proc.returncode != 0 or len(proc.stdout) != expected:
        raise RenderError(f"cannot read the picture {path.name}: {explain(proc.stderr.decode('utf-8', 'replace'))}")
    frame = Frame(width, height, np.frombuffer(proc.stdout, dtype=np.uint8).copy())
    frame.y[:] = (16 + (frame.y.astype(np.float32) - 16) * dim).astype(np.uint8)
    for plane in (frame.u, frame.v):
        plane[:] = (128 + (plane.astype(np.float32) - 128) * dim).astype(np.uint8)
    return frame


@dataclass
class Overlay:
    """Pre-rendered text: YUV colour and alpha at full (Y) and half (UV) resolution, placed at (x, y)."""

    x: int
    y: int
    luma: np.ndarray
    chroma_u: np.ndarray
    chroma_v: np.ndarray
    alpha: np.ndarray
    alpha_half: np.ndarray

    def blend(self, frame: Frame, opacity: float = 1.0) -> None:
        """Draw it over the frame; whatever of it lies outside the frame is left out."""
        h, w = min(self.alpha.shape[0], frame.height - self.y), min(self.alpha.shape[1], frame.width - self.x)
        if h <= 0 or w <= 0:
            return
        region = frame.y[self.y: self.y + h, self.x: self.x + w]
        a = self.alpha[:h, :w] * opacity
        region[:] = (region * (1 - a) + self.luma[:h, :w] * a).astype(np.uint8)
        hy, hx, hh, hw = self.y // 2, self.x // 2, h // 2, w // 2
        ah = self.alpha_half[:hh, :hw] * opacity
        for plane, colour in ((frame.u, self.chroma_u), (frame.v, self.chroma_v)):
            sub = plane[hy: hy + hh, hx: hx + hw]
            sub[:] = (sub * (1 - ah) + colour[:hh, :hw] * ah).astype(np.uint8)


def rgba_overlay(rgba: np.ndarray, x: int, y: int) -> Overlay:
    """An (h, w, 4) uint8 RGBA picture (even sides) as an Overlay placed at (x, y), both even."""
    yuv = rgb_to_yuv(rgba[..., :3])
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    return Overlay(x & ~1, y & ~1, yuv[..., 0], yuv[::2, ::2, 1], yuv[::2, ::2, 2], alpha, alpha[::2, ::2])


def text_overlay(text: str, width: int, height: int, *, size_ratio: float = 0.08, colour: str = "#ffffff",
                 anchor_y: float = 0.5) -> Overlay:
    """Text centred horizontally at anchor_y (0 top, 1 bottom), with a soft shadow; scaled to fit the width."""
    size = max(10, int(min(width, height) * size_ratio))
    font = ImageFont.load_default(size=size)
    while size > 10 and font.getlength(text) > width * 0.9:
        size = int(size * 0.9)
        font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    pad = max(4, size // 6)
    w = min(width, int(right - left) + 2 * pad)
    h = min(height, int(bottom - top) + 2 * pad)
    w, h = w + w % 2, h + h % 2
    shadow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(shadow).text((pad - left + 2, pad - top + 2), text, font=font, fill=200)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(1, size // 20)))
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((pad - left, pad - top), text, font=font, fill=255)
    fg = np.asarray(mask, dtype=np.float32) / 255.0
    sh = np.asarray(shadow, dtype=np.float32) / 255.0
    alpha = np.clip(fg + sh * (1 - fg), 0, 1)
    y_colour = rgb_to_yuv(np.array(hex_rgb(colour, (255, 255, 255)), dtype=np.float32))
    luma = (16 + (y_colour[0] - 16) * fg / np.maximum(alpha, 1e-3)).astype(np.float32)
    x = (width - w) // 2 & ~1
    y = int(np.clip(height * anchor_y - h / 2, 0, height - h)) & ~1
    fg_half = fg[::2, ::2]
    alpha_half = alpha[::2, ::2]
    ratio = fg_half / np.maximum(alpha_half, 1e-3)
    return Overlay(x, y, luma, 128 + (y_colour[1] - 128) * ratio, 128 + (y_colour[2] - 128) * ratio,
                   alpha, alpha_half)
