"""Pictures that hold up on real material: silence is silent, missing bands stay low, drops keep the picture and
the accent's colour family, covers are shown whole, gradients do not band, quoted words are only words."""

from __future__ import annotations

import colorsys
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nemo_local.analysis import analyse
from nemo_local.director.turn import direct
from nemo_local.media.ffmpeg import ffmpeg_exe
from nemo_local.media.synth import demo_track, write_wav
from nemo_local.render.colour import hex_rgb, yuv
from nemo_local.render.frame import gradient_background, image_background
from nemo_local.render.layers import flash_levels, hot_colour
from nemo_local.render.timing import build
from test_render import draft, luma_frames, render

AUDIO = [{"kind": "audio", "filename": "a.wav", "file_id": "f1", "info": {"duration": 8.0}}]


def hue(hex_colour: str) -> float:
    r, g, b = (c / 255 for c in hex_rgb(hex_colour))
    return colorsys.rgb_to_hsv(r, g, b)[0]


def test_silence_draws_no_spectrum(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silence.wav", np.zeros(22050 * 4, np.float32), 22050)
    timing = build(analyse(silent, cache=False), 120, 30)
    assert float(timing.bands.max()) == 0.0 and float(timing.level.max()) == 0.0


def test_a_band_the_audio_does_not_have_stays_low(tmp_path: Path) -> None:
    track = demo_track(seconds=8, bpm=120, rate=22050)
    full = write_wav(tmp_path / "full.wav", track.samples, track.rate)
    narrow = tmp_path / "narrow.wav"   # telephone-like: 8 kHz mono, nothing above 4 kHz
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(full), "-ar", "8000", "-ac", "1", str(narrow)],
                   check=True)
    timing = build(analyse(narrow, cache=False), 240, 30)
    treble = timing.bands[:, -2:]
    assert float(np.percentile(treble, 95)) < 0.25
    assert float(np.percentile(timing.bands[:, :10], 95)) > 0.5      # the bass still moves


@pytest.mark.parametrize("accent", ["#ff4081", "#36c5f0", "#43a047", "#fdd835"])
def test_the_drop_colour_stays_in_the_accents_family(accent: str) -> None:
    difference = abs(hue(hot_colour(accent)) - hue(accent))
    assert min(difference, 1 - difference) < 0.1


def test_the_drop_flash_keeps_a_photo_visible(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    from PIL import Image
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)).save(photo)
    background = image_background(photo, 320, 180, dim=0.55)
    strongest = flash_levels(background, yuv(hot_colour("#ff4081")))[-1]
    assert strongest.y.std() > 0.5 * background.y.std()          # the picture is still there, not a flat fill
    assert strongest.y.mean() > background.y.mean() + 10          # and it is clearly brighter
    v_shift = strongest.v.astype(float).mean() - background.v.astype(float).mean()
    assert v_shift > 0                                            # pink pushes red, not towards mint green


@pytest.fixture(scope="module")
def tune(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = demo_track(seconds=8, bpm=120, drop_at=5, rate=22050)
    return write_wav(tmp_path_factory.mktemp("tune") / "tune.wav", track.samples, track.rate)


def test_a_square_cover_is_shown_whole_in_a_tall_frame(tmp_path: Path, tune: Path) -> None:
    from PIL import Image, ImageDraw
    cover = tmp_path / "cover.png"
    image = Image.new("RGB", (400, 400), (20, 40, 200))
    ImageDraw.Draw(image).rectangle([0, 0, 399, 399], outline=(255, 255, 255), width=24)
    image.save(cover)
    the_draft = draft("bars", "9:16")
    the_draft["t"][0]["sg"] = [{"kind": "image", "src": "cover", "s": 0, "d": 8000}]
    out = render(tmp_path, tune, the_draft, "cover.mp4", {"cover": cover})
    frame = luma_frames(out)[15].astype(float)            # 144x256: the cover fits the width, 144x144
    height = frame.shape[0]
    middle = frame[height // 2 - 40: height // 2 + 40]
    assert middle[:, :3].mean() > middle[:, 20:40].mean() + 20      # the cover's white left edge is in the frame
    assert middle[:, -3:].mean() > middle[:, -40:-20].mean() + 20    # and its right edge


def test_the_default_gradient_has_no_wide_bands() -> None:
    frame = gradient_background(1920, 1080, "#0d1321")
    column = frame.y[:, 100].astype(float)
    # Without dithering a row's value holds for ~100 rows; the pattern changes it every few rows.
    runs = np.diff(np.flatnonzero(np.diff(column) != 0))
    assert len(runs) and runs.max() <= 16
    row_means = frame.y.astype(float).mean(axis=1)
    assert np.all(np.abs(np.diff(row_means)) < 1.0)                  # the average still falls smoothly


def test_quoted_words_are_never_options() -> None:
    first = direct("circle", {}, AUDIO)
    titled = direct('title "Ocean Waves" for 2 seconds, bars are "pink"', first.draft, AUDIO)
    assert titled.draft["m"]["style"] == "bars"                      # the unquoted "bars", not the quoted "Waves"
    assert titled.draft["m"]["accent"] == first.draft["m"]["accent"]
    assert titled.draft["t"][-1]["sg"][0]["text"] == "Ocean Waves"
    only_title = direct('title "Bars & Rings in Pink"', first.draft, AUDIO)
    assert only_title.draft["m"]["style"] == "circle" and only_title.draft["m"]["accent"] == "#36c5f0"


def test_frost_blurs_the_stage_and_fades_back_to_the_sharp_picture() -> None:
    from nemo_local.render.frame import Frame, Stage, frost
    rng = np.random.default_rng(5)
    frame = Frame(320, 180, rng.integers(40, 200, 320 * 180 * 3 // 2, dtype=np.uint8))
    before = frame.data.copy()
    frost(frame, Stage(60, 80, 120, 240, 10), radius=3)
    assert frame.y[70:110, 100:220].std() < 0.4 * Frame(320, 180, before).y[70:110, 100:220].std()
    far = Frame(320, 180, before)
    assert np.array_equal(frame.y[:30], far.y[:30]) and np.array_equal(frame.y[:, :50], far.y[:, :50])
    assert np.array_equal(frame.u[:15], far.u[:15])                    # chroma too, at half resolution
    edge = np.abs(frame.y[55:60, 100:220].astype(int) - far.y[55:60, 100:220]).mean()
    inside = np.abs(frame.y[80:100, 100:220].astype(int) - far.y[80:100, 100:220]).mean()
    assert 0 < edge < inside                                           # a soft edge, not a hard one


def test_a_photo_is_frosted_under_the_visualizer_unless_asked_not_to(tmp_path: Path, tune: Path) -> None:
    from PIL import Image
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 255, (288, 512, 3), dtype=np.uint8)).save(photo)

    def texture(**meta: object) -> tuple[float, float]:
        the_draft = draft("rings", **meta)
        the_draft["t"][0]["sg"] = [{"kind": "image", "src": "photo", "s": 0, "d": 8000}]
        frame = luma_frames(render(tmp_path, tune, the_draft, "frost.mp4", {"photo": photo}))[3].astype(float)
        middle = frame[70:86, 76:90]            # inside the rings' disc, clear of the core and the rings early on
        corner = frame[:20, :20]
        return float(np.abs(np.diff(middle, axis=1)).mean()), float(np.abs(np.diff(corner, axis=1)).mean())

    frosted_middle, frosted_corner = texture()
    sharp_middle, sharp_corner = texture(frost=False)
    assert frosted_middle < 0.5 * sharp_middle                  # blurred where the visualizer draws
    assert frosted_corner == pytest.approx(sharp_corner, rel=0.15)   # the rest of the photo is as sharp as before


def test_the_words_for_a_sharp_or_frosted_photo() -> None:
    photo = {"kind": "image", "filename": "p.jpg", "file_id": "p1", "info": {"width": 1920, "height": 1080}}
    assert direct("keep the photo sharp", {}, [*AUDIO, photo]).draft["m"]["frost"] is False
    assert direct("a sharp background please", {}, [*AUDIO, photo]).draft["m"]["frost"] is False
    sharp = direct("no blur", {}, [*AUDIO, photo]).draft
    assert sharp["m"]["frost"] is False
    assert direct("frosted panel behind the bars", sharp, [*AUDIO, photo]).draft["m"]["frost"] is True
