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

import numpy as np

from nemo_local import procs
from nemo_local.media import ffmpeg_exe
from nemo_local.render.base import RenderError
from nemo_local.render.colour import rgb_to_yuv
from nemo_local.render.frame import Frame

FIT_BEYOND = 1.45       # a picture whose shape differs from the frame's by more is shown whole over a blurred fill
PAN_LIMIT = 0.12        # the farthest a still travels, as a share of the frame's short side
PAN_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1))
MIN_MARGIN = 16         # room to shake on a drop, even when the shot is short


def rgb_frame(rgb: np.ndarray, dim: float = 1.0) -> Frame:
    """An (h, w, 3) uint8 RGB picture as a limited-range BT.709 yuv420p Frame, dimmed towards black by `dim`."""
    height, width = rgb.shape[:2]
    yuv = rgb_to_yuv(rgb)
    frame = Frame(width, height)
    frame.y[:] = np.clip(16 + (yuv[..., 0] - 16) * dim + 0.5, 0, 255).astype(np.uint8)
    for plane, channel in ((frame.u, 1), (frame.v, 2)):
        quad = yuv[..., channel].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
        plane[:] = np.clip(128 + (quad - 128) * dim + 0.5, 0, 255).astype(np.uint8)
    return frame


def load_rgb(path: Path, width: int, height: int, fit: bool | None = None) -> np.ndarray:
    """The picture at (width, height): scaled and centre-cropped to fill, or (`fit`, or a shape far from the
    frame's, such as a portrait photo in a landscape frame) shown whole over a blurred, darker fill."""
    from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

    side = max(width, height)
    try:
        with Image.open(path) as img:
            img.draft("RGB", (side, side))          # JPEG: decode at 1/2, 1/4 or 1/8 when that is still enough
            picture = ImageOps.exif_transpose(img).convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise RenderError(f"cannot read the picture {path.name}: {exc}") from None
    ratio, frame_ratio = picture.width / picture.height, width / height
    if fit is None:
        fit = max(ratio / frame_ratio, frame_ratio / ratio) > FIT_BEYOND
    if not fit:
        return np.asarray(ImageOps.fit(picture, (width, height), Image.Resampling.BILINEAR))
    small = ImageOps.fit(picture, (max(2, width // 8), max(2, height // 8)), Image.Resampling.BILINEAR)
    back = small.filter(ImageFilter.GaussianBlur(3)).resize((width, height), Image.Resampling.BILINEAR)
    back = back.point(lambda v: int(v * 0.55))
    front = ImageOps.contain(picture, (width, height), Image.Resampling.BILINEAR)
    back.paste(front, ((width - front.width) // 2, (height - front.height) // 2))
    return np.asarray(back)


class Still:
    """A photo for one shot: decoded with a margin, then panned a whole pixel at a time across it."""

    def __init__(self, path: Path, width: int, height: int, frames: int, number: int, dim: float) -> None:
        self.width, self.height = width, height
        self.margin = max(MIN_MARGIN, min(frames, int(min(width, height) * PAN_LIMIT))) & ~1
        self.every = max(1, math.ceil(frames / self.margin))            # frames per one-pixel step
        self.direction = PAN_DIRECTIONS[number % len(PAN_DIRECTIONS)]
        self.big = rgb_frame(load_rgb(path, width + self.margin, height + self.margin), dim)

    def offset(self, k: int, dx: int = 0, dy: int = 0) -> tuple[int, int]:
        travel = min(self.margin, k // self.every)
        half = self.margin // 2
        x = {1: travel, -1: self.margin - travel, 0: half}[self.direction[0]] + dx
        y = {1: travel, -1: self.margin - travel, 0: half}[self.direction[1]] + dy
        return max(0, min(self.margin, x)), max(0, min(self.margin, y))

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

    def __init__(self, path: Path, width: int, height: int, frames: int, fps: int, dim: float) -> None:
        self.name = path.name
        self.frame = Frame(width, height)
        self.buffer = memoryview(self.frame.data.data).cast("B")
        self.started = False
        vf = (f"fps={fps},scale={width}:{height}:force_original_aspect_ratio=increase:flags=bilinear,"
              f"crop={width}:{height},format=yuv420p")
        if dim < 0.999:
            vf += f",lutyuv=y=16+(val-16)*{dim:.3f}:u=128+(val-128)*{dim:.3f}:v=128+(val-128)*{dim:.3f}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = procs.popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-stream_loop", "-1", "-i", str(path),
             "-an", "-sn", "-dn", "-vf", vf, "-frames:v", str(frames), "-f", "rawvideo", "-pix_fmt", "yuv420p",
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
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
            raise RenderError(f"cannot read the clip {self.name}: {lines[-1] if lines else 'no frames'}")
        self.started = True
        frame.copy_from(self.frame)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()
        self.proc.kill()
        self.proc.wait()
        self._log.close()
