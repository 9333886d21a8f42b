"""Planning a `make`: which frame sizes, and where each video goes (one per audio file and size)."""

from __future__ import annotations

import re
from pathlib import Path

from nemo_skill import errors
from nemo_skill import export as exporting

ASPECT_NAMES = {"16:9": "landscape 16:9", "9:16": "vertical 9:16", "1:1": "square 1:1"}
ALL_SIZES = re.compile(r"\ball (?:the )?(?:sizes|aspect ratios|aspects|formats)\b|\bevery (?:size|format|aspect)\b|"
                       r"\bin all three\b", re.I)


def make_targets(audio: list[Path], sizes: list[str | None], output: Path | None, force: bool) -> list[list[Path]]:
    """Where each video goes: per audio file, one path per frame size (NAME-9x16.mp4 when there are several)."""
    batch = len(audio) > 1
    if batch and output is not None and (output.suffix or output.is_file()) and not output.is_dir():
        raise errors.UsageError("with several audio files, -o names a folder: one video per audio file")
    if batch and output is not None:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.InputError(f"cannot create the folder {output}: {exc.strerror}") from None
    targets = []
    for track in audio:
        base = output or Path(track.stem + ".mp4")
        if base.is_dir() or batch:
            base = base / (track.stem + ".mp4")
        targets.append([exporting.target_path(base if size is None or len(sizes) == 1 else
                                              base.with_name(f"{base.stem}-{size.replace(':', 'x')}.mp4"),
                                              "video.mp4", force) for size in sizes])
    return targets
