"""The user's pictures as frames: stills decoded once per shot (Pillow: EXIF rotation, fast JPEG draft decoding)
and video clips decoded streaming by ffmpeg, already scaled to the frame, looped, muted.

A `Still` moves slowly (a Ken Burns pan of whole pixels at an even pace, so there is no sub-pixel shimmer and
the encoder sees a plain translation); a `Clip` plays. Both draw shot frame k into a yuv420p Frame.
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from nemo_local.media import procs
from nemo_local.media.ffmpeg import explain, ffmpeg_exe
from nemo_local.render.base import RenderError
from nemo_local.render.frame import Frame

FIT_BEYOND = 1.6        # a picture whose shape differs from the frame's by more (a portrait photo in 16:9, a 16:9 one
                        # in 9:16 or 1:1) is shown whole over a blurred fill; closer shapes (3:2 in 1:1) fill it
PAN_LIMIT = 0.12        # the farthest a still travels, as a share of the frame's short side
PAN_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))
MIN_MARGIN = 16         # room to shake on a drop, even when the shot is short
STEP = 2                # pixels per pan step: even, so the half-size colour planes move in step with the luma


# BT.709 limited range, as RGB -> one channel matrices for Pillow's C converter: (r, g, b, offset)
Y709, U709, V709 = (np.array(m, np.float64) for m in (
    (0.2126 * 219 / 255, 0.7152 * 219 / 255, 0.0722 * 219 / 255),
    (-0.2126 / 1.8556 * 224 / 255, -0.7152 / 1.8556 * 224 / 255, (1 - 0.0722) / 1.8556 * 224 / 255),
    ((1 - 0.2126) / 1.5748 * 224 / 255, -0.7152 / 1.5748 * 224 / 255, -0.0722 / 1.5748 * 224 / 255)))


def picture_frame(picture: Any, dim: float = 1.0) -> Frame:
    """An RGB Pillow image (even sides) as a limited-range BT.709 yuv420p Frame, dimmed towards black by `dim`.
    Pillow's matrix conversion does the arithmetic in C; chroma is taken from the 2x2 box-reduced picture."""
    width, height = picture.size
    frame = Frame(width, height)
    half = picture.reduce(2)
    for plane, image, matrix, offset in ((frame.y, picture, Y709, 16), (frame.u, half, U709, 128),
                                         (frame.v, half, V709, 128)):
        plane[:] = np.asarray(image.convert("L", (*(matrix * dim), offset + 0.5)))
    return frame


def unreadable(exc: Exception) -> str:
    """Why Pillow could not read a picture, in words (never its message, which names paths and internals)."""
    if isinstance(exc, Image.DecompressionBombError):
        return "the picture is too large: make it smaller"
    if isinstance(exc, UnidentifiedImageError):
        return "it is not a picture this skill can read (JPG, PNG, GIF, WEBP)"
    return "it is damaged or cut short: export it again"


def _stored_size(img: object, width: int, height: int) -> tuple[int, int]:
    """The size to ask a JPEG decoder for (in the file's own orientation): just enough to cover the frame."""
    assert isinstance(img, Image.Image)
    pw, ph = img.size
    if img.getexif().get(0x0112) in (5, 6, 7, 8):   # stored sideways: the frame's sides swap
        width, height = height, width
    scale = max(width / pw, height / ph)
    return max(1, math.ceil(pw * scale)), max(1, math.ceil(ph * scale))


def load_rgb(path: Path, width: int, height: int, fit: bool | None = None) -> np.ndarray:
    """`load_picture` as an (height, width, 3) uint8 array."""
    return np.asarray(load_picture(path, width, height, fit))


def load_picture(path: Path, width: int, height: int, fit: bool | None = None) -> Any:
    """The picture at (width, height): scaled and centre-cropped to fill, or (`fit`, or a shape far from the
    frame's, such as a portrait photo in a landscape frame) shown whole over a blurred, darker fill."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", _stored_size(img, width, height))   # JPEG: decode at 1/2, 1/4 or 1/8 when enough
            picture = ImageOps.exif_transpose(img).convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise RenderError(f"cannot read the picture {path.name}: {unreadable(exc)}") from None
    ratio, frame_ratio = picture.width / picture.height, width / height
    if fit is None:
        fit = max(ratio / frame_ratio, frame_ratio / ratio) > FIT_BEYOND
    if not fit:
        return ImageOps.fit(picture, (width, height), Image.Resampling.BILINEAR)
    small = ImageOps.fit(picture, (max(2, width // 8), max(2, height // 8)), Image.Resampling.BILINEAR)
    back = small.filter(ImageFilter.GaussianBlur(3)).resize((width, height), Image.Resampling.BILINEAR)
    back = back.point(lambda v: int(v * 0.55))
    front = ImageOps.contain(picture, (width, height), Image.Resampling.BILINEAR)
    back.paste(front, ((width - front.width) // 2, (height - front.height) // 2))
    return back


class Still:
    """A photo for one shot: decoded with a margin, then panned a whole pixel at a time across it."""

    def __init__(self, path: Path, width: int, height: int, frames: int, number: int, dim: float) -> None:
        self.width, self.height = width, height
        self.margin = max(MIN_MARGIN, min(frames, int(min(width, height) * PAN_LIMIT))) & ~1
        self.every = max(1, math.ceil(frames * STEP / self.margin))     # frames per step of STEP pixels
        self.direction = PAN_DIRECTIONS[number % len(PAN_DIRECTIONS)]
        self.big = picture_frame(load_picture(path, width + self.margin, height + self.margin), dim)

    def offset(self, k: int, dx: int = 0, dy: int = 0) -> tuple[int, int]:
        travel = min(self.margin, k // self.every * STEP)
        half = self.margin // 2
        x = {1: travel, -1: self.margin - travel, 0: half}[self.direction[0]] + dx
        y = {1: travel, -1: self.margin - travel, 0: half}[self.direction[1]] + dy
        return max(0, min(self.margin, x)) & ~1, max(0, min(self.margin, y)) & ~1

    def draw(self, k: int, frame: Frame, dx: int = 0, dy: int = 0) -> None:
        x, y = self.offset(k, dx, dy)
        w, h = self.width, self.height
        np.copyto(frame.y, self.big.y[y: y + h, x: x + w])
        np.copyto(frame.u, self.big.u[y // 2: y // 2 + h // 2, x // 2: x // 2 + w // 2])
        np.copyto(frame.v, self.big.v[y // 2: y // 2 + h // 2, x // 2: x // 2 + w // 2])

    def close(self) -> None:
        pass


class Clip:
    """A video clip for one shot: ffmpeg decodes it at the output's rate and size (filled, centre-cropped),
    loops it when it is shorter than the shot, mutes it, and dims it in the same pass."""

    def __init__(self, path: Path, width: int, height: int, frames: int, fps: int, dim: float,
                 skip: int = 0) -> None:
        """`skip`: start that many frames into the shot (a chunk that starts mid-shot). The frames before it are
        decoded and dropped before they are scaled: a seek would land on a neighbouring frame whenever the clip's
        rate is not the video's, and a shot is a bar or two long."""
        self.name = path.name
        self.frame = Frame(width, height)
        self.buffer = memoryview(self.frame.data.data).cast("B")
        self.started = False
        trim = f"trim=start_frame={skip}," if skip > 0 else ""
        vf = (f"fps={fps},{trim}scale={width}:{height}:force_original_aspect_ratio=increase:flags=bilinear,"
              f"crop={width}:{height},format=yuv420p")
        if dim < 0.999:
            vf += f",lutyuv=y=16+(val-16)*{dim:.3f}:u=128+(val-128)*{dim:.3f}:v=128+(val-128)*{dim:.3f}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = procs.popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-stream_loop", "-1",
             "-i", str(path),
             "-an", "-sn", "-dn", "-vf", vf, "-frames:v", str(max(1, frames - skip)), "-f", "rawvideo", "-pix_fmt",
             "yuv420p",
             "pipe:1"], stdout=subprocess.PIPE, stderr=self._log)

    def _read(self) -> bool:
        assert self.proc.stdout is not None
        got = 0
        while got < len(self.buffer):
            n = self.proc.stdout.readinto(self.buffer[got:])   # type: ignore[attr-defined]
            if not n:
                return False
            got += n
        return True

    def draw(self, k: int, frame: Frame, dx: int = 0, dy: int = 0) -> None:
        """The clip's next frame; at its end (or after a short read) the last one stays."""
        if self.proc.stdout is not None and not self._read() and not self.started:
            self._log.seek(0)
            why = explain(self._log.read().decode("utf-8", "replace"))
            raise RenderError(f"cannot read the clip {self.name}: {why}")
        self.started = True
        frame.copy_from(self.frame)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        self.proc.kill()
        self.proc.wait()
        self._log.close()
