"""Audio analysis on synthetic tracks whose beats, tempo change and drop are known exactly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.analysis.features import FEATURE_RATE, extract
from nemo_local.media import ffmpeg_exe
from nemo_local.synth import demo_track, write_wav

TOLERANCE = 0.07


def f_measure(reference: np.ndarray, estimate: np.ndarray, tolerance: float = TOLERANCE) -> float:
    """Beat F-measure (MIREX style): one-to-one matches within the tolerance."""
    if len(reference) == 0 or len(estimate) == 0:
        return 0.0
    used = np.zeros(len(estimate), bool)
    hits = 0
    for ref in reference:
        distance = np.where(used, np.inf, np.abs(estimate - ref))
        best = int(np.argmin(distance))
        if distance[best] <= tolerance:
            used[best] = True
            hits += 1
    precision, recall = hits / len(estimate), hits / len(reference)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def track_file(tmp_path: Path, name: str, **kwargs: float) -> tuple[Path, object]:
    track = demo_track(rate=22050, **kwargs)  # type: ignore[arg-type]
    return write_wav(tmp_path / f"{name}.wav", track.samples, track.rate), track


@pytest.mark.parametrize("bpm", [90.0, 120.0, 128.0, 150.0])
def test_steady_tempo(tmp_path: Path, bpm: float) -> None:
    path, track = track_file(tmp_path, "steady", seconds=30, bpm=bpm, drop_at=20)
    result = analyse(path, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert result.tempo == pytest.approx(bpm, rel=0.02)


@pytest.mark.parametrize(("before", "after"), [(100.0, 130.0), (140.0, 110.0)])
def test_tempo_change_is_followed(tmp_path: Path, before: float, after: float) -> None:
    path, track = track_file(tmp_path, "change", seconds=40, bpm=before, bpm_after=after, change_at=14,
                             drop_at=28)
    result = analyse(path, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    early, late = result.local_tempo[result.beats < 10], result.local_tempo[result.beats > 22]
    assert np.median(early) == pytest.approx(before, rel=0.03)
    assert np.median(late) == pytest.approx(after, rel=0.03)


@pytest.mark.parametrize(("bpm", "drop_at"), [(120.0, 18.0), (95.0, 28.0), (140.0, 10.0)])
def test_drop_is_found_within_one_beat(tmp_path: Path, bpm: float, drop_at: float) -> None:
    path, track = track_file(tmp_path, "drop", seconds=36, bpm=bpm, drop_at=drop_at)
    result = analyse(path, cache=False)
    assert len(result.drops) == 1
    assert abs(result.drops[0] - track.drop) <= 60 / bpm  # type: ignore[attr-defined]
    assert any(abs(s - track.drop) <= 60 / bpm for s in result.sections)  # type: ignore[attr-defined]


def test_no_drop_in_steady_music(tmp_path: Path) -> None:
    track = demo_track(seconds=20, bpm=120, rate=22050)
    after_drop = track.samples[int(track.drop * track.rate):]    # the full groove only, looped: no drop in it
    path = write_wav(tmp_path / "loop.wav", np.tile(after_drop, 3), track.rate)
    assert analyse(path, cache=False).drops == []


def test_compressed_audio_keeps_its_timing(tmp_path: Path) -> None:
    path, track = track_file(tmp_path, "lossy", seconds=24, bpm=126, drop_at=14)
    mp3 = tmp_path / "lossy.mp3"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)],
                   check=True)
    result = analyse(mp3, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert abs(result.drops[0] - track.drop) <= 60 / 126  # type: ignore[attr-defined]


def test_audio_of_a_video_file(tmp_path: Path) -> None:
    path, track = track_file(tmp_path, "clip", seconds=12, bpm=120, drop_at=8)
    video = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:r=10", "-i", str(path),
                    "-shortest", "-c:v", "libx264", "-c:a", "aac", str(video)], check=True)
    result = analyse(video, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]


def test_silence_has_no_beats(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(22050 * 5, np.float32), 22050)
    result = analyse(path, cache=False)
    assert len(result.beats) == 0 and result.drops == [] and result.duration == pytest.approx(5.0, abs=0.01)


def test_features_have_one_row_per_hop(tmp_path: Path) -> None:
    path, _ = track_file(tmp_path, "rows", seconds=7.5, bpm=120)
    features = extract(path)
    assert len(features.onset) == len(features.bands) == len(features.rms) == round(7.5 * FEATURE_RATE)
    assert features.duration == pytest.approx(7.5, abs=0.01)


def test_analysis_is_cached_next_to_the_file(tmp_path: Path) -> None:
    path, _ = track_file(tmp_path, "cached", seconds=10, bpm=120)
    first = analyse(path)
    caches = list(tmp_path.glob(".cached.wav.analysis-*.npz"))
    assert len(caches) == 1
    second = analyse(path)
    np.testing.assert_array_equal(first.beats, second.beats)
    assert second.drops == first.drops and second.tempo == first.tempo


@pytest.mark.parametrize(("ext", "codec"), [("flac", "flac"), ("aac", "aac"), ("m4a", "aac")])
def test_every_accepted_audio_format(tmp_path: Path, ext: str, codec: str) -> None:
    path, track = track_file(tmp_path, "formats", seconds=16, bpm=120, drop_at=10)
    encoded = tmp_path / f"formats.{ext}"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-c:a", codec, str(encoded)], check=True)
    result = analyse(encoded, cache=False)
    assert f_measure(track.beats, result.beats) >= 0.95  # type: ignore[attr-defined]
    assert result.duration == pytest.approx(16, abs=0.1)
