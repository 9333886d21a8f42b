"""Per-video-frame timing from the analysis: beat pulse, drop envelope, section colour, levels, spectrum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nemo_local.analysis import FEATURE_RATE, Analysis
from nemo_local.analysis.features import N_FFT, RATE

FEATURE_WINDOW_S = N_FFT / RATE

BEAT_DECAY_S = 0.16
DROP_DECAY_S = 0.7
BAND_RANGE_DB = 45.0
BAND_SPREAD_DB = 40.0


@dataclass
class Timing:
    frames: int
    fps: int
    beat_frames: np.ndarray      # frame index of every beat
    drop_frames: np.ndarray      # frame index of every drop
    pulse: np.ndarray            # (frames,) 1 on a beat frame, decaying after it; 0 when beat sync is off
    drop: np.ndarray             # (frames,) 1 on a drop frame, decaying after it; 0 when drops are off
    hot: np.ndarray              # (frames,) bool: inside the section a drop opened (accent colour changes)
    level: np.ndarray            # (frames,) loudness 0..1
    bands: np.ndarray            # (frames, bands) spectrum 0..1
    drop_strength: np.ndarray | None = None   # per drop frame, 0..1 (None: all 1): the flash, shake and sparks scale

    def strength_at(self, frame: int) -> float:
        """The strength of the drop at this frame (1 when unknown)."""
        if self.drop_strength is None:
            return 1.0
        where = np.flatnonzero(self.drop_frames == frame)
        return float(self.drop_strength[where[0]]) if len(where) else 1.0

    def is_beat(self, index: int) -> bool:
        return bool(self.pulse[index] >= 0.999)


def _envelope(events: np.ndarray, frames: int, decay_frames: float, heights: np.ndarray | None = None
              ) -> np.ndarray:
    """1 (or the event's height) at each event frame, exp(-age/decay) of it after, 0 before the first."""
    if len(events) == 0:
        return np.zeros(frames, np.float32)
    index = np.arange(frames)
    last = np.searchsorted(events, index, side="right") - 1
    age = np.where(last >= 0, index - events[np.clip(last, 0, None)], np.inf)
    scale = 1.0 if heights is None else heights[np.clip(last, 0, None)]
    return (scale * np.exp(-age / decay_frames)).astype(np.float32)


def _per_frame(values: np.ndarray, frames: int, fps: int) -> np.ndarray:
    """Resample feature-rate rows to one row per video frame (mean of the hops the frame covers).

    Feature windows are centred, so they hear an attack before it happens; the Hann taper makes that
    about a quarter window (one feature row). Delaying them by that keeps the visual from moving before
    the beat it shows.
    """
    lag = round(FEATURE_WINDOW_S / 4 * FEATURE_RATE)
    if len(values) and lag:
        values = np.concatenate([np.repeat(values[:1], lag, axis=0), values[:-lag]])
    ratio = FEATURE_RATE / fps
    if ratio == int(ratio) and len(values) >= frames * int(ratio):   # the usual case: no track-long temporaries
        step = int(ratio)
        return values[: frames * step].reshape(frames, step, *values.shape[1:]).mean(axis=1, dtype=np.float32)
    starts = np.minimum((np.arange(frames) * ratio).astype(int), max(len(values) - 1, 0))
    ends = np.maximum(starts + 1, np.minimum((np.arange(1, frames + 1) * ratio).astype(int), len(values)))
    if len(values) == 0:
        return np.zeros((frames, *values.shape[1:]), np.float32)
    cum = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0, dtype=np.float64)])
    return ((cum[ends] - cum[starts]) / (ends - starts).reshape(-1, *([1] * (values.ndim - 1)))).astype(np.float32)


def build(analysis: Analysis, frames: int, fps: int, beat_sync: bool = True, drops: bool = True,
          placed: list[tuple[float, float]] | None = None) -> Timing:
    """The per-frame timing of `frames` frames. The drops are the analysis's (graded), or `placed` ((seconds,
    strength): what the draft says after the user's edits, `draft.drops_of`); none when `drops` is off."""
    beat_frames = np.unique(np.clip(np.round(analysis.beats * fps).astype(int), 0, frames - 1)) \
        if len(analysis.beats) else np.zeros(0, int)
    graded = (analysis.graded_drops() if placed is None else placed) if drops else []
    by_frame = {int(np.clip(round(t * fps), 0, frames - 1)): float(g) for t, g in sorted(graded)}
    drop_frames = np.array(sorted(by_frame), dtype=int)
    strength = np.array([by_frame[f] for f in drop_frames], dtype=np.float32)
    pulse = _envelope(beat_frames, frames, BEAT_DECAY_S * fps) if beat_sync else np.zeros(frames, np.float32)
    drop = _envelope(drop_frames, frames, DROP_DECAY_S * fps, strength)
    hot = np.zeros(frames, bool)
    if len(drop_frames):
        bounds = np.array(sorted(set(analysis.sections) | {t for t, _ in graded}), dtype=np.float64)
        for start in drop_frames:
            later = bounds[bounds * fps > start + fps]          # the next boundary after this drop
            end = int(later[0] * fps) if len(later) else frames
            hot[start:end] = True
    loud = 20 * np.log10(_per_frame(analysis.rms, frames, fps) + 1e-6)
    audible = loud[loud > -60]
    top = float(np.percentile(audible, 98)) if len(audible) else 0.0
    level = np.clip((loud - (top - 36)) / 36, 0, 1).astype(np.float32)
    bands_db = _per_frame(analysis.bands, frames, fps)
    if bands_db.size and len(audible):
        # Each band over a fixed range below its own loud level: quiet passages still move, loud ones fill up.
        # A band is never judged louder than the track's loudest band allows (BAND_SPREAD_DB below it), so a band
        # the audio does not have (the treble of an 8 kHz file) stays low instead of showing its own noise.
        ceiling = np.percentile(bands_db, 99.5, axis=0)
        ceiling = np.maximum(ceiling, ceiling.max() - BAND_SPREAD_DB)
        bands = np.clip((bands_db - (ceiling - BAND_RANGE_DB)) / BAND_RANGE_DB, 0, 1).astype(np.float32)
        bands *= np.clip((loud[:, None] + 60) / 12, 0, 1)   # silence (below -60 dBFS) draws nothing
    else:
        bands = np.zeros((frames, max(1, bands_db.shape[1] if bands_db.ndim == 2 else 1)), np.float32)
    return Timing(frames, fps, beat_frames, drop_frames, pulse, drop, hot, level, bands, strength)
