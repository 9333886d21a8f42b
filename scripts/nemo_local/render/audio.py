"""Audio decoding through ffmpeg, streamed: PCM arrives in per-frame blocks, never as a whole file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nemo_local.media import decode_pcm


def pcm_blocks(path: Path, rate: int, block: int, blocks: int, start: float = 0.0) -> Iterator[np.ndarray]:
    """Yield exactly `blocks` mono float32 blocks of `block` samples at `rate` Hz (zero-padded at the end),
    from `start` seconds in."""
    proc = decode_pcm(path, rate, start=start)
    assert proc.stdout is not None
    size = block * 2
    try:
        for _ in range(blocks):
            raw = proc.stdout.read(size)
            samples = np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype="<i2").astype(np.float32) / 32768.0
            if len(samples) < block:
                samples = np.pad(samples, (0, block - len(samples)))
            yield samples
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
