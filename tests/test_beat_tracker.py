"""The beat and downbeat network (BeatNet's weights, run in numpy) and the bar tracker that decodes it."""

from __future__ import annotations

import io
import logging
import pickle
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nemo_local.analysis import analyse, bar_tracker, beat_model, beat_net, one_level
from nemo_local.media.synth import demo_track, write_wav

needs_weights = pytest.mark.skipif(not beat_model.available(),
                                   reason=f"the beat model is not installed: {beat_model.INSTALL}")


@pytest.fixture(autouse=True)
def fresh_weights() -> Iterator[None]:
    beat_model.load.cache_clear()
    yield
    beat_model.load.cache_clear()


def clicks(beats_per_bar: int, period: int = 25, frames: int = 3000) -> np.ndarray:
    """Activations a perfect network would give: a beat every `period` frames, the first of each bar a downbeat."""
    act = np.full((frames, 2), 0.01)
    for index, frame in enumerate(range(10, frames, period)):
        act[frame, 1 if index % beats_per_bar == 0 else 0] = 0.9
    return act


class TestBarTracker:
    @pytest.mark.parametrize("meter", [3, 4])
    def test_clean_activations_give_their_beats_bars_and_meter(self, meter: int) -> None:
        beats, numbers, per_bar = bar_tracker.track(clicks(meter), fps=50)
        truth = np.arange(10, 3000, 25) / 50
        assert per_bar == meter
        assert len(beats) == len(truth) and np.allclose(beats, truth)
        assert list(numbers[:2 * meter]) == list(range(1, meter + 1)) * 2

    def test_a_tempo_change_is_followed(self) -> None:
        act = np.full((3000, 2), 0.01)
        frames = list(range(10, 1500, 25)) + list(range(1500 + 22, 3000, 22))   # 120 BPM, then 136
        for index, frame in enumerate(frames):
            act[frame, 1 if index % 4 == 0 else 0] = 0.9
        beats, _, _ = bar_tracker.track(act, fps=50)
        late = np.diff(beats[beats > 35])
        assert np.median(late) == pytest.approx(22 / 50, abs=0.021)

    def test_nothing_heard_gives_no_beats(self) -> None:
        beats, numbers, _ = bar_tracker.track(np.full((500, 2), 0.001), fps=50)
        assert len(beats) == 0 and len(numbers) == 0

    def test_a_long_track_is_decoded_in_stretches_to_the_same_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        rng = np.random.default_rng(7)
        act = np.clip(clicks(4, period=23, frames=2000) + rng.uniform(0, 0.3, (2000, 2)), 0, 0.95) / 2
        whole = bar_tracker.BarModel.build(4, 50).decode(bar_tracker.log_densities(act))
        monkeypatch.setattr(bar_tracker, "STRETCH", 137)       # 15 stretches, the last one short
        pieces = bar_tracker.BarModel.build(4, 50).decode(bar_tracker.log_densities(act))
        assert np.array_equal(whole[0], pieces[0])
        assert whole[1] == pytest.approx(pieces[1], rel=1e-9)

    def test_beats_fall_between_frames_where_the_activation_peaks(self) -> None:
        """On the network's frames (50 a second) a beat is a whole number of frames from the last; placed at the top
        of the activation's peak between frames, beats at 128.4 BPM (23.36 frames a beat) keep time with the music
        instead of jumping between 23 and 24 frames."""
        period, first = 50 * 60 / 128.4, 10.4
        truth = first + period * np.arange(120)
        frames = np.arange(3000)
        bumps = np.exp(-0.5 * ((frames[:, None] - truth[None, :]) / 1.2) ** 2)       # each beat heard ~50 ms
        act = np.full((3000, 2), 0.01)
        act[:, 0] += 0.85 * bumps[:, np.arange(120) % 4 != 0].sum(axis=1)
        act[:, 1] += 0.85 * bumps[:, np.arange(120) % 4 == 0].sum(axis=1)
        beats, _, _ = bar_tracker.track(act, fps=50)
        assert len(beats) == len(truth)
        error = np.abs(beats * 50 - truth)
        on_frames = np.abs(np.round(truth) - truth)                 # what whole frames would miss by: 0.25 a beat
        assert error.mean() < 0.06 < 0.2 < on_frames.mean() and error.max() < 0.15 < 0.45 < on_frames.max()
        assert 60 / np.median(np.diff(beats)) == pytest.approx(128.4, abs=0.2)

    def test_the_top_of_a_peak_between_frames(self) -> None:
        curve = -(np.arange(12.0) - 5.3) ** 2                       # a parabola whose top is at 5.3
        shift = bar_tracker.vertex(curve, np.array([5, 0, 11]))
        assert shift[0] == pytest.approx(0.3) and shift[1] == shift[2] == 0.0       # ends stay where they are
        assert bar_tracker.vertex(np.ones(5), np.array([2]))[0] == 0.0               # a flat top: no shift

    def test_periods_cover_55_to_215_bpm(self) -> None:
        periods = bar_tracker.periods(50)
        assert periods.min() == round(60 * 50 / 215) and periods.max() == round(60 * 50 / 55)


class TestOneLevel:
    def test_a_stretch_tracked_at_half_time_gets_its_beats_back(self) -> None:
        beats = np.arange(0.0, 60.0, 0.375)                              # 160 BPM for a minute
        slipped = np.concatenate([beats[beats < 40], beats[(beats >= 40) & (np.arange(len(beats)) % 2 == 0)]])
        assert np.allclose(one_level(slipped), beats[beats <= slipped[-1]])

    def test_a_steady_track_and_its_stops_are_left_alone(self) -> None:
        beats = np.arange(0.0, 30.0, 0.5)
        assert np.array_equal(one_level(beats), beats)
        stop = np.concatenate([beats[beats < 15], beats[beats >= 16.5]])  # a stop: three beats without one
        assert np.array_equal(one_level(stop), stop)
        at_half = np.arange(0.0, 30.0, 1.0)                                # a whole track at one slower level
        assert np.array_equal(one_level(at_half), at_half)


class TestFeatures:
    def test_filterbank_is_24_a_octave_normalised_triangles(self) -> None:
        bank = beat_net.filterbank()
        assert bank.shape == (beat_net.FRAME // 2, 136)            # 272 features a frame with the differences
        assert np.allclose(bank.sum(axis=0), 1.0, atol=1e-5)
        peaks = np.argmax(bank, axis=0)
        assert np.all(np.diff(peaks) > 0)                          # one band per bin at most, rising

    def test_the_difference_looks_one_frame_back(self) -> None:
        assert beat_net.diff_frames() == 1


class TestWeights:
    def test_a_pickle_that_calls_anything_is_refused(self) -> None:
        class Evil:
            def __reduce__(self) -> tuple[object, tuple[str]]:
                return (print, ("ran",))

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("archive/data.pkl", pickle.dumps({"w": Evil()}))
        with pytest.raises(pickle.UnpicklingError, match="not part of a weight file"):
            beat_model.read_weights(buffer.getvalue())

    def test_without_weights_the_signal_tracker_is_used(self, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(beat_model.ENV, str(tmp_path / "nothing"))
        track = demo_track(seconds=20, bpm=120, rate=22050, drop_at=12)
        result = analyse(write_wav(tmp_path / "a.wav", track.samples, track.rate), cache=False)
        assert result.tracker == "signal" and len(result.beats) > 30

    @needs_weights
    def test_a_changed_weight_file_is_refused_and_the_signal_tracker_used(
            self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        source = beat_model.folder()
        assert source is not None
        copies = tmp_path / "models"
        copies.mkdir()
        for name in beat_model.PINS:
            shutil.copy(source / name, copies / name)
        data = bytearray((copies / "model_2_weights.pt").read_bytes())
        data[-100] ^= 1
        (copies / "model_2_weights.pt").write_bytes(bytes(data))
        monkeypatch.setenv(beat_model.ENV, str(copies))
        with pytest.raises(beat_model.ModelRejected, match="SHA-256"):
            beat_model.load()
        track = demo_track(seconds=20, bpm=120, rate=22050, drop_at=12)
        with caplog.at_level(logging.WARNING):
            result = analyse(write_wav(tmp_path / "a.wav", track.samples, track.rate), cache=False)
        assert result.tracker == "signal"
        assert "beat model not used" in caplog.text

    @needs_weights
    def test_the_three_models_load_with_their_shapes(self) -> None:
        models = beat_model.load()
        assert len(models) == 3
        assert all({k: v.shape for k, v in m.items()} == beat_model.SHAPES for m in models)


@needs_weights
class TestNetwork:
    def test_activations_peak_on_the_beats(self, tmp_path: Path) -> None:
        track = demo_track(seconds=20, bpm=120, rate=22050, drop_at=12)
        act = beat_net.activations(write_wav(tmp_path / "a.wav", track.samples, track.rate), beat_model.load())
        assert len(act) == 20 * beat_net.FPS
        heard = act.sum(axis=1)
        on = np.round(track.beats * beat_net.FPS).astype(int)
        near = np.zeros(len(heard), bool)
        for frame in on:
            near[max(0, frame - 2): frame + 3] = True
        assert np.mean([heard[max(0, f - 2): f + 3].max() for f in on]) > 4 * heard[~near].mean()

    def test_the_analysis_says_which_tracker_it_used(self, tmp_path: Path) -> None:
        track = demo_track(seconds=20, bpm=120, rate=22050, drop_at=12)
        result = analyse(write_wav(tmp_path / "a.wav", track.samples, track.rate), cache=False)
        assert result.summary()["tracker"] == "beatnet"
