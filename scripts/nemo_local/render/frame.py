"""A yuv420p frame as numpy planes, its backgrounds, and text overlays drawn with Pillow's bundled font."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nemo_local import procs
from nemo_local.media import ffmpeg_exe
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
    frame.y[:] = yuv[:, 0:1].astype(np.uint8)
    frame.u[:] = yuv[::2, 1:2].astype(np.uint8)
    frame.v[:] = yuv[::2, 2:3].astype(np.uint8)
    return frame


def image_background(path: Path, width: int, height: int, dim: float = 0.6) -> Frame:
    """Decode the first frame of an image or video once, scaled and cropped to fill the frame, then dimmed."""
    vf = (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
          "format=yuv420p")
    proc = procs.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path), "-frames:v", "1",
         "-vf", vf, "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
        timeout=120,
    )
    expected = width * height * 3 // 2
    if proc.returncode != 0 or len(proc.stdout) != expected:
        reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"cannot read the background {path.name}: {reason[-1] if reason else 'no frame'}")
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
        h, w = self.alpha.shape
        region = frame.y[self.y: self.y + h, self.x: self.x + w]
        a = self.alpha * opacity
        region[:] = (region * (1 - a) + self.luma * a).astype(np.uint8)
        hy, hx, (hh, hw) = self.y // 2, self.x // 2, self.alpha_half.shape
        ah = self.alpha_half * opacity
        for plane, colour in ((frame.u, self.chroma_u), (frame.v, self.chroma_v)):
            sub = plane[hy: hy + hh, hx: hx + hw]
            sub[:] = (sub * (1 - ah) + colour * ah).astype(np.uint8)


def text_overlay(text: str, width: int, height: int, *, size_ratio: float = 0.08, colour: str = "#ffffff",
                 anchor_y: float = 0.5) -> Overlay:
    """Text centred horizontally at anchor_y (0 top, 1 bottom), with a soft shadow; scaled to fit the width."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

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
