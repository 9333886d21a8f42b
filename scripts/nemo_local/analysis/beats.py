"""Tempo and beats: autocorrelation tempo (global, then local) and Ellis's dynamic-programming beat tracker.

Ellis, "Beat Tracking by Dynamic Programming", J. New Music Research 36(1), 2007. The one change here is a
period that may vary over the track (from windowed tempo estimates), so tempo changes are followed.
"""

from __future__ import annotations

import numpy as np

from nemo_local.analysis.features import FEATURE_RATE

MIN_BPM, MAX_BPM = 60.0, 200.0
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0
TIGHTNESS = 100.0
LOCAL_WINDOW_S, LOCAL_HOP_S = 8.0, 2.0
ONSET_LAG_FRAMES = 1.0   # spectral flux peaks one hop before the attack it marks (measured on synthetic kicks)


def normalise_onset(onset: np.ndarray) -> np.ndarray:
    """Flux minus its local mean (0.5 s), half-wave rectified, scaled to unit standard deviation."""
    if len(onset) == 0:
        return onset.astype(np.float64)
    width = max(1, int(0.5 * FEATURE_RATE))
    local = np.convolve(onset, np.ones(width) / width, mode="same")
    env = np.maximum(onset - local, 0.0).astype(np.float64)
    std = env.std()
    return env / std if std > 0 else env


def autocorrelation(env: np.ndarray, max_lag: int) -> np.ndarray:
    """The envelope's autocorrelation (its mean taken out) at lags 0 to `max_lag` frames, each lag's sum divided by
    the number of products in it."""
    n = len(env)
    size = 1 << int(np.ceil(np.log2(2 * n + 1)))
    spectrum = np.fft.rfft(env - env.mean(), size)
    ac = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1]
    return ac / np.maximum(np.arange(n, n - max_lag - 1, -1), 1)   # unbiased


def _prior(lags: np.ndarray, centre_bpm: float, octaves: float) -> np.ndarray:
    bpm = 60.0 * FEATURE_RATE / lags
    return np.exp(-0.5 * (np.log2(bpm / centre_bpm) / octaves) ** 2)


def _best_lag(env: np.ndarray, centre_bpm: float, octaves: float) -> float:
    min_lag = int(np.floor(60 * FEATURE_RATE / MAX_BPM))
    max_lag = int(np.ceil(60 * FEATURE_RATE / MIN_BPM))
    if len(env) <= max_lag * 2:
        return 60 * FEATURE_RATE / centre_bpm
    ac = autocorrelation(env, max_lag)
    lags = np.arange(min_lag, max_lag + 1)
    # A beat period also shows at twice its lag: add that half in, which favours the true period over its half.
    doubled = np.array([ac[2 * lag] if 2 * lag <= max_lag else 0.0 for lag in lags])
    score = (ac[lags] + 0.5 * doubled) * _prior(lags.astype(np.float64), centre_bpm, octaves)
    best = int(np.argmax(score))
    lag = float(lags[best])
    if 0 < best < len(score) - 1:   # parabolic interpolation between lags
        a, b, c = score[best - 1], score[best], score[best + 1]
        denom = a - 2 * b + c
        if denom < 0:
            lag += 0.5 * (a - c) / denom
    return lag


def tempo(env: np.ndarray) -> float:
    """Global tempo in BPM."""
    return 60.0 * FEATURE_RATE / _best_lag(env, PRIOR_BPM, PRIOR_OCTAVES)


def local_periods(env: np.ndarray, global_bpm: float) -> np.ndarray:
    """Beat period (in feature frames) at every frame, from tempo estimates over sliding windows."""
    n = len(env)
    window, hop = int(LOCAL_WINDOW_S * FEATURE_RATE), int(LOCAL_HOP_S * FEATURE_RATE)
    global_period = 60.0 * FEATURE_RATE / global_bpm
    if n < window * 1.5:
        return np.full(n, global_period)
    centres, periods = [], []
    for start in range(0, n - window + 1, hop):
        chunk = env[start: start + window]
        if chunk.std() == 0:
            continue
        centres.append(start + window / 2)
        periods.append(_best_lag(chunk, global_bpm, 0.25))   # stay near the global tempo: no octave jumps
    if not periods:
        return np.full(n, global_period)
    smooth = np.array(periods)
    if len(smooth) >= 5:
        padded = np.pad(smooth, 2, mode="edge")
        smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)
    return np.interp(np.arange(n), centres, smooth)


def track(env: np.ndarray, periods: np.ndarray, tightness: float = TIGHTNESS) -> np.ndarray:
    """Beat frames maximising onset strength plus regularity (Ellis 2007), with a per-frame period."""
    n = len(env)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Smooth the onsets with a Gaussian about a tenth of a beat wide, as Ellis does.
    sigma = max(1.0, float(np.median(periods)) / 32)
    kernel = np.exp(-0.5 * (np.arange(-4 * sigma, 4 * sigma + 1) / sigma) ** 2)
    local = np.convolve(env, kernel, mode="same")
    score = local.copy()
    backlink = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        period = periods[t]
        lo, hi = int(t - round(2 * period)), int(t - round(period / 2))
        if hi < 0:
            continue
        lo = max(lo, 0)
        prev = np.arange(lo, hi + 1)
        penalty = -tightness * np.log((t - prev) / period) ** 2
        candidates = score[lo: hi + 1] + penalty
        best = int(np.argmax(candidates))
        if candidates[best] > 0:
            score[t] = local[t] + candidates[best]
            backlink[t] = lo + best
    # End on the best-scoring frame among those with a strong local score near the end.
    tail = score[max(0, n - round(2 * periods[-1])):]
    end = n - len(tail) + int(np.argmax(tail))
    beats = [end]
    while backlink[beats[-1]] >= 0:
        beats.append(int(backlink[beats[-1]]))
    frames = np.array(beats[::-1], dtype=np.int64)
    threshold = 0.5 * np.median(local[frames]) if len(frames) else 0.0
    # Trim weak beats at the very start and end (silence before the music starts or after it stops).
    strong = np.nonzero(local[frames] > threshold)[0]
    if len(strong) == 0:
        return frames
    return frames[strong[0]: strong[-1] + 1]


def refine(frames: np.ndarray, env: np.ndarray, reach: int = 2) -> np.ndarray:
    """Move each beat to the strongest onset within `reach` frames (the DP works on a smoothed envelope)."""
    out = frames.copy()
    for i, f in enumerate(frames):
        lo, hi = max(0, f - reach), min(len(env), f + reach + 1)
        out[i] = lo + int(np.argmax(env[lo:hi]))
    return out


def beat_times(onset: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(beat times in seconds, global BPM, local BPM per beat) of a raw onset envelope."""
    env = normalise_onset(onset)
    if len(env) < FEATURE_RATE * 2 or env.max() <= 0:
        return np.zeros(0), 0.0, np.zeros(0)
    bpm = tempo(env)
    periods = local_periods(env, bpm)
    frames = refine(track(env, periods), env)
    times = np.clip((frames + ONSET_LAG_FRAMES) / FEATURE_RATE, 0, None)
    return times, bpm, 60.0 * FEATURE_RATE / periods[frames]


def peaks_near(values: np.ndarray, beats: np.ndarray, rate: float, reach: int = 2) -> np.ndarray:
    """The largest of `values` (an envelope at `rate` frames a second) within `reach` frames of each beat; 0 for a
    beat outside it."""
    frames = np.round(beats * rate).astype(np.int64)
    return np.array([values[max(0, f - reach): max(0, f + reach + 1)].max(initial=0.0) for f in frames])


def beat_strength(onset: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """How clearly each beat is heard, 0-1: the normalised onset strength at it (the peak within two frames),
    two standard deviations of the track's onset envelope being 1."""
    return np.clip(peaks_near(normalise_onset(onset), beats, FEATURE_RATE) / 2.0, 0.0, 1.0)
