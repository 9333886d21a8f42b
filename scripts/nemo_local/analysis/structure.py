"""Track structure: section boundaries and drops (the bass and kick coming back after a build-up or break).

Drops come from two rules, one place each: `bar_drops` (the bass back on a downbeat, 9 dB over the bars before;
fitted on Freedoom's songs) and `contrast.contrast_drops` (the beat and low end or the whole band back after a
passage without them, by bass, air, kick and fullness; fitted on real recordings, bench/real_drops.py). `drops` merges
them."""

from __future__ import annotations

import numpy as np

from nemo_local.analysis.contrast import SCORE_LINE, contrast_at, contrast_drops, profile, recurs
from nemo_local.analysis.features import FEATURE_RATE, Features, beat_length, heard_before, span_means

BAR_RISE_DB = 9.0          # on the bar grid: the bass this much above the loudest of the two bars before
BAR_LEAD = 0.75            # of a bar before, only its first three quarters count: the last is a fill or pick-up
BAR_HOLD = 4               # and held for this many bars,
BAR_HOLD_DB = 6.0          # each within this much of the track's usual bar, the first of the loudest of them,
BAR_APART = 8              # one drop at most in this many bars,
GRADE_FLOOR = 0.6          # a drop's strength just over the rule (the flash then still shows, smaller),
GRADE_SPAN_DB = 12.0       # ... rising to full strength this much further over it
MOVE_BELOW_DB = 1.0        # a drop whose downbeat has less bass rise than this moves to where the bass rises
BEAT_STRENGTH = 0.45       # with the beat clear over those bars (mean `strength` at their beats, 0-1)
SAME_DROP_BEATS = 8        # a contrast drop this near a bar drop is that drop
SECTION_CONTEXT_S = 4.0
SECTION_MIN_GAP_S = 8.0


def _snap(time: float, beats: np.ndarray) -> float:
    return float(beats[np.argmin(np.abs(beats - time))]) if len(beats) else time


def _bar_levels(bass: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Mean bass power (dB) from each start to each end, in seconds; -100 for an empty span."""
    empty = np.round(ends * FEATURE_RATE) <= np.round(starts * FEATURE_RATE)
    return np.where(empty, -100.0, 10 * np.log10(span_means(bass, starts, ends) + 1e-10))


def bar_drops(bass: np.ndarray, rms: np.ndarray, beats: np.ndarray, downbeats: np.ndarray,
              strength: np.ndarray) -> list[float]:
    """Drops on the bar grid: downbeats where the bass (20-150 Hz) comes back, and the beat with it.

    A drop starts a bar whose bass is BAR_RISE_DB above the loudest of the two bars before (of those, only the first
    three quarters: a fill or pick-up on the last beat belongs to the build-up; silence before is allowed), hits at
    full strength (not BAR_HOLD_DB below the bars after it) and holds for four bars (or to the end, if at least
    two), each near the track's usual bar, with the beat clear over them (`strength` at their beats, BEAT_STRENGTH
    on average: the network's activation, or the signal tracker's onset strength); on a full bar after two full bars
    (a bar cut short says the count was unsure there); after a bar's length of music (music starting is not a drop);
    one per eight bars. A bass that leaves for the last bar of a phrase and comes back fails the first rule: the bar
    before the last was loud. Without downbeats there is no drop: nothing says where a phrase starts. When unsure,
    no drop: a false one flashes the screen at a random moment.
    """
    return [time for time, _ in graded_drops(bass, rms, beats, downbeats, strength)]


def grade(rise_db: float, line_db: float = BAR_RISE_DB, span_db: float = GRADE_SPAN_DB) -> float:
    """How strong a drop is, 0-1, from how far its rule's measure (the bass rise over the bars before) is over the
    rule's line: GRADE_FLOOR just over it (a doubtful drop: a smaller lift), 1 from `span_db` further up (full
    bloom)."""
    return round(GRADE_FLOOR + (1 - GRADE_FLOOR) * min(1.0, max(0.0, (rise_db - line_db) / span_db)), 3)


def drops(features: Features, beats: np.ndarray, downbeats: np.ndarray,
          strength: np.ndarray) -> list[tuple[float, float]]:
    """(time, strength) of every drop: the bar rule's, but for a lift that recurs every phrase (`contrast.recurs`,
    measured as at least SCORE_LINE), and the contrast rule's where no bar drop is within SAME_DROP_BEATS (the
    contrast's scale is about twice the bass rise's, so its grade spans twice as far)."""
    decibels = profile(features, beats)
    found = [(time, level) for time, level in graded_drops(features.bass, features.rms, beats, downbeats, strength)
             if not _recurs(decibels, beats, time)]
    period = beat_length(beats)
    for time, contrast in contrast_drops(features, beats, downbeats, decibels):
        near = [i for i, (other, _) in enumerate(found) if abs(other - time) < SAME_DROP_BEATS * period]
        level = grade(contrast, SCORE_LINE, 2 * GRADE_SPAN_DB)
        if near:
            found[near[0]] = (found[near[0]][0], max(found[near[0]][1], level))
        else:
            found.append((time, level))
    return sorted(found)


def _recurs(decibels: np.ndarray, beats: np.ndarray, time: float) -> bool:
    k = int(np.argmin(np.abs(beats - time)))
    return len(decibels) > 0 and recurs(decibels, k, max(contrast_at(decibels, k), SCORE_LINE))


def graded_drops(bass: np.ndarray, rms: np.ndarray, beats: np.ndarray, downbeats: np.ndarray,
                 strength: np.ndarray) -> list[tuple[float, float]]:
    """The drops of `bar_drops`, each with its strength (`grade`)."""
    found = sorted(_bar_candidates(bass, rms, beats, downbeats, strength), reverse=True)
    chosen: list[tuple[float, float, float]] = []        # (time, bar length, rise)
    for rise, time, bar in found:
        if all(abs(time - other) >= BAR_APART * bar for other, _, _ in chosen):
            chosen.append((time, bar, rise))
    return sorted((_attack(bass, beats, time, bar), grade(rise)) for time, bar, rise in chosen)


def _bar_candidates(bass: np.ndarray, rms: np.ndarray, beats: np.ndarray, downbeats: np.ndarray,
                    strength: np.ndarray) -> list[tuple[float, float, float]]:
    """(rise in dB, time, bar length) of every downbeat that passes the rules of `bar_drops`."""
    if len(downbeats) < 4 or len(bass) == 0:            # two bars before, two after at least
        return []
    edges = np.append(downbeats, len(bass) / FEATURE_RATE)
    level = _bar_levels(bass, edges[:-1], edges[1:])
    head = _bar_levels(bass, edges[:-1], edges[:-1] + BAR_LEAD * np.diff(edges))
    usual = float(np.median(level[level > -80])) if (level > -80).any() else -100.0
    counts = np.diff(np.searchsorted(beats, edges - 0.01))
    regular = counts == np.median(counts[:-1])              # bars of the usual count of beats
    audible = heard_before(rms)
    out = []
    for k in range(2, len(level) - 1):                   # held to the end of the track when it ends sooner
        start, bar = float(downbeats[k]), float(downbeats[k] - downbeats[k - 1])
        rise = float(level[k] - max(head[k - 1], head[k - 2]))
        held = level[k: k + BAR_HOLD]
        if rise < BAR_RISE_DB or held.min() < usual - BAR_HOLD_DB or level[k] < held.max() - BAR_HOLD_DB:
            continue
        if not regular[k - 2: k + 1].all():
            continue
        if audible[min(len(audible) - 1, int(start * FEATURE_RATE))] < bar * FEATURE_RATE:
            continue
        inside = (beats >= start - 0.01) & (beats < edges[min(k + BAR_HOLD, len(edges) - 1)])
        if inside.any() and float(strength[inside].mean()) >= BEAT_STRENGTH:
            out.append((rise, start, bar))
    return out


def _attack(bass: np.ndarray, beats: np.ndarray, downbeat: float, bar: float) -> float:
    """The downbeat found, when the bass rises there (its level over a beat against the beat before); when it
    does not, the bar was counted from the wrong beat (the bar's phase is the tracker's least sure guess) and the
    drop moves to the steepest rise within half a bar, on the nearest beat if that is within a third of a beat."""
    beat = beat_length(beats, bar / 4)
    width = max(1, int(beat * FEATURE_RATE))
    level = 10 * np.log10(np.convolve(bass.astype(np.float64), np.ones(width) / width, mode="full")[width - 1:] + 1e-10)
    lo = max(width, int((downbeat - bar / 2) * FEATURE_RATE))
    hi = min(len(bass) - width, int((downbeat + bar / 2) * FEATURE_RATE))
    if hi <= lo:
        return downbeat
    frames = np.arange(lo, hi)
    rise = level[frames] - level[frames - width]
    at = int(np.clip(round(downbeat * FEATURE_RATE) - lo, 0, len(frames) - 1))
    on_downbeat = rise[max(0, at - 2): at + 3].max()          # within two frames (33 ms) of it
    if on_downbeat >= MOVE_BELOW_DB:
        return downbeat      # the bass rises on the downbeat itself (an earlier rise is a pick-up into it)
    time = float(frames[int(np.argmax(rise))] / FEATURE_RATE)
    near = _snap(time, beats)
    return near if abs(near - time) <= beat / 3 else time


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
