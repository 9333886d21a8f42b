"""Track structure: section boundaries and drops (the bass and kick coming back after a build-up or break)."""

from __future__ import annotations

import numpy as np

from nemo_local.analysis.features import FEATURE_RATE

DROP_WINDOW_S = 2.0        # compare this long before and after a candidate time
DROP_ONSET_S = 0.4         # the first moments after it must carry the jump
DROP_MIN_RATIO_DB = 6.0    # bass at least 6 dB stronger after than before
DROP_MIN_GAP_S = 12.0      # drops closer than this are one drop
DROP_CONTEXT_S = 16.0      # the bass must have been mostly away over this long before (a phrase, at 120 BPM)
DROP_SUSTAIN_S = 8.0       # and must stay for this long after (a section, not a fill)
DROP_MUSIC_BEFORE_S = 4.0  # the track must have played this much before: music starting is not a drop
SILENT_DB = -50.0
SECTION_CONTEXT_S = 4.0
SECTION_MIN_GAP_S = 8.0


def _snap(time: float, beats: np.ndarray) -> float:
    return float(beats[np.argmin(np.abs(beats - time))]) if len(beats) else time


def _is_drop(bass: np.ndarray, audible_before: np.ndarray, frame: int, floor: float) -> bool:
    """The long checks, for a candidate that passed the 2-second ones.

    A drop returns the bass after it was away for most of a phrase (the median over the 16 s before is 6 dB
    below the median over the 8 s after), keeps it for a section (that median is at least the track's typical
    bass) and comes after music (a track that starts loud has no drop at its start). A bass that drops out for
    the last bar of a phrase and comes back fails the first check: over the phrase the bass was there.
    """
    context = int(DROP_CONTEXT_S * FEATURE_RATE)
    sustain = int(DROP_SUSTAIN_S * FEATURE_RATE)
    if audible_before[frame] < DROP_MUSIC_BEFORE_S * FEATURE_RATE:
        return False
    before = float(np.median(bass[max(0, frame - context): frame]))
    after = float(np.median(bass[frame: frame + sustain]))
    return after >= floor and 10 * np.log10((after + 1e-9) / (before + 1e-9)) >= DROP_MIN_RATIO_DB


def drops(bass: np.ndarray, rms: np.ndarray, beats: np.ndarray) -> list[float]:
    """Times where the 20-150 Hz energy comes back: 6 dB or more after a break, for a section.

    Judged by the bass against the track's own bass, not by overall loudness (a bass entry often leaves the
    loudness as it was), and with silence allowed before (the stop before a drop is the commonest form). The
    jump is measured at every feature frame (2 s before against 2 s after); candidates then pass the phrase
    and section checks of `_is_drop`, and the peak is snapped to the nearest beat when one is within a third
    of a beat. When unsure, no drop: a false one flashes the screen at a random moment.
    """
    window = int(DROP_WINDOW_S * FEATURE_RATE)
    n = len(bass)
    if n <= 2 * window:
        return []
    audible = 20 * np.log10(rms + 1e-6) > SILENT_DB
    if not audible.any():
        return []
    floor = float(np.median(bass[audible]))
    audible_before = np.concatenate([[0], np.cumsum(audible)])
    cum_bass = np.concatenate([[0.0], np.cumsum(bass, dtype=np.float64)])
    short = int(DROP_ONSET_S * FEATURE_RATE)
    f = np.arange(window, n - window + 1)
    before = (cum_bass[f] - cum_bass[f - window]) / window
    after = (cum_bass[f + window] - cum_bass[f]) / window
    onset = (cum_bass[f + short] - cum_bass[f]) / short    # a short window puts the peak on the first kick
    ratio_db = 10 * np.log10((onset + 1e-9) / (before + 1e-9))
    sustained_db = 10 * np.log10((after + 1e-9) / (before + 1e-9))
    ok = (ratio_db >= DROP_MIN_RATIO_DB) & (sustained_db >= DROP_MIN_RATIO_DB / 2) & (after >= floor)
    chosen: list[float] = []
    for index in np.argsort(-np.where(ok, ratio_db, -np.inf)):
        if not ok[index]:
            break
        lo = int(f[index])
        rise = np.diff(bass[max(0, lo - 1): lo + short])            # the attack: the steepest bass rise
        frame = max(0, lo - 1) + int(np.argmax(rise)) + 1
        time = float(frame / FEATURE_RATE)
        if all(abs(time - other) >= DROP_MIN_GAP_S for other in chosen) \
                and _is_drop(bass, audible_before, frame, floor):
            chosen.append(time)
    period = float(np.median(np.diff(beats))) if len(beats) > 1 else 0.5
    snapped = []
    for time in chosen:
        beat = _snap(time, beats)
        snapped.append(beat if abs(beat - time) <= period / 3 else time)
    return sorted(snapped)


def sections(bands: np.ndarray, beats: np.ndarray, duration: float) -> list[float]:
    """Section boundaries (seconds, snapped to beats): peaks of spectral novelty between 4 s contexts."""
    per_second = int(FEATURE_RATE)
    seconds = len(bands) // per_second
    if seconds < 2 * SECTION_CONTEXT_S + 1:
        return []
    coarse = bands[: seconds * per_second].reshape(seconds, per_second, -1).mean(axis=1)
    context = int(SECTION_CONTEXT_S)
    novelty = np.zeros(seconds)
    for s in range(context, seconds - context):
        before = coarse[s - context: s].mean(axis=0)
        after = coarse[s: s + context].mean(axis=0)
        novelty[s] = float(np.sqrt(np.mean((after - before) ** 2)))
    threshold = max(3.0, float(np.median(novelty[novelty > 0])) * 2) if (novelty > 0).any() else 3.0
    bounds: list[float] = []
    for s in np.argsort(-novelty):
        if novelty[s] < threshold:
            break
        if all(abs(s - b) >= SECTION_MIN_GAP_S for b in bounds):
            bounds.append(float(s))
    return sorted({round(_snap(b, beats), 3) for b in bounds if 0 < b < duration})
