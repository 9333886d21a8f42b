"""One ffmpeg process that takes raw yuv420p frames on stdin and muxes them with the audio into an MP4."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from nemo_local.media import procs
from nemo_local.media.ffmpeg import explain, ffmpeg_exe
from nemo_local.render.base import RenderError
from nemo_local.render.settings import EncodeSettings

log = logging.getLogger("nemo_local")


def audio_args(audio: Path, volume: float, settings: EncodeSettings, start: float = 0.0, chain: str = "",
               alone: bool = False) -> list[str]:
    """The audio input (the second, after the video; or the only one, `alone`) and how it is encoded: AAC from
    `start` s, through `chain` (loudness, fades) or at `volume`. A single pass and a chunked render (which encodes
    it alone while the chunks are drawn) make the same audio."""
    args = ["-ss", f"{start:.3f}"] if start > 0 else []
    args += ["-i", str(audio), *(["-vn"] if alone else ["-map", "0:v:0", "-map", "1:a:0"])]
    filters = [f"volume={volume:.3f}"] if abs(volume - 1.0) > 1e-3 and not chain else []
    filters += [chain] if chain else []     # loudness normalisation sets the level itself
    if filters:
        args += ["-af", ",".join(filters)]
    return [*args, "-c:a", "aac", "-b:a", f"{settings.audio_kbps}k", "-ac", str(settings.audio_channels)]


def mp4_args(frames: int, output: Path) -> list[str]:
    """Exactly `frames` frames into an MP4 that plays while it downloads, with no metadata carried over."""
    return ["-frames:v", str(frames), "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
            "-f", "mp4", str(output)]


class Encoder:
    """Feed exactly `frames` frames with write(); the output has H.264 yuv420p video and AAC audio."""

    def __init__(self, output: Path, width: int, height: int, fps: int, frames: int, audio: Path | None,
                 volume: float = 1.0, settings: EncodeSettings | None = None, audio_start: float = 0.0,
                 audio_filter: str = "") -> None:
        settings = settings or EncodeSettings()
        self.frames = frames
        volume = volume if 0.0 <= volume <= 4.0 else 1.0   # the draft schema keeps 0-2; never feed AAC a blow-up
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0"]
        if audio is not None:
            cmd += audio_args(audio, volume, settings, audio_start, audio_filter)
        # BT.709 is tagged in the stream by x264 itself: ffmpeg's -colorspace options would make it convert
        # every frame (measured: 40 % more CPU for the same output).
        cmd += [*settings.video_args(), *mp4_args(frames, output)]
        self._proc = procs.popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)
        if hasattr(fcntl, "F_SETPIPE_SZ") and self._proc.stdin is not None:
            with contextlib.suppress(OSError):   # the system may cap pipe sizes; the default works too
                fcntl.fcntl(self._proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)

    def write(self, frame: bytes | memoryview) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(frame)
        except BrokenPipeError:
            raise RenderError(f"the encoder stopped: {self._error()}") from None

    def _error(self) -> str:
        """Why ffmpeg stopped, in words (its own log goes to the server log only)."""
        self._proc.wait()
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip()
        log.warning("the encoder stopped (exit %s): %s", self._proc.returncode, text[-2000:])
        return explain(text)

    def finish(self) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise RenderError(f"the encoder failed: {self._error()}")

    def abort(self) -> None:
        self._proc.kill()
        self._proc.wait()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is not None:
            self.abort()
        self._log.close()
