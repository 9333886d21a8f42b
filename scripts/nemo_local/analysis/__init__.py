"""Audio analysis for the renderer: features, tempo, beats, downbeats, drops and sections, cached per file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nemo_local.analysis.beats import beat_times
from nemo_local.analysis.downbeats import downbeats
from nemo_local.analysis.features import FEATURE_RATE, Features, extract
from nemo_local.analysis.structure import drops, sections

VERSION = 2


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
    downbeats: np.ndarray = field(default_factory=lambda: np.zeros(0))   # seconds; empty when the bar is unclear
    beats_per_bar: int = 4

    def summary(self) -> dict[str, object]:
        return {"duration": round(self.duration, 3), "tempo": round(self.tempo, 1), "beats": len(self.beats),
                "downbeats": len(self.downbeats), "beats_per_bar": self.beats_per_bar,
                "drops": [round(d, 2) for d in self.drops], "sections": self.sections}


def analyse_features(features: Features) -> Analysis:
    beats, bpm, local = beat_times(features.onset)
    bars, per_bar = downbeats(beats, features.bands, features.bass)
    return Analysis(features.duration, bpm, beats, local, drops(features.bass, features.rms, beats),
                    sections(features.bands, beats, features.duration), features.bands, features.rms,
                    features.onset, bars, per_bar)


def _cache_path(path: Path) -> Path:
    stat = path.stat()
    return path.with_name(f".{path.name}.analysis-v{VERSION}-{stat.st_size}-{int(stat.st_mtime)}.npz")


def analyse(path: Path, cache: bool = True) -> Analysis:
    """Analyse an audio (or video) file; the result is cached next to it, keyed by size and time."""
    target = _cache_path(path)
    if cache and target.exists():
        try:
            with np.load(target) as data:
                meta = json.loads(str(data["meta"]))
                return Analysis(meta["duration"], meta["tempo"], data["beats"], data["local_tempo"],
                                meta["drops"], meta["sections"], data["bands"], data["rms"], data["onset"],
                                data["downbeats"], meta["beats_per_bar"])
        except (OSError, ValueError, KeyError):
            target.unlink(missing_ok=True)
    result = analyse_features(extract(path))
    if cache:
        meta = {"duration": result.duration, "tempo": result.tempo, "drops": result.drops,
                "sections": result.sections, "beats_per_bar": result.beats_per_bar}
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
