"""Cutting the user's pictures to the music: where the cuts go and which picture each shot shows.

Pure functions; the director calls them with the track's rhythm (beats, drops, sections, how loud each
section is) and writes the result into the draft's video track as segments with `s` and `d` in ms.

The rules, the way an editor cuts a montage to music:
- one cut per bar by default: on the downbeats when the analysis found them (3 or 4 beats a bar), else every
  4 beats counted afresh from every section boundary and drop;
- a cut on every drop and on every section boundary (snapped to the nearest beat);
- in the loud sections the cuts come twice as often;
- never a shot shorter than half the pace (so no sliver before the first beat), nor than MIN_SHOT_S;
  a track without a beat is cut every FALLBACK_SHOT_S.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nemo_local.analysis.features import FEATURE_RATE
from nemo_local.draft import MAX_SEGMENTS, graded

MIN_SHOT_S = 0.4
FALLBACK_SHOT_S = 4.0
MAX_SHOTS = min(1500, MAX_SEGMENTS)   # within what a draft's track may hold
SNAP_S = 0.15
LOUD_SECTION_DB = 2.0         # a section this much louder than the track's median section is loud


@dataclass
class Rhythm:
    beats: list[float]        # seconds
    drops: list[float]
    sections: list[float]     # section starts after 0
    loud: list[bool]          # per section, the first starting at 0
    downbeats: list[float] = field(default_factory=list)   # empty when nothing marks the bar
    beats_per_bar: int = 4
    drop_strength: list[float] = field(default_factory=list)   # per drop, 0-1; empty: all 1

    def graded_drops(self) -> list[tuple[float, float]]:
        """(time, strength) of each drop."""
        return graded(self.drops, self.drop_strength)


def rhythm_of(analysis: Any) -> Rhythm:
    """The parts of an `Analysis` a montage needs, with each section marked loud or not."""
    bounds = [0.0, *sorted(analysis.sections), float(analysis.duration)]
    loud_db = 20 * np.log10(np.asarray(analysis.rms, dtype=np.float64) + 1e-6)
    means = []
    for a, b in itertools.pairwise(bounds):
        part = loud_db[int(a * FEATURE_RATE): max(int(a * FEATURE_RATE) + 1, int(b * FEATURE_RATE))]
        means.append(float(part.mean()) if len(part) else -120.0)
    median = float(np.median(means)) if means else 0.0
    return Rhythm([float(t) for t in analysis.beats], [float(t) for t in analysis.drops],
                  [float(t) for t in analysis.sections], [m >= median + LOUD_SECTION_DB for m in means],
                  [float(t) for t in analysis.downbeats], int(analysis.beats_per_bar),
                  [float(g) for g in getattr(analysis, "drop_strength", [])])


def _snap(time: float, beats: list[float]) -> float:
    if not beats:
        return time
    nearest = min(beats, key=lambda b: abs(b - time))
    return nearest if abs(nearest - time) <= SNAP_S else time


def _bar_count(rhythm: Rhythm) -> dict[float, int] | None:
    """Each beat's count (0 on every downbeat, the bar's length times the bars since the first downbeat plus the
    beats since the last), or None without downbeats. Counted afresh at every downbeat: where the analysis finds a
    bar cut short, the cuts follow it and do not fall a beat off for the rest of the track."""
    if not rhythm.downbeats or not rhythm.beats:
        return None
    beats = np.asarray(rhythm.beats)
    starts = np.unique([int(np.argmin(np.abs(beats - d))) for d in rhythm.downbeats])
    index = np.arange(len(beats))
    bar = np.searchsorted(starts, index, side="right") - 1        # -1 before the first downbeat
    since = index - starts[np.maximum(bar, 0)]
    count = np.where(bar >= 0, bar * rhythm.beats_per_bar + since, since)
    return {t: int(c) for t, c in zip(rhythm.beats, count, strict=True)}


def cut_times(rhythm: Rhythm, duration: float, every: int = 4) -> list[float]:
    """Shot starts in seconds, the first at 0. `every` is beats per shot (4: a bar, 8: two bars; with
    downbeats a bar is the track's own, 3 or 4 beats); 0 cuts only at sections and drops."""
    bounds = sorted({_snap(t, rhythm.beats) for t in [*rhythm.sections, *rhythm.drops] if 0 < t < duration})
    if not rhythm.beats:
        step = FALLBACK_SHOT_S if every else max(FALLBACK_SHOT_S, duration / 8)
        cuts = sorted({*np.arange(0.0, duration, step).tolist(), *bounds})
    elif every == 0:
        cuts = [0.0, *bounds]
    else:
        cuts = [0.0, *bounds]
        count = _bar_count(rhythm)
        if count is not None and every % 4 == 0:
            every = every // 4 * rhythm.beats_per_bar
        edges = [0.0, *bounds, duration]
        section_starts = [0.0, *sorted(rhythm.sections)]
        for a, b in itertools.pairwise(edges):
            section = max(0, int(np.searchsorted(section_starts, a + 1e-6)) - 1)
            loud = rhythm.loud[section] if section < len(rhythm.loud) else False
            step = max(1, every // 2) if loud else every
            inside = [t for t in rhythm.beats if a - 1e-6 <= t < b]
            cuts += inside[::step] if count is None else [t for t in inside if count[t] % step == 0]
    period = float(np.median(np.diff(rhythm.beats))) if len(rhythm.beats) > 1 else 0.0
    shortest = max(MIN_SHOT_S, 0.5 * max(every, 1) * period - 0.05)   # no half-length shot after a boundary
    out: list[float] = []
    structural = set(bounds)
    for t in sorted(set(cuts)):
        if t >= duration - MIN_SHOT_S and out:
            continue
        gap = t - out[-1] if out else float("inf")
        if t in structural and gap < shortest and len(out) > 1 and out[-1] not in structural:
            out[-1] = t              # a drop or a section start wins over a beat cut just before it
            continue
        if gap < (MIN_SHOT_S if t in structural else shortest):
            continue
        out.append(t)
    return out or [0.0]


def plan(rhythm: Rhythm | None, duration_ms: int, pictures: list[dict[str, Any]], every: int = 4
         ) -> list[dict[str, Any]]:
    """Video-track segments for `pictures` (file records, in the order they show), cut on the music and cycled
    through in order. One picture, or no rhythm, gives one segment for the whole track."""
    if not pictures:
        return []
    duration = duration_ms / 1000
    if len(pictures) == 1 or rhythm is None or duration <= 0:
        starts = [0.0]
    else:
        starts = cut_times(rhythm, duration, every)
        while len(starts) > MAX_SHOTS and every:
            every *= 2
            starts = cut_times(rhythm, duration, every)
        starts = starts[:MAX_SHOTS]
    start_ms = [round(t * 1000) for t in starts]
    segments = []
    for k, (s, e) in enumerate(zip(start_ms, [*start_ms[1:], duration_ms], strict=True)):
        picture = pictures[k % len(pictures)]
        segments.append({"id": f"v{k + 1}", "kind": picture["kind"], "name": picture["filename"],
                         "src": picture["file_id"], "s": s, "d": max(0, e - s)})
    return segments
