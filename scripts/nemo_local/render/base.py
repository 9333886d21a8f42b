"""The renderer interface and the job it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nemo_local.analysis import Analysis, analyse
from nemo_local.draft import meta_of
from nemo_local.render.settings import EncodeSettings

MAX_SIDE, MIN_SIDE = 1920, 64


class RenderError(Exception):
    """A render that cannot be done; the message is shown to the user as the failure reason."""


class Cancelled(Exception):
    """The render was cancelled while it ran."""


@dataclass
class RenderJob:
    draft: dict[str, Any]
    sources: dict[str, Path]                 # file id -> path on disk
    output: Path                             # write the MP4 here (the caller renames it when done)
    fps: int = 30
    max_side: int = 0                        # scale the frame down to this longest side (0 = as the draft says)
    preset: str = "ultrafast"
    poster: Path | None = None               # write a JPEG still here (a second after the first drop, else one
                                             # third in); the caller renames it, as the MP4
    captions: Path | None = None             # with captions on, write <captions>.srt and .vtt (the caller renames)
    encoding: EncodeSettings | None = None   # everything the encoder is told; None: the defaults with `preset`
    analysis: Callable[[Path], Analysis] = analyse   # the audio's analysis (the service hands on the upload's)
    progress: Callable[[float], None] = field(default=lambda fraction: None)
    cancelled: Callable[[], bool] = field(default=lambda: False)

    def settings(self) -> EncodeSettings:
        return self.encoding if self.encoding is not None else EncodeSettings(preset=self.preset)

    def frame_size(self) -> tuple[int, int]:
        """The draft's size, kept within 64..1920 px a side (a draft is client data)."""
        meta = meta_of(self.draft)
        try:
            width, height = int(meta.get("width") or 1920), int(meta.get("height") or 1080)
        except (TypeError, ValueError):
            width, height = 1920, 1080
        if max(width, height) > MAX_SIDE:
            scale = MAX_SIDE / max(width, height)
            width, height = int(width * scale), int(height * scale)
        width, height = max(width, MIN_SIDE), max(height, MIN_SIDE)
        if self.max_side and max(width, height) > self.max_side:
            scale = self.max_side / max(width, height)
            width, height = int(width * scale), int(height * scale)
        return width - width % 2, height - height % 2


@dataclass(frozen=True)
class Rendered:
    """What a render made: the frame, the rates it was encoded at, and whether a size cap made them smaller."""

    width: int
    height: int
    seconds: float
    audio_kbps: int
    video_kbps: int | None          # the capped rate; None: quality-based (CRF), no cap
    smaller: bool = False           # the frame or audio rate was lowered to meet the size cap
    chunks: int = 1                 # drawn as this many chunks (on other processes or machines), joined

    def as_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "seconds": round(self.seconds, 3),
                "audioKbps": self.audio_kbps, "videoKbps": self.video_kbps, "smaller": self.smaller,
                "chunks": self.chunks}


class Renderer(Protocol):
    def render(self, job: RenderJob) -> Rendered:
        """Write job.output, reporting progress in [0, 1]; raise RenderError or Cancelled."""

    def close(self) -> None:
        """Let go of worker processes and cluster connections."""

