"""Ready to share: destinations set what they say, size caps are met, every render has a poster, progress helps."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import arm, request_count
from nemo_local.director.turn import direct
from nemo_local.media.ffmpeg import ffmpeg_exe, probe
from nemo_local.media.synth import demo_track, write_wav
from nemo_skill.destinations import (
    DESTINATIONS,
    MB,
    Output,
    capped_video_kbps,
    fit_cap,
    least_video_kbps,
    output_for,
    parse_size,
)
from nemo_skill.shrink import original_of

AUDIO = [{"kind": "audio", "filename": "song.mp3", "file_id": "f1", "info": {"duration": 700.0}}]


@pytest.fixture(scope="module")
def track20(tmp_path_factory: pytest.TempPathFactory) -> Path:
    track = demo_track(seconds=20, bpm=124, drop_at=11, rate=22050)
    return write_wav(tmp_path_factory.mktemp("t20") / "song.wav", track.samples, track.rate)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A photo-like picture with fine texture: expensive to encode, so a cap has work to do."""
    from PIL import Image
    rng = np.random.default_rng(5)
    rgb = np.clip(rng.normal(120, 60, (360, 640, 3)), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    Image.fromarray(rgb).save(path)
    return path


class TestDestinations:
    @pytest.mark.parametrize("name", list(DESTINATIONS))
    def test_each_destination_sets_what_it_says(self, name: str) -> None:
        place = DESTINATIONS[name]
        words = {"reels": "for Instagram Reels", "email": "for e-mail", "whatsapp": "for WhatsApp"}.get(
            name, f"for {name}")
        result = direct(words, {}, AUDIO)
        meta = result.draft["m"]
        assert meta["destination"] == name and meta["audio_kbps"] == place.audio_kbps
        assert meta.get("max_bytes") == place.max_bytes
        if place.aspect:
            assert meta["aspect"] == place.aspect
        assert place.name in result.reply

    def test_a_platform_length_is_said_and_trimmed_only_when_asked(self) -> None:
        said = direct("for tiktok", {}, AUDIO)
        assert said.draft["d"] == 700_000 and "at most 600 s" in said.reply
        trimmed = direct("trim it for tiktok", said.draft, AUDIO)
        assert trimmed.draft["d"] == 600_000 and "trimmed to 600 s" in trimmed.reply
        again = direct("make it red", trimmed.draft, AUDIO)   # a later edit keeps the trim
        assert again.draft["d"] == 600_000

    def test_a_size_in_words(self) -> None:
        assert direct("keep it under 25 MB", {}, AUDIO).draft["m"]["max_bytes"] == 25 * MB

    def test_flags_become_structured_output_options(self) -> None:
        discord = output_for("Discord", None)
        assert discord == Output("discord", None, DESTINATIONS["discord"].max_bytes, DESTINATIONS["discord"].audio_kbps)
        assert discord.render_options() == {"maxBytes": 10 * MB, "audioKbps": 128}
        assert discord.state() == {"destination": "discord", "max_bytes": 10 * MB}
        assert output_for(None, "1MB").render_options() == {"maxBytes": MB}
        assert output_for("email", "5MB").max_bytes == 5 * MB          # the smaller cap of the two
        assert output_for("email", "50MB").max_bytes == DESTINATIONS["email"].max_bytes
        assert output_for(None, None, "9:16").state() == {"aspect": "9:16"}
        with pytest.raises(ValueError, match="say one of"):
            output_for("myspace", None)

    def test_structured_options_reach_the_director_as_data(self) -> None:
        words = direct("bars", {}, AUDIO, output=output_for("discord", None).state())
        assert words.draft["m"]["destination"] == "discord" and words.draft["m"]["max_bytes"] == 10 * MB
        assert "for Discord (at most 10 MB)" in words.reply
        framed = direct("bars", {}, AUDIO, output={"aspect": "9:16", "max_bytes": 2 * MB})
        assert (framed.draft["m"]["width"], framed.draft["m"]["height"]) == (1080, 1920)
        assert framed.draft["m"]["max_bytes"] == 2 * MB
        hostile = direct("bars", {}, AUDIO, output={"destination": "myspace", "aspect": "7:3", "max_bytes": 10**12})
        assert "max_bytes" not in hostile.draft["m"] and hostile.draft["m"]["aspect"] == "16:9"
        assert "Unknown destination" in hostile.reply

    @pytest.mark.parametrize(("text", "value"), [("25MB", 25 * MB), ("1.5 GB", 1_500_000_000), ("800k", 800_000),
                                                 ("10mib", 10 * MB)])
    def test_sizes(self, text: str, value: int) -> None:
        assert parse_size(text) == value

    def test_a_cap_too_small_for_the_length_is_refused_with_what_would_fit(self) -> None:
        with pytest.raises(ValueError, match=r"cannot fit into 1 MB.*allow (\d+\.\d) MB, or trim it to (\d+) s"):
            fit_cap(MB, 600, 1920, 1080, 30, 128)

    @pytest.mark.parametrize(("seconds", "cap_mb"), [(s, c) for s in (20, 90, 180) for c in (1, 2, 10)])
    def test_a_cap_is_met_by_a_smaller_frame_and_audio_before_it_is_refused(self, seconds: int, cap_mb: int) -> None:
        cap = cap_mb * MB
        try:
            fit = fit_cap(cap, seconds, 1920, 1080, 30, 128)
        except ValueError:        # then not even the last resort (240p, 32 kbit/s) fits
            assert capped_video_kbps(cap, seconds, 32) < least_video_kbps(426, 240, 30)
            return
        assert (fit.video_kbps + fit.audio_kbps + 8) * seconds * 1000 / 8 <= cap * 0.96 + 1000   # the budget holds
        assert fit.video_kbps >= least_video_kbps(fit.width, fit.height, 30)                       # and is watchable
        assert fit.width / fit.height == pytest.approx(16 / 9, abs=0.01)
        larger = [(w, h) for w, h in ((1920, 1080), (1280, 720), (960, 540), (640, 360)) if w > fit.width]
        for w, h in larger:          # no larger frame would have fitted at 64 kbit/s audio or more
            assert capped_video_kbps(cap, seconds, 64) < least_video_kbps(w, h, 30) or fit.audio_kbps >= 64

    def test_ninety_seconds_in_two_megabytes_is_360p_with_64k_audio(self) -> None:
        fit = fit_cap(2 * MB, 90, 1920, 1080, 30, 128)
        assert (fit.width, fit.height, fit.audio_kbps, fit.smaller) == (640, 360, 64, True)
        assert fit.said() == "640x360, 64 kbit/s audio: made smaller to fit"


def encoder_rate(video: Path) -> int | None:
    """The VBV maximum rate (kbit/s) x264 was given, from the settings it writes into the stream."""
    found = re.search(rb"vbv_maxrate=(\d+)", video.read_bytes()[:1 << 20])
    return int(found[1]) if found else None


def render_with_cli(cli: Any, audio: Path, image: Path, *extra: str) -> tuple[Any, Path]:
    result = cli("make", audio, "--image", image, "--prompt", "bars", "--json", *extra)
    assert result.code == 0, result.err
    return result, Path(json.loads(result.out)["path"])


class TestSizeCaps:
    def test_a_size_cap_is_met_and_the_video_still_plays(self, cli: Any, start_server: Any, tmp_path: Path,
                                                          monkeypatch: Any, track20: Path, photo: Path) -> None:
        server = start_server(tmp_path / "big", render_max_side=640, max_upload_bytes=None, cloud_emulation=False)
        monkeypatch.setenv("NEMO_API_URL", server.url)
        _, free_path = render_with_cli(cli, track20, photo, "-o", "free.mp4")
        assert free_path.stat().st_size > MB           # without a cap this picture takes more
        capped, capped_path = render_with_cli(cli, track20, photo, "-o", "capped.mp4", "--max-size", "1MB")
        assert capped_path.stat().st_size <= MB
        info = probe(capped_path)
        assert info.video_codec == "h264" and info.duration == pytest.approx(20, abs=0.1)
        frames = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(capped_path), "-f", "null", "-"],
                                capture_output=True, text=True)
        assert frames.returncode == 0 and not frames.stderr.strip()
        assert "under the 1 MB cap" in capped.err

    def test_a_cloud_render_over_the_cap_is_made_to_fit_here_and_the_paid_one_kept(
            self, cli: Any, start_server: Any, tmp_path: Path, monkeypatch: Any, track20: Path, photo: Path) -> None:
        server = start_server(tmp_path / "cloud", render_max_side=640, max_upload_bytes=None)   # cloud emulation
        monkeypatch.setenv("NEMO_API_URL", server.url)
        arm(server.url, route="render_start", uncapped=True)      # a renderer that misses the cap
        result, video = render_with_cli(cli, track20, photo, "-o", "capped.mp4", "--max-size", "1MB")
        kept = original_of(video)
        assert kept.stat().st_size > MB >= video.stat().st_size          # the paid render, whole, beside the copy
        assert probe(video).duration == pytest.approx(probe(kept).duration, abs=0.1)
        assert "over the 1 MB cap; making it fit here" in result.err and "under the 1 MB cap" in result.err

    def test_for_discord_caps_the_encoder_and_says_so(self, cli: Any, wav: Path, png: Path) -> None:
        result = cli("make", wav, "--image", png, "--for", "discord", "--json")
        assert result.code == 0, result.err
        data = json.loads(result.out)
        video = Path(data["path"])
        assert video.stat().st_size <= 10 * MB and data["bytes"] == video.stat().st_size
        seconds = round((probe(wav).duration or 0) * 30) / 30      # the frames of the audio, at 30 fps
        discord = DESTINATIONS["discord"]
        assert discord.max_bytes is not None
        # the cap reached x264 as its VBV rate (x264 writes its settings into the stream), not just this small file
        assert encoder_rate(video) == capped_video_kbps(discord.max_bytes, seconds, discord.audio_kbps)
        assert Path(data["poster"]).read_bytes()[:3] == b"\xff\xd8\xff"
        assert "for Discord (at most 10 MB)" in data["reply"]          # the reply says which settings it used
        assert "under the 10 MB cap" in result.err


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("lengths")
    out = {}
    for seconds in (20, 90, 180):
        track = demo_track(seconds=seconds, bpm=124, drop_at=seconds * 0.4, rate=22050)
        out[seconds] = write_wav(folder / f"song{seconds}.wav", track.samples, track.rate)
    return out


class TestCapsOnRealRenders:
    """Whole renders at the asked frame (not shrunk for tests): each cap is met by the frame and rates `fit_cap`
    chose, and the file plays; a cap nothing can meet is refused before anything is rendered."""

    @pytest.mark.slow
    @pytest.mark.parametrize(("seconds", "cap_mb"), [(s, c) for s in (20, 90, 180) for c in (1, 2, 10)])
    def test_the_video_lands_under_the_cap_and_plays(self, cli: Any, start_server: Any, tmp_path: Path,
                                                     monkeypatch: Any, tracks: dict[int, Path], seconds: int,
                                                     cap_mb: int) -> None:
        server = start_server(tmp_path / "caps", render_max_side=0, max_upload_bytes=None, cloud_emulation=False)
        monkeypatch.setenv("NEMO_API_URL", server.url)
        cap = cap_mb * MB
        result = cli("make", tracks[seconds], "--prompt", "bars", "--max-size", f"{cap_mb}MB", "-o", "v.mp4", "--json")
        try:
            fit = fit_cap(cap, seconds, 1920, 1080, 30, 192)
        except ValueError as exc:
            assert result.code == 2 and str(exc) in result.err
            assert request_count(server.url, "POST /api/render/proxy/lambda") == 0
            return
        assert result.code == 0, result.err
        video = Path(json.loads(result.out)["path"])
        assert video.stat().st_size <= cap
        info = probe(video)
        assert (info.width, info.height) == (fit.width, fit.height) and info.duration == pytest.approx(seconds, abs=0.1)
        played = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-f", "null", "-"], capture_output=True,
                                text=True)
        assert played.returncode == 0 and not played.stderr.strip()
        assert f"under the {cap_mb} MB cap ({fit.said()})" in result.err


class TestPosterAndProgress:
    def test_the_poster_is_the_frame_a_second_after_the_first_drop(self, cli: Any, start_server: Any, tmp_path: Path,
                                                               monkeypatch: Any, track20: Path) -> None:
        server = start_server(tmp_path / "poster", render_max_side=320)
        monkeypatch.setenv("NEMO_API_URL", server.url)
        result = cli("make", track20, "--prompt", "circle", "--json")
        assert result.code == 0, result.err
        data = json.loads(result.out)
        video, poster = Path(data["path"]), Path(data["poster"])
        assert poster == video.with_suffix(".jpg")
        from PIL import Image

        from nemo_local.analysis import analyse
        drop = analyse(track20).drops[0]
        index = round(drop * 30) + 30
        info = probe(video)
        assert info.width and info.height
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
                              "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                             capture_output=True, check=True).stdout
        frame = np.frombuffer(raw, np.uint8).reshape(info.height, info.width, 3).astype(float)
        still = np.asarray(Image.open(poster).convert("RGB"), dtype=float)
        assert still.shape == frame.shape
        assert np.abs(still - frame).mean() < 6        # the same picture, give or take JPEG and H.264
        other = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf", "select=eq(n\\,5)",
                                "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                               capture_output=True, check=True).stdout
        assert np.abs(still - np.frombuffer(other, np.uint8).reshape(frame.shape)).mean() > \
            np.abs(still - frame).mean()

    def test_json_progress_lines_on_stderr(self, cli: Any, wav: Path) -> None:
        result = cli("make", wav, "--prompt", "bars", "--json")
        assert result.code == 0
        lines = [json.loads(line) for line in result.err.splitlines() if line.startswith('{"event"')]
        assert lines and all(line["event"] == "progress" for line in lines)
        assert lines[-1]["percent"] >= lines[0]["percent"]
        assert json.loads(result.out)["media"].startswith("MEDIA:")

    def test_a_cap_set_for_export_reaches_the_draft(self, cli: Any, wav: Path, tmp_path: Path) -> None:
        assert cli("upload", wav).code == 0 and cli("chat", "bars").code == 0
        result = cli("export", "--max-size", "2MB", "--json")
        assert result.code == 0, result.err
        assert Path(json.loads(result.out)["path"]).stat().st_size <= 2 * MB
        import sqlite3
        with sqlite3.connect(tmp_path / "backend" / "backend.sqlite3") as db:
            stored = json.loads(db.execute("SELECT draft FROM renders").fetchone()[0])
        assert stored["m"]["max_bytes"] == 2 * MB
        bad = cli("export", "--for", "myspace")
        assert bad.code == 2 and "say one of" in bad.err


class TestPreview:
    def test_preview_is_ten_small_seconds_around_the_drop_and_free(self, cli: Any, start_server: Any,
                                                                  tmp_path: Path, monkeypatch: Any,
                                                                  track20: Path) -> None:
        server = start_server(tmp_path / "preview", render_max_side=0, cloud_emulation=False)   # previews are local
        monkeypatch.setenv("NEMO_API_URL", server.url)
        assert cli("upload", track20).code == 0 and cli("chat", "bars, vertical").code == 0
        before = json.loads(cli("credits", "--json").out)["available"]
        result = cli("preview", "--json")
        assert result.code == 0, result.err
        data = json.loads(result.out)
        info = probe(Path(data["path"]))
        assert info.duration == pytest.approx(10, abs=0.1)
        assert (info.width, info.height) == (360, 640)
        assert json.loads(cli("credits", "--json").out)["available"] == before
        assert not Path(data["path"]).with_suffix(".jpg").exists()
        assert cli("export", "--resume").code == 2          # a preview is never "resumed" as the video

    def test_the_window_starts_before_the_drop_or_at_the_loudest_part(self) -> None:
        from nemo_local.render.engine import preview_window
        from nemo_local.render.timing import Timing
        frames = 900
        level = np.zeros(frames, np.float32)
        level[600:700] = 1
        timing = Timing(frames, 30, np.zeros(0, int), np.array([450]), np.zeros(frames), np.zeros(frames),
                        np.zeros(frames, bool), level, np.zeros((frames, 4)))
        assert preview_window(timing, 10) == range(360, 660)
        timing.drop_frames = np.zeros(0, int)
        window = preview_window(timing, 10)
        assert window.start <= 600 and window.stop >= 700 and len(window) == 300
        short = Timing(90, 30, np.zeros(0, int), np.zeros(0, int), np.zeros(90), np.zeros(90), np.zeros(90, bool),
                       np.zeros(90, np.float32), np.zeros((90, 4)))
        assert preview_window(short, 10) == range(0, 90)

    def test_preview_is_local_only(self, cli: Any, monkeypatch: Any) -> None:
        monkeypatch.setenv("NEMO_API_URL", "https://example.invalid")
        result = cli("preview")
        assert result.code == 2 and "local-only" in result.err

    def test_the_words_route_to_preview(self, cli: Any) -> None:
        assert cli("route", "show me first").out.strip() == "preview"
        assert cli("route", "can I see a preview before you export?").out.strip() == "preview"


def test_the_default_encoder_settings_keep_their_measured_bitrate(tmp_path: Path) -> None:
    """The defaults give the file size the encoder benchmark measured (bench/encoder_reference.json, recorded
    with the command it names), within 10 %: a change to the settings or the pictures that costs bytes shows."""
    import json
    import sys

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "bench"))
    from encoder_bench import REFERENCE, reference_render

    expected = json.loads(REFERENCE.read_text())["kbps"]
    _, kbps = reference_render(tmp_path)
    assert kbps == pytest.approx(expected, rel=0.10)
