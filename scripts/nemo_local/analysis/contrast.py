"""Drops heard as contrast: the beat and the low end, or the whole band, coming back after a passage without them.

`structure.bar_drops` finds the bass returning on a downbeat 9 dB over the bars before. On mixed and mastered
recordings most drops a listener hears are not that (bench/real_drops.py): drums entering after an intro without
them while the bass plays on, a breakdown where the bass only dips 5-10 dB, a return after a stop or a fade, a
return whose bars before still hold the previous section's tail. This module compares, at every beat, the two
bars after it with the bars before, in four things a listener hears change, each a level per beat:

- bass: 20-150 Hz power (dB);
- air: power over 3.5 kHz (dB), where hi-hats, cymbals and snares live: drums entering show here first;
- kick: how hard the low end is struck (`kicks`, dB): a held bass line gives little, a kick drum a lot;
- fullness: the mean of the 48 band levels (dB): the spectrum filling in, not merely getting louder.

The contrast (`_contrast`) weighs their rises (WEIGHTS): the bass and fullness against the lower of the two bars
before and the last bar alone (the last alone when the first still holds a tail), the air and kick against four
bars (drums are back only after a while without them), the beat just before always left out (a fill or pick-up
belongs to the build). A drop: the contrast reaches SCORE_LINE on a downbeat (OFF_BAR_LINE elsewhere), the music
after keeps half of it over four bars and sits near the track's usual level (not an intro's swell), the music has
played START_S before (the first sound is no drop), no stronger drop within APART_BEATS. It lands on the beat of
the steepest one-beat rise near (`_attack`). A section where the band carries on has little contrast; a fill of a
beat or two at a phrase end hardly moves a level over two bars. A lift that comes back each phrase from where the
music stood is the song's accent (`recurs`); one from a level the last lift raised is a step up. Stops (`stops`):
the band back after a silence, or after the low end rested for half a bar or more while a chord rang on, unless
the rest is a riff's (the low end rests again within four bars) or comes back each phrase.
"""

from __future__ import annotations

import numpy as np

from nemo_local.analysis.features import FEATURE_RATE, SILENT_DB, Features, beat_length, heard_before, runs, span_means

SPAN_BEATS = 8         # two bars after, against two bars before
BAR_BEATS = 4
HOLD_BEATS = 16        # the music after holds four bars
HOLD_SHARE = 0.5       # ... keeping half its contrast over them,
FULL_DB = 12.0         # ... its bass and fullness within this much of the track's usual beat
AIR_HZ = 3500.0
DRUMS_BEATS = 16       # drums (air, kick) count as back after four bars without them
CAP_DB = 40.0          # dB of air or kick rise that count (drums entering an intro without them: 20-45 dB of air)
KICK_FLOOR = 0.05      # kick: the mean rise of the bass level, dB a frame, over this
WEIGHTS = np.array([1.0, 0.25, 0.25, 0.5])     # bass, air, kick, fullness
SCORE_LINE = 12.0      # the weighted rises, dB, for a drop on a downbeat (the real recordings' tuning half),
OFF_BAR_LINE = 18.0    # ... and for one elsewhere (or without a count of bars): the bar's phase is the tracker's
                       # least sure guess, so an off-bar drop needs a contrast no one can miss
APART_BEATS = 24       # one drop in six bars
PHRASE_BEATS = 32      # eight bars: a lift that comes back each phrase is the song's accent,
REPEAT_SHARE = 0.7     # ... when it comes back this large
STEP_SHARE = 0.5       # ... from a level the first lift raised less than this much of it
SILENCE_DB = 30.0      # a stop: the loudness this far under the track's usual,
SILENCE_S = 0.5        # ... for this long at least;
BASSLESS_BEATS = 2.0   # or the low end alone this far under its usual for two beats at least (a chord rings on),
CLEAR_BEATS = 16       # ... with no other rest of the low end of a beat within four bars either side (a riff's)
STOP_CONTRAST = 36.0   # what the band back after a stop counts as (the most obvious drop there is: full strength)
START_S = 4.0          # of audible music before a drop


def beat_levels(features: Features, beats: np.ndarray) -> np.ndarray:
    """(beats, 4) over each beat (to the next; the last: a beat): bass and air power, kick, fullness (as power)."""
    period = beat_length(beats)
    edges = np.append(beats, beats[-1] + period)
    starts, ends = edges[:-1], edges[1:]
    edges_hz = np.geomspace(30.0, 5500.0, features.bands.shape[1] + 1)
    air = (10 ** (features.bands[:, edges_hz[:-1] >= AIR_HZ].astype(np.float64) / 10)).mean(axis=1)
    return np.stack([span_means(features.bass, starts, ends), span_means(air, starts, ends),
                     span_means(kicks(features.bass), starts, ends),
                     10 ** (span_means(features.bands.mean(axis=1), starts, ends) / 10)], axis=1)


def kicks(bass: np.ndarray) -> np.ndarray:
    """How hard the low end is struck at each frame: the rise of the bass level (dB) from the frame before, when
    it rises. A held bass line gives little, a kick drum on every beat a lot."""
    level = 10 * np.log10(bass.astype(np.float64) + 1e-10)
    return np.maximum(np.diff(level, prepend=level[:1]), 0.0)


def _decibels(mean: np.ndarray) -> np.ndarray:
    """Levels (one row or many) in dB: kick over KICK_FLOOR (it is a mean of dB rises), the others of their power
    (a quiet beat among loud ones counts for little, as it does to the ear)."""
    floor = np.array([1e-10, 1e-10, KICK_FLOOR, 1e-10])
    return 10 * np.log10(mean + floor)


def _before(decibels: np.ndarray, k: int) -> np.ndarray:
    """The levels of the bars before beat k as `_contrast` measures them (the beat just before left out)."""
    before = np.median(decibels[max(0, k - SPAN_BEATS): k - 1], axis=0)
    before[1:3] = np.median(decibels[max(0, k - DRUMS_BEATS): k - 1, 1:3], axis=0)
    return before


def _contrast(decibels: np.ndarray, k: int, span: int) -> float:
    """How much `span` beats from beat k on stand out from the bars before (dB): the weighted rises (`WEIGHTS`) of
    the median beat after over the median beat before: two bars before for bass and fullness, four for air and
    kick (at most CAP_DB each: drums are back only after a while without them), the beat just before left out (a
    fill or pick-up belongs to the build). Medians: what most beats do, so a tail of the last section, a fill or a
    breath of less than half the bars before does not count, and stop-time hits (mostly rests) are no level."""
    rise = np.median(decibels[k: k + span], axis=0) - _before(decibels, k)
    rise[1:3] = np.clip(rise[1:3], 0.0, CAP_DB)
    return float(rise @ WEIGHTS)


def contrast_at(decibels: np.ndarray, k: int) -> float:
    """The contrast of the two bars from beat k on; 0 where it cannot be told (too near either end)."""
    return _contrast(decibels, k, SPAN_BEATS) if SPAN_BEATS <= k <= len(decibels) - SPAN_BEATS else 0.0


def scores(decibels: np.ndarray) -> np.ndarray:
    """The contrast of the two bars from each beat on (`_contrast`); 0 where it cannot be told."""
    return np.array([contrast_at(decibels, k) for k in range(len(decibels))])


def _attack(decibels: np.ndarray, k: int, before: int = BAR_BEATS) -> int:
    """The beat where the drop lands, from a beat k whose two bars after stand out (the score peaks up to two bars
    early, while the bars before are the build's quietest): the steepest one-beat rise, bass + fullness / 2 +
    air / 4, against the mean of the two beats before (a swell or crash leading in does not make one), from
    `before` beats before k to two bars after."""
    lo, hi = max(2, k - before), min(len(decibels) - 1, k + SPAN_BEATS)
    if hi <= lo:
        return k
    near = np.arange(lo, hi + 1)
    combined = decibels @ WEIGHTS
    return int(near[np.argmax(combined[near] - (combined[near - 1] + combined[near - 2]) / 2)])


def _near_usual(beats: np.ndarray, usual: np.ndarray) -> bool:
    """Whether the median of these beats' bass and fullness is within FULL_DB of the track's usual beat."""
    return not (np.median(beats, axis=0) < usual - FULL_DB)[[0, 3]].any()


def profile(features: Features, beats: np.ndarray) -> np.ndarray:
    """(beats, 4) dB: bass, air, kick and fullness over each beat, what the contrast is measured on."""
    return _decibels(beat_levels(features, beats)) if len(beats) else np.zeros((0, 4))


def recurs(decibels: np.ndarray, k: int, value: float) -> bool:
    """Whether the lift at beat k (contrast `value`) comes back a phrase before or after it (PHRASE_BEATS or twice
    that, give or take a beat) at REPEAT_SHARE of its size, from where the music stood before it: the track's
    accent on every phrase (a bar of rest, a crash and a sub-bass hit each eight bars), which a listener hears as
    the song's pulse, not as a drop. A lift a phrase on from a level the first one raised (an intro stacking a
    layer each phrase, a drop after it) is a step up, not an accent."""
    n = len(decibels)
    for offset in (-2 * PHRASE_BEATS, -PHRASE_BEATS, PHRASE_BEATS, 2 * PHRASE_BEATS):
        for j in range(k + offset - 1, k + offset + 2):
            if not SPAN_BEATS <= j <= n - SPAN_BEATS or _contrast(decibels, j, SPAN_BEATS) < REPEAT_SHARE * value:
                continue
            early, late = min(j, k), max(j, k)
            if (_before(decibels, late) - _before(decibels, early)) @ WEIGHTS < STEP_SHARE * value:
                return True
    return False


def contrast_drops(features: Features, beats: np.ndarray, downbeats: np.ndarray,
                   decibels: np.ndarray | None = None) -> list[tuple[float, float]]:
    """(time, contrast in dB) of each drop heard as contrast (see the module's doc); empty without a steady beat.
    `decibels`: the `profile` of these beats, when already at hand."""
    if len(beats) < 2 * SPAN_BEATS + 1:
        return []
    decibels = profile(features, beats) if decibels is None else decibels
    score = scores(decibels)
    period, usual = beat_length(beats), np.median(decibels, axis=0)
    audible = heard_before(features.rms)
    chosen: list[tuple[int, float]] = []
    for k in np.argsort(-score):
        if score[k] < SCORE_LINE:
            break
        at = _attack(decibels, int(k))
        if at < SPAN_BEATS or any(abs(at - other) < APART_BEATS for other, _ in chosen):
            continue
        on_bar = len(downbeats) > 0 and float(np.min(np.abs(downbeats - beats[at]))) < 0.25 * period
        value = _contrast(decibels, at, SPAN_BEATS)
        if value < (SCORE_LINE if on_bar else OFF_BAR_LINE) or len(decibels) - at < HOLD_BEATS:
            continue
        if _contrast(decibels, at, HOLD_BEATS) < HOLD_SHARE * value:       # a lift of a bar or two, not a section
            continue
        if not _near_usual(decibels[at: at + HOLD_BEATS], usual):                # an intro's swell
            continue
        if audible[min(len(audible) - 1, int(beats[at] * FEATURE_RATE))] < START_S * FEATURE_RATE:
            continue
        if recurs(decibels, at, value):
            continue
        chosen.append((at, value))
    found = [(float(beats[at]), value) for at, value in chosen]
    found += [(time, value) for time, value in stops(features, beats, decibels)
              if all(abs(time - other) >= APART_BEATS * period for other, _ in found)]
    return sorted(found)


def stops(features: Features, beats: np.ndarray, decibels: np.ndarray) -> list[tuple[float, float]]:
    """(time, STOP_CONTRAST) where the band comes back after a stop (`_rests`), after START_S of music, then two
    bars near the usual level; on the beat the sound returns on (or where it returns, if no beat is within a third
    of one), unless the band comes back later, as after a fade-in: then on the steepest rise of the two bars from
    there (`_attack`). A stop that comes back a phrase or two later (or earlier) is the song's breath, not a drop."""
    if len(beats) < 2:
        return []
    period, usual = beat_length(beats), np.median(decibels, axis=0)
    audible = heard_before(features.rms)
    ends: list[tuple[int, float]] = []
    for start, end in _rests(features, period):
        time = end / FEATURE_RATE
        k = int(np.searchsorted(beats, time - period / 3))
        if audible[start] < START_S * FEATURE_RATE or k >= len(beats) - HOLD_BEATS:
            continue
        if not _near_usual(decibels[k: k + SPAN_BEATS], usual):
            continue
        at = _attack(decibels, k, before=0)
        if any(abs(at - other) < SPAN_BEATS for other, _ in ends):      # a silence is a rest of the low end too
            continue
        ends.append((at, float(beats[at] if at > k or abs(beats[k] - time) <= period / 3 else time)))
    return [(time, STOP_CONTRAST) for k, time in ends
            if not any(abs(abs(k - other) - phrase) <= 1 for other, _ in ends
                       for phrase in (PHRASE_BEATS, 2 * PHRASE_BEATS))]


def _rests(features: Features, period: float) -> list[tuple[int, int]]:
    """(first, past the last) frame of each stop, in time order: SILENCE_S or more of near silence (the loudness
    SILENCE_DB under the track's usual), or BASSLESS_BEATS or more without the low end (it SILENCE_DB under its
    usual; a chord or a pad may ring on) when the low end plays on without a rest of a beat for CLEAR_BEATS either
    side: a riff whose kick and bass rest every few bars (across the phrase) has no stop, only its pattern."""
    loud = 20 * np.log10(features.rms.astype(np.float64) + 1e-6)
    low = 10 * np.log10(features.bass.astype(np.float64) + 1e-10)
    heard = loud > SILENT_DB
    if not heard.any():
        return []
    found = [run for run in runs(loud < np.median(loud[heard]) - SILENCE_DB)
             if run[1] - run[0] >= SILENCE_S * FEATURE_RATE]
    beat, clear = period * FEATURE_RATE, CLEAR_BEATS * period * FEATURE_RATE
    rests = runs(low < np.median(low[heard]) - SILENCE_DB)
    found += [(start, end) for start, end in rests if end - start >= BASSLESS_BEATS * beat
              and not any(e - s >= beat and start - clear <= e and s <= end + clear
                          for s, e in rests if s != start)]
    return sorted(found)
