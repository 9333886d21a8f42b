"""Audio analysis for the renderer: features, tempo, beats, downbeats, drops and sections, cached per file.

Beats and downbeats come from BeatNet's network and a bar-pointer model (`beat_net`, `bar_tracker`) when its
weights are installed (`beat_model`), else from the signal-processing tracker (`beats`, `downbeats`), which also
takes over when the network's tempo is one the music does not repeat at (`pulse`); the analysis says which
(`tracker`). The scoreboard in BENCHMARKS.md measures both on real music.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nemo_local.analysis import bar_tracker, beat_model, beat_net, pulse
from nemo_local.analysis.beats import beat_strength, beat_times, peaks_near
from nemo_local.analysis.downbeats import downbeats
from nemo_local.analysis.features import FEATURE_RATE, SILENT_DB, Features, extract
from nemo_local.analysis.structure import drops, sections
from nemo_local.draft import graded

VERSION = 12
TEMPO_SPAN = 16            # beats a tempo is measured over (`beat_period`)
LEVEL_SLACK = 0.2          # a gap within this much (of a beat) of two beats is a beat skipped (`one_level`)
NEURAL, SIGNAL = "beatnet", "signal"
log = logging.getLogger(__name__)


@dataclass
class Analysis:
    duration: float
    tempo: float
    beats: np.ndarray            # seconds
    local_tempo: np.ndarray      # BPM at each beat
    drops: list[float]
    sections: list[float]
    bands: np.ndarray            # (n, bands) dB at FEATURE_RATE
    rms: np.ndarray              # (n,) at FEATURE_RATE
    onset: np.ndarray            # (n,) raw flux at FEATURE_RATE
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))   # seconds; empty when nothing marks the bar
    beats_per_bar: int = 4
    tracker: str = SIGNAL        # which beat tracker found the beats
    drop_strength: list[float] = field(default_factory=list)   # per drop, 0-1 (structure.grade); empty: all 1

    def graded_drops(self) -> list[tuple[float, float]]:
        """(time, strength) of each drop."""
        return graded(self.drops, self.drop_strength)

    def summary(self) -> dict[str, object]:
        return {"duration": round(self.duration, 3), "tempo": round(self.tempo, 1), "beats": len(self.beats),
                "downbeats": len(self.downbeats), "beats_per_bar": self.beats_per_bar,
                "drops": [round(d, 2) for d in self.drops], "drop_strength": self.drop_strength,
                "sections": self.sections, "tracker": self.tracker}


@dataclass
class Rhythm:
    beats: np.ndarray
    tempo: float
    local_tempo: np.ndarray
    downbeats: np.ndarray
    beats_per_bar: int
    tracker: str
    strength: np.ndarray                     # how clearly each beat is heard, 0-1


def signal_rhythm(features: Features) -> Rhythm:
    beats, bpm, local = beat_times(features.onset)
    bars, per_bar = downbeats(beats, features)
    if len(beats) > 2:   # the tempo of the beats found, as for the network (`beat_period`)
        bpm = 60.0 / beat_period(beats)
    return Rhythm(beats, bpm, local, bars, per_bar, SIGNAL, beat_strength(features.onset, beats))


def neural_rhythm(path: Path, features: Features) -> Rhythm | None:
    """Beats from the network and its bar-pointer model, or None when its weights are not installed (or not the
    pinned ones). The bars: `downbeats` on those beats, with the network's downbeat activation as one more cue (the
    bar-pointer model's own count keeps one phase for the whole track, and is its weakest guess)."""
    if not beat_model.available():
        return None
    try:
        models = beat_model.load()
    except beat_model.ModelRejected as exc:
        log.warning("beat model not used: %s", exc)
        return None
    if not (20 * np.log10(features.rms + 1e-6) > SILENT_DB).any():
        return Rhythm(np.zeros(0), 0.0, np.zeros(0), np.zeros(0), 4, NEURAL, np.zeros(0))
    activation = beat_net.activations(path, models)
    beats, _, per_bar = bar_tracker.track(activation, beat_net.FPS)
    beats = one_level(beats)
    strength = peaks_near(activation.sum(axis=1), beats, beat_net.FPS)
    if len(beats) < 2:
        return Rhythm(beats, 0.0, np.zeros(len(beats)), np.zeros(0), per_bar, NEURAL, strength)
    bars, meter = downbeats(beats, features, peaks_near(activation[:, 1], beats, beat_net.FPS))
    return Rhythm(beats, 60.0 / beat_period(beats), 60.0 / local_periods(beats), bars, meter, NEURAL, strength)


def rhythm(path: Path, features: Features) -> Rhythm:
    """The rhythm the analysis uses: `chosen` between the network's (`neural_rhythm`) and the signal tracker's."""
    return chosen(neural_rhythm(path, features), signal_rhythm(features), features.onset)


def chosen(neural: Rhythm | None, signal: Rhythm, onset: np.ndarray) -> Rhythm:
    """The network's rhythm, or the signal tracker's when the network's weights are not installed (None) or its
    tempo is one the music does not repeat at while the signal tracker's is (`pulse.refuse_network`: the trackers
    disagree beyond a factor of two and the onsets side with the signal)."""
    if neural is None:
        return signal
    if pulse.refuse_network(onset, neural.tempo, signal.tempo):
        log.info("the beat network's %.1f BPM refused for the signal tracker's %.1f BPM (pulse salience)",
                 neural.tempo, signal.tempo)
        return signal
    return neural


def beat_period(beats: np.ndarray, span: int = TEMPO_SPAN) -> float:
    """Seconds a beat: the median of runs of `span` beats, divided by `span`. The network's beats sit on its
    frame grid (20 ms), so one gap alone is a whole number of frames (at 128 BPM 23 or 24 frames: 130.4 or 125 BPM);
    a run of sixteen averages that out to 0.2 BPM, and a moved beat or a tempo change cannot sway the median."""
    span = max(1, min(span, len(beats) - 1))
    return float(np.median((beats[span:] - beats[:-span]) / span))


def one_level(beats: np.ndarray, slack: float = LEVEL_SLACK) -> np.ndarray:
    """The beats with the pulse at one level for the whole track: where two beats are two of the track's beats
    apart (`beat_period`, give or take `slack` of a beat), the beat between them is put back, midway.

    The network's bar-pointer model slips to half time for a stretch now and then (a sparse passage, a breakdown:
    on the real recordings' steady grids, bench/real_beats.py, up to 100 s of a six-minute track), and a video
    cut on those beats would halve its pace there. A song whose score really halves its tempo is filled too (the
    cuts keep the pace); a gap of three beats or more (a stop) is left alone."""
    if len(beats) < TEMPO_SPAN + 2:
        return beats
    gaps = np.diff(beats)
    skipped = np.abs(gaps / beat_period(beats) - 2.0) <= slack
    return np.sort(np.concatenate([beats, beats[:-1][skipped] + gaps[skipped] / 2]))


def local_periods(beats: np.ndarray, span: int = 4) -> np.ndarray:
    """Seconds a beat at each beat: the run of `span` beats around it (a 5-beat median of those, so one moved beat
    does not show)."""
    span = max(1, min(span, len(beats) - 1))
    runs = (beats[span:] - beats[:-span]) / span                      # the run starting at beat i
    periods = np.pad(runs, (span // 2, len(beats) - len(runs) - span // 2), mode="edge")
    if len(periods) >= 5:
        periods = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(periods, 2, mode="edge"), 5), axis=1)
    return periods


def analyse_features(features: Features, rhythm: Rhythm | None = None) -> Analysis:
    r = rhythm or signal_rhythm(features)
    found = drops(features, r.beats, r.downbeats, r.strength)
    return Analysis(features.duration, r.tempo, r.beats, r.local_tempo, [t for t, _ in found],
                    sections(features.bands, r.beats, features.duration), features.bands, features.rms,
                    features.onset, r.downbeats, r.beats_per_bar, r.tracker, [g for _, g in found])


def _cache_path(path: Path) -> Path:
    stat = path.stat()
    tracker = NEURAL if beat_model.available() else SIGNAL
    return path.with_name(f".{path.name}.analysis-v{VERSION}-{tracker}-{stat.st_size}-{int(stat.st_mtime)}.npz")


def analyse(path: Path, cache: bool = True) -> Analysis:
    """Analyse an audio (or video) file; the result is cached next to it, keyed by size and time."""
    target = _cache_path(path)
    if cache and target.exists():
        try:
            with np.load(target) as data:
                meta = json.loads(str(data["meta"]))
                return Analysis(meta["duration"], meta["tempo"], data["beats"], data["local_tempo"],
                                meta["drops"], meta["sections"], data["bands"], data["rms"], data["onset"],
                                data["downbeats"], meta["beats_per_bar"], meta["tracker"], meta["drop_strength"])
        except (OSError, ValueError, KeyError):
            target.unlink(missing_ok=True)
    features = extract(path)
    result = analyse_features(features, rhythm(path, features))
    if cache:
        meta = {"duration": result.duration, "tempo": result.tempo, "drops": result.drops,
                "drop_strength": result.drop_strength,
                "sections": result.sections, "beats_per_bar": result.beats_per_bar, "tracker": result.tracker}
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-analysis-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, meta=np.array(json.dumps(meta)), beats=result.beats,
                         local_tempo=result.local_tempo, downbeats=result.downbeats, bands=result.bands,
                         rms=result.rms, onset=result.onset)
            os.replace(tmp, target)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
    return result


__all__ = ["FEATURE_RATE", "Analysis", "analyse", "analyse_features"]
