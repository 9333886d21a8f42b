"""The local director: a user's words (English and the seeds' Chinese keywords) become draft edits."""

from __future__ import annotations

from typing import Any

import pytest

from nemo_local.director.turn import LOCAL_CAN, default_style, direct

AUDIO = {"file_id": "f_a", "filename": "song.mp3", "kind": "audio", "info": {"duration": 12.5}}
IMAGE = {"file_id": "f_i", "filename": "cover.jpg", "kind": "image", "info": {"width": 800, "height": 800}}
VIDEO = {"file_id": "f_v", "filename": "clip.mp4", "kind": "video", "info": {"duration": 9.0, "has_audio": True}}


def tracks(draft: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {t["tt"]: t for t in draft["t"]}


def first(text: str, files: list[dict[str, Any]] | None = None, style: str = "bars") -> dict[str, Any]:
    return direct(text, {}, files if files is not None else [AUDIO], style).draft


class TestFirstMessage:
    def test_builds_audio_and_visual_tracks_from_the_uploads(self) -> None:
        draft = first("make a video", [AUDIO, IMAGE])
        t = tracks(draft)
        assert t[1]["sg"][0] == {"id": "a1", "name": "song.mp3", "src": "f_a", "s": 0, "d": 12500, "v": 1.0}
        assert t[0]["sg"][0]["src"] == "f_i" and t[0]["sg"][0]["kind"] == "image"
        assert draft["d"] == 12500 and (draft["m"]["width"], draft["m"]["height"]) == (1920, 1080)

    def test_a_video_upload_lends_its_audio(self) -> None:
        assert tracks(first("make a video", [VIDEO]))[1]["sg"][0]["src"] == "f_v"

    def test_without_audio_it_asks_for_some(self) -> None:
        result = direct("make a video", {}, [IMAGE])
        assert result.draft["t"] == [] and "Upload an audio file" in result.reply

    @pytest.mark.parametrize(("text", "style"), [
        ("waveform animation", "wave"), ("an audiogram please", "wave"), ("mirrored bars", "bars"),
        ("circular spectrum", "circle"), ("spectrum analyser", "bars"), ("pulse rings", "rings"),
        ("particles!", "rings"), ("波形动画", "wave"), ("圆形频谱", "circle"),
    ])
    def test_styles(self, text: str, style: str) -> None:
        assert first(text)["m"]["style"] == style

    def test_default_style_follows_the_skill(self) -> None:
        assert default_style("video-a2e") == "wave" and default_style("music-to-video-ai") == "bars"
        assert first("make a video", style=default_style("video-a2e"))["m"]["style"] == "wave"

    @pytest.mark.parametrize(("text", "aspect", "size"), [
        ("for TikTok", "9:16", (1080, 1920)), ("vertical please", "9:16", (1080, 1920)),
        ("Reels", "9:16", (1080, 1920)),
        ("YouTube Shorts", "9:16", (1080, 1920)), ("square", "1:1", (1080, 1080)),
        ("for Instagram", "1:1", (1080, 1080)), ("YouTube", "16:9", (1920, 1080)), ("16:9", "16:9", (1920, 1080)),
        ("竖屏", "9:16", (1080, 1920)),
    ])
    def test_aspect_ratios(self, text: str, aspect: str, size: tuple[int, int]) -> None:
        meta = first(text)["m"]
        assert meta["aspect"] == aspect and (meta["width"], meta["height"]) == size

    @pytest.mark.parametrize(("text", "key", "value"), [
        ("neon", "accent", "#39ff14"), ("make it blue", "accent", "#1e88e5"), ("#FF0066 bars", "accent", "#ff0066"),
        ("red background", "background", "#e53935"),
    ])
    def test_colours(self, text: str, key: str, value: str) -> None:
        assert first(text)["m"][key] == value

    def test_title_with_timing_and_volume(self) -> None:
        draft = first('title "Urban Dreams" for 4 seconds, music at 35% volume')
        t = tracks(draft)
        assert t[7]["sg"][0] == {"id": "t1", "text": "Urban Dreams", "s": 0, "d": 4000}
        assert t[1]["sg"][0]["v"] == pytest.approx(0.35) and draft["m"]["title"] == "Urban Dreams"

    def test_toggles(self) -> None:
        meta = first("no beat sync, without drops, add a progress bar")["m"]
        assert (meta["beat_sync"], meta["drops"], meta["progress_bar"]) == (False, False, True)
        assert first("synced visuals and beat drops highlighted")["m"]["drops"] is True


class TestFollowUps:
    def test_edits_keep_the_rest_of_the_draft(self) -> None:
        start = first('bars, title "Night Drive" for 3 seconds', [AUDIO, IMAGE])
        red = direct("make it red", start, [AUDIO, IMAGE])
        assert red.draft["m"]["accent"] == "#e53935" and tracks(red.draft)[7] == tracks(start)[7]
        vertical = direct("switch to vertical", red.draft, [AUDIO, IMAGE])
        assert vertical.draft["m"]["aspect"] == "9:16" and vertical.draft["m"]["accent"] == "#e53935"
        untitled = direct("remove the title", vertical.draft, [AUDIO, IMAGE])
        assert 7 not in tracks(untitled.draft) and "title" not in untitled.draft["m"]
        assert "title removed" in untitled.reply

    def test_the_input_draft_is_not_changed(self) -> None:
        start = first("bars")
        direct("make it red", start, [AUDIO])
        assert start["m"]["accent"] != "#e53935"


def test_requests_beyond_local_mode_say_what_it_can_do() -> None:
    result = direct("add lip sync with an AI avatar", first("bars"), [AUDIO])
    assert "beyond what the local renderer does" in result.reply and LOCAL_CAN in result.reply
