"""A downloaded video over its size cap, made to fit on this machine (with the [local] extra's ffmpeg) instead of
being thrown away: a cloud render was paid for, so the original is always kept beside the smaller copy."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from nemo_skill import errors
from nemo_skill.destinations import Fit, fit_cap

TRIES = 3


def original_of(path: Path) -> Path:
    """Where the render as downloaded is kept when a smaller copy takes its name: NAME.original.mp4."""
    return path.with_name(f"{path.stem}.original{path.suffix}")


def shrink(path: Path, max_bytes: int) -> Fit:
    """Re-encode `path` to fit `max_bytes` (a smaller frame and audio rate when needed, `fit_cap`); the original
    is kept as NAME.original.mp4 and the copy takes the name. DependencyError without the local extra; RenderFailed
    when no setting fits (the original stays where it was)."""
    try:
        from nemo_local.media import ffmpeg  # the [local] extra: its ffmpeg
        ffmpeg_exe = ffmpeg.ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise errors.DependencyError(
            f"{path.name} is {path.stat().st_size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB cap; it is kept as "
            "it came", hint="Install the local extra (nemo.py setup) to make it fit here, or allow a larger size."
        ) from None
    info = ffmpeg.probe(path)
    if not (info.duration and info.width and info.height):
        raise errors.RenderFailed(f"{path.name} cannot be read to make it smaller; it is kept as it came")
    try:
        fit = fit_cap(max_bytes, info.duration, info.width, info.height, info.fps or 30, 128)
    except ValueError as exc:
        raise errors.RenderFailed(f"{path.name} is kept as it came: {exc}") from None
    part = path.with_name(f".{path.stem}.fit.part.mp4")
    rate = fit.video_kbps
    try:
        for _ in range(TRIES):
            cmd = [ffmpeg_exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(path),
                   "-vf", f"scale={fit.width}:{fit.height}", "-c:v", "libx264", "-preset", "veryfast",
                   "-crf", "23", "-maxrate", f"{rate}k", "-bufsize", f"{rate * 2}k", "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-b:a", f"{fit.audio_kbps}k", "-ac", "1" if fit.audio_kbps <= 48 else "2",
                   "-movflags", "+faststart", str(part)]
            if subprocess.run(cmd, capture_output=True, timeout=max(600, info.duration * 4)).returncode != 0:
                raise errors.RenderFailed(f"{path.name} could not be re-encoded here; it is kept as it came")
            if part.stat().st_size <= max_bytes:
                path.replace(original_of(path))
                part.replace(path)
                return Fit(fit.width, fit.height, fit.audio_kbps, rate, True)
            rate = int(rate * 0.85 * max_bytes / part.stat().st_size)
        raise errors.RenderFailed(f"{path.name} stayed over {max_bytes / 1e6:g} MB here too; it is kept as it came",
                                  hint="Trim the clip or allow a larger size.")
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
