"""The plain renderer: background (image or gradient), a live level meter and waveform, timed titles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nemo_local.render.audio import pcm_blocks
from nemo_local.render.base import Cancelled, RenderError, RenderJob
from nemo_local.render.colour import yuv
from nemo_local.render.encode import Encoder
from nemo_local.render.frame import Frame, Overlay, gradient_background, image_background, text_overlay

SAMPLES_PER_FRAME = 400


def _track(draft: dict[str, Any], kind: int) -> list[dict[str, Any]]:
    for track in draft.get("t") or []:
        if track.get("tt") == kind and track.get("sg"):
            return list(track["sg"])
    return []


class PlainRenderer:
    def render(self, job: RenderJob) -> None:
        draft = job.draft
        meta = draft.get("m") or {}
        width, height = job.frame_size()
        fps = job.fps
        audio_seg = (_track(draft, 1) or [{}])[0]
        audio_path = job.sources.get(str(audio_seg.get("src"))) if audio_seg else None
        duration = float(draft.get("d") or audio_seg.get("d") or 0) / 1000
        if duration <= 0:
            raise RenderError("the draft has no duration: add an audio track")
        frames = max(1, round(duration * fps))

        visual = (_track(draft, 0) or [{}])[0]
        visual_path: Path | None = job.sources.get(str(visual.get("src")))
        if visual_path is not None:
            background = image_background(visual_path, width, height)
        else:
            background = gradient_background(width, height, str(meta.get("background", "#0d1321")))
        titles = [(seg, text_overlay(str(seg.get("text", "")), width, height, anchor_y=0.2))
                  for seg in _track(draft, 7) if seg.get("text")]
        accent = yuv(str(meta.get("accent", "#36c5f0")))

        frame = Frame(width, height)
        meter = _Meter(width, height, accent)
        rate = SAMPLES_PER_FRAME * fps
        blocks = (pcm_blocks(audio_path, rate, SAMPLES_PER_FRAME, frames) if audio_path
                  else (np.zeros(SAMPLES_PER_FRAME, np.float32) for _ in range(frames)))
        step = max(1, frames // 100)
        with Encoder(job.output, width, height, fps, frames, audio_path, float(audio_seg.get("v", 1.0)),
                     job.preset) as encoder:
            for index, samples in enumerate(blocks):
                if index % 10 == 0 and job.cancelled():
                    raise Cancelled()
                frame.copy_from(background)
                meter.draw(frame, samples)
                now_ms = index * 1000 / fps
                for seg, overlay in titles:
                    _draw_title(frame, seg, overlay, now_ms)
                encoder.write(frame.data.data)
                if index % step == 0:
                    job.progress(index / frames)
            encoder.finish()
        job.progress(1.0)


def _draw_title(frame: Frame, seg: dict[str, Any], overlay: Overlay, now_ms: float) -> None:
    start, length = float(seg.get("s", 0)), float(seg.get("d", 3000))
    if not start <= now_ms < start + length:
        return
    fade = min(1.0, (now_ms - start) / 250, (start + length - now_ms) / 250)
    overlay.blend(frame, max(0.0, fade))


class _Meter:
    """A mirrored waveform across the middle and a level bar along the bottom, in the accent colour."""

    def __init__(self, width: int, height: int, accent: tuple[float, float, float]) -> None:
        self.width, self.height = width, height
        self.accent = accent
        self.columns = width // 4
        self.half = height // 5
        self.rows = np.abs(np.arange(-self.half, self.half)[:, None]).astype(np.float32)
        self.level = 0.0

    def draw(self, frame: Frame, samples: np.ndarray) -> None:
        chunks = samples[: len(samples) // self.columns * self.columns].reshape(self.columns, -1) \
            if len(samples) >= self.columns else np.resize(samples, (self.columns, 1))
        env = np.sqrt(np.mean(chunks**2, axis=1)) * 2.5
        heights = np.clip(env, 0.01, 1.0) * self.half
        mask = self.rows <= heights[None, :]                           # (2*half, columns)
        mask = np.repeat(mask, 4, axis=1)[:, : self.width]
        top = self.height // 2 - self.half
        y_region = frame.y[top: top + 2 * self.half, : mask.shape[1]]
        y_region[mask] = int(self.accent[0])
        half_mask = mask[::2, ::2]
        for plane, value in ((frame.u, self.accent[1]), (frame.v, self.accent[2])):
            region = plane[top // 2: top // 2 + half_mask.shape[0], : half_mask.shape[1]]
            region[half_mask] = int(value)
        rms = float(np.sqrt(np.mean(samples**2)))
        self.level = max(rms * 3, self.level * 0.85)
        bar_h = max(2, self.height // 60) & ~1
        bar_w = int(min(1.0, self.level) * self.width) & ~1
        if bar_w:
            frame.y[self.height - 2 * bar_h: self.height - bar_h, :bar_w] = int(self.accent[0])
            frame.u[(self.height - 2 * bar_h) // 2: (self.height - bar_h) // 2, : bar_w // 2] = int(self.accent[1])
            frame.v[(self.height - 2 * bar_h) // 2: (self.height - bar_h) // 2, : bar_w // 2] = int(self.accent[2])
        if not np.isfinite(rms):
            raise RenderError("the audio could not be decoded")
