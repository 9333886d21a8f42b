"""The backdrop layer: the video track (tt=0) drawn under everything else.

One picture (or none) is a still background, drawn once: the uploaded image, else the audio's cover art,
else a dithered gradient. Several pictures, or any video clip, are shots on the timeline: each segment's
`s` and `d` (ms) say when it shows; stills pan slowly, clips play; the cut is hard (on the beat the director
chose), a short crossfade or a flash-cut (`m.transition`). At most the current and the next shot are decoded
at once: the next one is prepared on a helper thread while the current one plays.
"""

from __future__ import annotations

import bisect
import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nemo_local.draft import Kind
from nemo_local.media import procs
from nemo_local.media.ffmpeg import probe
from nemo_local.render.base import RenderError
from nemo_local.render.compose import Beat, Scene
from nemo_local.render.frame import Frame, Stage, frost, gradient_background, image_background, squareish
from nemo_local.render.layers import bloom, bloom_into
from nemo_local.render.pictures import Clip, Still

CROSSFADE_FRAMES = 8
FLASH_CUT_FRAMES = 5
VISUAL_KINDS = ("image", "video")


@dataclass
class Shot:
    start: int            # first frame
    end: int              # one past the last frame
    kind: str             # "image" or "video"
    path: Path
    number: int           # the shot's place on the timeline (sets the pan direction)


def shots(scene: Scene) -> list[Shot]:
    """The video track's picture segments as frame ranges: each runs until the next one starts."""
    fps, frames = scene.fps, scene.timing.frames
    found = []
    for seg in scene.segments(Kind.VIDEO):
        path = scene.sources.get(str(seg.get("src")))
        if path is None or seg.get("kind") not in VISUAL_KINDS:
            continue
        start = scene.origin + round(float(seg.get("s", 0) or 0) * fps / 1000)
        if scene.origin <= start < frames:
            found.append((start, str(seg["kind"]), path))
    found.sort(key=lambda item: item[0])
    out: list[Shot] = []
    for number, (start, kind, path) in enumerate(found):
        if out and start <= out[-1].start:
            continue
        if out:
            out[-1].end = start
        out.append(Shot(start, frames, kind, path, number))
    if out:
        out[0].start = 0     # the first shot also covers anything before it (and a preview from the middle)
    return out


FROST = 1 / 135          # the frosted panel's blur radius, as a share of the frame's height (8 px at 1080)


def still_background(scene: Scene, stage: Stage | None = None) -> Frame:
    """The one picture, else the audio's cover art, else a gradient. A square picture is cover art: shown whole
    over a blurred fill; a photo fills the frame, frosted where the visualizer draws (`stage`) unless the draft
    says `m.frost` false."""
    visual = (scene.segments(Kind.VIDEO) or [{}])[0]
    path = scene.sources.get(str(visual.get("src")))
    width, height = scene.width, scene.height
    if path is not None:
        info = probe(path)
        square = bool(info.width and info.height and squareish(info.width / info.height))
        picture = image_background(path, width, height, dim=0.55, fit=square)
        if stage is not None and not square and scene.meta.get("frost", True) is not False:
            frost(picture, stage, height * FROST)
        return picture
    if scene.meta.get("cover", True) and scene.has_cover:
        try:
            return image_background(scene.audio, width, height, dim=0.6, fit=True)
        except RenderError:
            pass
    return gradient_background(width, height, str(scene.meta.get("background", "#0d1321")))


class Backdrop:
    """The video track. `stage` is where the visualizer draws over it (None: no visualizer)."""

    def __init__(self, scene: Scene, stage: Stage | None) -> None:
        self.scene = scene
        self.shots = shots(scene)
        moving = len(self.shots) > 1 or any(shot.kind == "video" for shot in self.shots)
        self.still = None if moving else still_background(scene, stage)
        self.dim = 0.72 if stage is not None else 1.0      # pictures step back under the visualizer
        self.transition = str(scene.meta.get("transition", "cut"))
        self.starts = [shot.start for shot in self.shots]
        self.current: tuple[int, Still | Clip] | None = None
        self.previous: Still | Clip | None = None
        self.scratch = Frame(scene.width, scene.height) if self.transition == "crossfade" and moving else None
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pictures") if moving else None
        self.next: tuple[int, Future[Still | Clip]] | None = None
        self.group = procs.current()
        if moving:
            self.glow = bloom(scene.height, scene.width), bloom(scene.height // 2, scene.width // 2)

    def _open(self, number: int, skip: int = 0) -> Still | Clip:
        shot, scene = self.shots[number], self.scene
        frames = shot.end - shot.start
        with procs.tracked(self.group) if self.group is not None else contextlib.nullcontext():
            if shot.kind == "video":
                return Clip(shot.path, scene.width, scene.height, frames + CROSSFADE_FRAMES, scene.fps, self.dim,
                            skip)
            return Still(shot.path, scene.width, scene.height, frames + CROSSFADE_FRAMES, shot.number, self.dim)

    def _prefetch(self, number: int) -> None:
        if self.pool is not None and number < len(self.shots) and (self.next is None or self.next[0] != number):
            self.next = (number, self.pool.submit(self._open, number))

    def _enter(self, number: int, k: int) -> Still | Clip:
        """Shot `number`, `k` frames in. After the shot before it (k is 0) that shot stays for the crossfade;
        after a jump (a chunk that starts mid-video) the pictures are opened where the frame needs them."""
        follows = k == 0 and self.current is not None and self.current[0] == number - 1
        if self.next is not None and self.next[0] == number and k == 0:
            picture = self.next[1].result()
            self.next = None
        else:
            picture = self._open(number, k)
        if self.previous is not None:
            self.previous.close()
            self.previous = None
        if follows and self.current is not None:
            self.previous = self.current[1]
        elif self.current is not None:
            self.current[1].close()
        if not follows and number > 0 and k < CROSSFADE_FRAMES:
            before = self.shots[number - 1]
            self.previous = self._open(number - 1, self.shots[number].start + k - before.start)
        self.current = (number, picture)
        return picture

    def draw(self, frame: Frame, beat: Beat) -> None:
        if self.still is not None:
            frame.copy_from(self.still)
            beat.still = self.still
            return
        i = beat.index
        number = bisect.bisect_right(self.starts, i) - 1
        fresh = self.current is None or self.current[0] != number
        shot = self.shots[number]
        k = i - shot.start
        picture = self._enter(number, k) if fresh or self.current is None else self.current[1]
        picture.draw(k, frame, beat.dx, beat.dy)
        if k >= CROSSFADE_FRAMES and self.previous is not None:
            self.previous.close()
            self.previous = None
        if k >= CROSSFADE_FRAMES or self.previous is None:
            self._prefetch(number + 1)
        if self.previous is None or number == 0:
            return
        if self.transition == "crossfade" and self.scratch is not None and k < CROSSFADE_FRAMES:
            before = self.shots[number - 1]
            self.previous.draw(i - before.start, self.scratch)
            a = (k + 1) / (CROSSFADE_FRAMES + 1)
            frame.data[:] = (self.scratch.data * (1 - a) + frame.data * a).astype(np.uint8)
        elif self.transition == "flash" and k < FLASH_CUT_FRAMES:
            bloom_into(frame, (235.0, 128.0, 128.0), 0.7 * (1 - k / FLASH_CUT_FRAMES), *self.glow)

    def close(self) -> None:
        """Stop the helper thread and every decoder. Runs after errors too, so it never raises: the error that
        stopped the render is the one the user sees."""
        if self.next is not None:
            self.next[1].cancel()
            with contextlib.suppress(Exception):
                if not self.next[1].cancelled():
                    self.next[1].result().close()
        for picture in (self.previous, self.current[1] if self.current else None):
            if picture is not None:
                with contextlib.suppress(Exception):
                    picture.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)

