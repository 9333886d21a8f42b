"""Drops the user can see and correct: the reply names the drops found, the words place, move and remove them
(and change nothing else), each drop has a strength the pictures scale with, and the renderer shows exactly the
drops the draft says."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nemo_local.analysis.structure import BAR_RISE_DB, GRADE_FLOOR, GRADE_SPAN_DB, grade
from nemo_local.director.montage import Rhythm
from nemo_local.director.turn import direct
from nemo_local.draft import DROP_MOVE_MS, DROP_OFF_MS, DraftInvalid, clock, drops_of, meta_of, validate
from nemo_local.render.compose import Scene, beats
from nemo_local.render.frame import Frame
from nemo_local.render.layers import Flash, Sparks
from nemo_local.render.timing import Timing, _envelope
from nemo_skill.timeline import summarize
from test_render import brightness_jumps, draft, luma_frames, render

SONG = {"file_id": "f_song", "filename": "song.mp3", "kind": "audio", "info": {"duration": 180.0}}
FOUND = [(56.0, 0.95), (136.4, 0.62)]


def rhythm(_: dict[str, Any]) -> Rhythm:
    return Rhythm([i * 0.5 for i in range(360)], [t for t, _ in FOUND], [55.0, 135.0], [False, True, True],
                  drop_strength=[g for _, g in FOUND])


def say(*messages: str) -> tuple[dict[str, Any], list[str]]:
    current: dict[str, Any] = {}
    replies = []
    for text in messages:
        result = direct(text, current, [SONG], "bars", rhythm)
        current, replies = result.draft, [*replies, result.reply]
    return current, replies


DROP_KEYS = {"drops", "drops_at", "drops_off", "drops_only", "drops_shown"}


def without_drops(d: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(d)
    for key in DROP_KEYS:
        out["m"].pop(key, None)
    return out


class TestTheReplyNamesTheDrops:
    def test_the_first_reply_lists_the_drops_found_with_their_times_and_strength(self) -> None:
        made, (reply,) = say("bars, neon")
        assert "Drops at 0:56 and 2:16.4 (subtle)" in reply
        assert meta_of(made)["drops_shown"] == [56000, 136400]
        assert summarize(made).endswith("Drops: 0:56, 2:16.4.")

    def test_no_drop_found_says_how_to_place_one(self) -> None:
        result = direct("bars", {}, [SONG], "bars", lambda _: Rhythm([0.5, 1.0], [], [], [False]))
        assert "No drop found" in result.reply and "the drop is at 1:23" in result.reply
        assert "Drops:" not in summarize(result.draft)

    def test_a_turn_that_does_not_touch_the_drops_does_not_repeat_them(self) -> None:
        _, replies = say("bars", "red")
        assert "Drop" not in replies[1]


class TestTheWordsChangeOnlyTheDrops:
    @pytest.mark.parametrize(("words", "shown"), [
        ("the drop is at 1:23", [56000, 83000, 136400]),          # placed where none was found
        ("the drop is at 0:58", [58000, 136400]),                 # moves the one found 2 s before
        ("drops at 0:45 and 2:10", [45000, 130000]),              # exactly these
        ("no drop at 2:16", [56000]),                             # the one found there goes
        ("remove the drop at 55 s", [136400]),
        ("高潮在1:05", [56000, 65000, 136400]),
    ])
    def test_a_drop_phrase(self, words: str, shown: list[int]) -> None:
        before, _ = say("bars, neon")
        after, (_, reply) = say("bars, neon", words)
        assert meta_of(after)["drops_shown"] == shown
        assert without_drops(after) == without_drops(before)        # nothing but the drops changed
        assert meta_of(after)["drops"] is True
        assert "Drop" in reply and all(clock(t) in reply for t in shown)

    def test_no_drops_turns_them_off_and_back(self) -> None:
        before, _ = say("bars, neon")
        off, _ = say("bars, neon", "no drops")
        assert meta_of(off)["drops"] is False and without_drops(off) == without_drops(before)
        assert "Drops:" not in summarize(off)
        back, (_, _, reply) = say("bars, neon", "no drops", "put the drops back")
        assert meta_of(back)["drops_shown"] == [56000, 136400] and "Drops at 0:56" in reply

    def test_no_drop_at_a_time_is_not_no_drops(self) -> None:
        after, _ = say("bars", "no drop at 0:56")
        assert meta_of(after)["drops"] is True and meta_of(after)["drops_shown"] == [136400]

    def test_removing_a_placed_drop_takes_it_back(self) -> None:
        after, _ = say("bars", "the drop is at 1:23", "no drop at 1:23")
        assert meta_of(after)["drops_shown"] == [56000, 136400]
        assert "drops_at" not in meta_of(after) and "drops_off" not in meta_of(after)


class TestTheRules:
    def test_drops_of(self) -> None:
        assert drops_of({}, FOUND) == FOUND
        assert drops_of({"drops": False, "drops_at": [1000]}, FOUND) == []
        near, far = 56000 + DROP_MOVE_MS - 500, 56000 + DROP_MOVE_MS + 500
        assert drops_of({"drops_at": [near]}, FOUND) == [(near / 1000, 1.0), FOUND[1]]
        assert drops_of({"drops_at": [far]}, FOUND) == [FOUND[0], (far / 1000, 1.0), FOUND[1]]
        assert drops_of({"drops_off": [56000 + DROP_OFF_MS - 100]}, FOUND) == [FOUND[1]]
        assert drops_of({"drops_off": [56000 + DROP_OFF_MS + 100]}, FOUND) == FOUND
        assert drops_of({"drops_only": True, "drops_at": [7000]}, FOUND) == [(7.0, 1.0)]

    def test_strength_grows_with_the_rise_between_a_floor_and_full(self) -> None:
        rises = np.linspace(BAR_RISE_DB, BAR_RISE_DB + 2 * GRADE_SPAN_DB, 20)
        grades = [grade(r) for r in rises]
        assert grades[0] == GRADE_FLOOR and grades[-1] == 1.0 and grades == sorted(grades)
        assert grade(BAR_RISE_DB + GRADE_SPAN_DB / 2) == pytest.approx((GRADE_FLOOR + 1) / 2, abs=0.01)

    def test_the_schema_takes_drop_times_and_refuses_bad_ones(self) -> None:
        good = {"t": [], "d": 1000, "m": {"drops_at": [1000, 83000], "drops_off": [], "drops_only": True}}
        assert validate(good) == good
        for bad in ({"drops_at": [-5]}, {"drops_at": ["1:23"]}, {"drops_off": [0.5]}, {"drops_at": [0] * 51}):
            with pytest.raises(DraftInvalid, match=r"draft\.m\.drops_"):
                validate({"t": [], "d": 1000, "m": bad})


FPS, W, H, FRAMES = 30, 320, 180, 120


def drawn(strength: float) -> tuple[float, int]:
    """The mean luma a drop of this strength adds to a grey picture at its frame, and the sparks alive after."""
    drops = np.array([30])
    timing = Timing(FRAMES, FPS, np.zeros(0, int), drops, np.zeros(FRAMES, np.float32),
                    _envelope(drops, FRAMES, 21.0, np.array([strength], np.float32)), np.zeros(FRAMES, bool),
                    np.full(FRAMES, 0.5, np.float32), np.zeros((FRAMES, 8), np.float32),
                    np.array([strength], np.float32))
    scene = Scene(W, H, FPS, timing, {"t": [], "d": 4000, "m": {}}, {}, Path("unused.wav"), False,
                  (120.0, 128.0, 128.0), (200.0, 90.0, 170.0))
    at = beats(timing, scene.accent, scene.hot, W, H)
    frame = Frame(W, H)
    frame.data[:] = 100
    Flash(scene).draw(frame, at(30, np.zeros(400)))
    sparks = Sparks(scene, on_beats=False)
    for i in range(30, 33):
        sparks.draw(Frame(W, H), at(i, np.zeros(400)))
    return float(frame.y.mean()) - 100, len(sparks.particles.life)


def test_the_drop_strength_scales_the_picture() -> None:
    strong, subtle = drawn(1.0), drawn(0.6)
    assert strong[0] > subtle[0] > 0          # a smaller lift, still a lift
    assert strong[1] > subtle[1] > 0          # fewer sparks


@pytest.mark.slow
class TestTheRendererShowsTheDraftsDrops:
    def test_a_placed_drop_flashes_and_a_removed_one_does_not(self, tmp_path: Path, music: tuple[Path, Any]) -> None:
        audio, track = music
        found = round(track.drop * FPS)
        placed = 2.0
        edited = draft("wave")
        edited["m"].update(drops_at=[int(placed * 1000)], drops_off=[int(track.drop * 1000)])
        jumps = brightness_jumps(luma_frames(render(tmp_path, audio, edited)))
        plain = brightness_jumps(luma_frames(render(tmp_path, audio, draft("wave"), name="plain.mp4")))
        at = round(placed * FPS)
        assert jumps[at - 1: at + 2].max() > 3 * np.median(np.abs(plain))       # the placed drop flashes
        assert jumps[found - 1: found + 2].max() < 0.5 * plain[found - 1: found + 2].max()   # the found one is gone


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from nemo_local.media.synth import demo_track, write_wav

    track = demo_track(seconds=8.0, bpm=120.0, drop_at=5.0, rate=22050)
    return write_wav(tmp_path_factory.mktemp("music") / "music.wav", track.samples, track.rate), track
