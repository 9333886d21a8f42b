"""Frame i is drawn from the frame index alone: what a layer shows at a frame does not depend on which frames were
drawn before it, so a render cut into chunks that start mid-video shows what a single pass shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nemo_local.draft import new_draft
from nemo_local.render.compose import Beat, Scene, beats
from nemo_local.render.frame import Frame
from nemo_local.render.layers import Sparks
from nemo_local.render.timing import Timing, _envelope

FPS, WIDTH, HEIGHT, FRAMES = 30, 320, 180, 240
ACCENT, HOT = (180.0, 90.0, 160.0), (200.0, 60.0, 200.0)


def timing(beat_every: int = 15, drops: tuple[int, ...] = (40, 52, 150)) -> Timing:
    beat_frames = np.arange(0, FRAMES, beat_every)
    drop_frames = np.array(drops)
    return Timing(FRAMES, FPS, beat_frames, drop_frames, _envelope(beat_frames, FRAMES, 6.0),
                  _envelope(drop_frames, FRAMES, 24.0), np.zeros(FRAMES, bool), np.full(FRAMES, 0.5, np.float32),
                  np.full((FRAMES, 8), 0.5, np.float32))


def scene(t: Timing) -> Scene:
    return Scene(WIDTH, HEIGHT, FPS, t, new_draft([], FRAMES * 1000 // FPS, {}), {}, Path("unused.wav"), False,
                 ACCENT, HOT)


def drawn(layer: Sparks, beat_at: object, indices: range) -> dict[int, bytes]:
    out = {}
    for i in indices:
        frame = Frame(WIDTH, HEIGHT)
        beat = beat_at(i, np.zeros(FPS))  # type: ignore[operator]
        layer.draw(frame, beat)
        out[i] = frame.data.tobytes()
    return out


@pytest.mark.parametrize("on_beats", [False, True])
@pytest.mark.parametrize("start", [41, 45, 53, 100, 151])
def test_sparks_from_a_chunk_start_are_the_single_pass_sparks(on_beats: bool, start: int) -> None:
    t = timing()
    at = beats(t, ACCENT, HOT, WIDTH, HEIGHT)
    single = drawn(Sparks(scene(t), on_beats), at, range(FRAMES))
    chunk = drawn(Sparks(scene(t), on_beats), at, range(start, FRAMES))
    assert any(single[i] != Frame(WIDTH, HEIGHT).data.tobytes() for i in range(start, FRAMES))  # sparks in the chunk
    assert all(chunk[i] == single[i] for i in range(start, FRAMES))


def test_sparks_after_a_jump_back_are_the_frames_first_drawn() -> None:
    t = timing()
    at = beats(t, ACCENT, HOT, WIDTH, HEIGHT)
    layer = Sparks(scene(t), on_beats=True)
    first = drawn(layer, at, range(30, 70))
    again = drawn(layer, at, range(45, 70))          # the same layer sent back, as a retried chunk would be
    assert all(again[i] == first[i] for i in range(45, 70))


def test_each_drop_bursts_its_own_sparks() -> None:
    t = timing(drops=(40, 150))
    at = beats(t, ACCENT, HOT, WIDTH, HEIGHT)
    frames = drawn(Sparks(scene(t), on_beats=False), at, range(FRAMES))
    assert frames[45] != frames[155]                  # seeded per burst: two drops do not throw the same sparks


def test_the_shake_at_a_frame_is_the_same_in_any_order() -> None:
    t = timing()
    at = beats(t, ACCENT, HOT, 1920, 1080)
    forward: dict[int, Beat] = {i: at(i, np.zeros(1)) for i in range(FRAMES)}
    backward: dict[int, Beat] = {i: at(i, np.zeros(1)) for i in reversed(range(FRAMES))}
    shaken = [i for i in range(FRAMES) if (forward[i].dx, forward[i].dy) != (0, 0)]
    assert shaken and len({(forward[i].dx, forward[i].dy) for i in shaken}) > 3
    assert all((forward[i].dx, forward[i].dy) == (backward[i].dx, backward[i].dy) for i in range(FRAMES))
