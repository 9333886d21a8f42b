"""The frame loop: draw a window of frames through the layers into one frame and feed each to the encoder.

A single-pass render draws the whole video in one window; a chunked render (`chunks`) draws each chunk in its own
window, in its own process or machine. Either way frame i comes out the same: a window that starts mid-video first
shows the layers that carry state over frames (`compose.Settles`) the frames before it, without drawing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nemo_local.render.audio import pcm_blocks
from nemo_local.render.base import Cancelled
from nemo_local.render.compose import Scene, Settles, beats
from nemo_local.render.encode import Encoder
from nemo_local.render.frame import Frame
from nemo_local.render.settings import EncodeSettings
from nemo_local.render.stack import layers_for
from nemo_local.render.styles import SETTLE_FRAMES

SAMPLES_PER_FRAME = 400


@dataclass(frozen=True)
class Sound:
    """The audio muxed under the frames: a file from `start` seconds, at `volume`, through `filter` (loudness,
    fades). A chunk has none: the audio is made once for the whole video when the chunks are joined."""

    path: Path
    start: float = 0.0
    volume: float = 1.0
    filter: str = ""


def write_poster(frame: Frame, path: Path) -> None:
    """The frame as a JPEG (BT.709 limited-range YUV to sRGB); like the MP4, the caller renames it when done."""
    y = (frame.y.astype(np.float32) - 16) * 1.164
    u = np.repeat(np.repeat(frame.u.astype(np.float32) - 128, 2, 0), 2, 1)
    v = np.repeat(np.repeat(frame.v.astype(np.float32) - 128, 2, 0), 2, 1)
    rgb = np.stack([y + 1.793 * v, y - 0.213 * u - 0.533 * v, y + 2.112 * u], axis=-1)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, format="JPEG", quality=88)


def settle_start(window: range, first: int) -> int:
    """Where the frames a window needs to see start: SETTLE_FRAMES before it, never before the video's first
    frame `first` (a single pass starts there with nothing seen)."""
    return max(first, window.start - SETTLE_FRAMES)


def draw_window(scene: Scene, output: Path, settings: EncodeSettings, window: range, settle_from: int,
                sound: Sound | None = None, poster: int = -1, poster_path: Path | None = None,
                progress: Callable[[float], None] = lambda fraction: None,
                cancelled: Callable[[], bool] = lambda: False) -> None:
    """Encode the frames of `window` into `output` (with `sound` under them, or video only), after showing the
    frames from `settle_from` to the settling layers. Writes frame `poster` to `poster_path` as a JPEG."""
    fps, width, height = scene.fps, scene.width, scene.height
    frame = Frame(width, height)
    beat_at = beats(scene.timing, scene.accent, scene.hot, width, height)
    settle_from = min(settle_from, window.start)
    blocks = pcm_blocks(scene.audio, SAMPLES_PER_FRAME * fps, SAMPLES_PER_FRAME,
                        window.stop - settle_from, settle_from / fps)
    step = max(1, len(window) // 100)
    layers = layers_for(scene)
    settling = [each for each in layers if isinstance(each, Settles)]
    try:
        for index, samples in zip(range(settle_from, window.start), blocks, strict=False):
            beat = beat_at(index, samples)
            for settler in settling:
                settler.settle(beat)
        with Encoder(output, width, height, fps, len(window), sound.path if sound else None,
                     sound.volume if sound else 1.0, settings, sound.start if sound else 0.0,
                     sound.filter if sound else "") as encoder:
            for index, samples in zip(window, blocks, strict=True):
                if index % 15 == 0 and cancelled():
                    raise Cancelled()
                beat = beat_at(index, samples)
                for layer in layers:
                    layer.draw(frame, beat)
                encoder.write(frame.data.data)
                if index == poster and poster_path is not None:
                    write_poster(frame, poster_path)
                if index % step == 0:
                    progress((index - window.start) / len(window))
            encoder.finish()
    finally:
        for layer in layers:
            layer.close()
