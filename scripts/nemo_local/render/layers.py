"""The layers drawn over the backdrop: the drop's flash, the visualizer, sparks, titles and the progress bar.

Each prepares once from the `Scene` and paints one frame with `draw(frame, beat)`; see `compose` for the rules.
"""

from __future__ import annotations

import colorsys

import numpy as np

from nemo_local.draft import Kind
from nemo_local.render.colour import hex_rgb
from nemo_local.render.compose import FLASH_FROM, Beat, Colour, Scene
from nemo_local.render.frame import Frame, Overlay, text_overlay
from nemo_local.render.particles import Particles
from nemo_local.render.styles import STYLES, Moment, make_style

FLASH_LEVELS = 4
TITLE_FADE_MS = 250


def hot_colour(accent: str) -> str:
    """The colour a drop switches to: the accent's own family (a small hue step towards warmth), more saturated
    and brighter. Never the complement: "pink" must not flash mint green."""
    r, g, b = (c / 255 for c in hex_rgb(accent))
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    r2, g2, b2 = colorsys.hsv_to_rgb((h - 0.06) % 1.0, min(1.0, max(s, 0.55) * 1.15), min(1.0, max(v, 0.85) * 1.1))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * 255) for c in (r2, g2, b2)))


def bloom(height: int, width: int) -> np.ndarray:
    """A radial light, 1 in the centre and 0.35 in the corners: a drop lights the picture from the middle."""
    ys = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    return 1 - 0.65 * np.clip((xs**2 + ys**2) / 2, 0, 1)


def bloom_into(frame: Frame, colour: Colour, amount: float, glow: np.ndarray, glow_half: np.ndarray) -> None:
    """Brighten the picture in place (a screen-like lift: dark parts rise most, so it stays readable) and grade
    it a little towards the drop colour. Never a flat fill."""
    luma = frame.y.astype(np.float32)
    lift = ((colour[0] - 16) * (1 - (luma - 16) / 219) + (235 - luma) * 0.25) * amount * glow
    frame.y[:] = np.clip(luma + lift, 16, 235).astype(np.uint8)
    for plane, value in ((frame.u, colour[1]), (frame.v, colour[2])):
        plane[:] = np.clip(plane + (value - plane.astype(np.float32)) * amount * 0.6 * glow_half, 16, 240
                           ).astype(np.uint8)


def flash_levels(background: Frame, colour: Colour) -> list[Frame]:
    """The bloom of a still picture at each flash level, strongest last (drawn once, copied on drop frames)."""
    glow, glow_half = bloom(background.height, background.width), bloom(background.height // 2, background.width // 2)
    out = []
    for k in range(1, FLASH_LEVELS + 1):
        frame = Frame(background.width, background.height, background.data.copy())
        bloom_into(frame, colour, 0.55 * k / FLASH_LEVELS, glow, glow_half)
        out.append(frame)
    return out


class Flash:
    """The drop's bloom over whatever the layers below drew. A still picture's levels are drawn once."""

    def __init__(self, scene: Scene) -> None:
        self.colour = scene.hot
        self.glow = bloom(scene.height, scene.width)
        self.glow_half = bloom(scene.height // 2, scene.width // 2)
        self._still: tuple[int, list[Frame]] | None = None

    def draw(self, frame: Frame, beat: Beat) -> None:
        if not beat.flashing:
            return
        level = min(FLASH_LEVELS - 1, int((beat.drop - FLASH_FROM) / (1 - FLASH_FROM) * FLASH_LEVELS))
        if beat.still is not None:
            if self._still is None or self._still[0] != id(beat.still):
                self._still = (id(beat.still), flash_levels(beat.still, self.colour))
            frame.copy_from(self._still[1][level])
        else:
            bloom_into(frame, self.colour, 0.55 * (level + 1) / FLASH_LEVELS, self.glow, self.glow_half)
        beat.still = None   # the layers above see a flashing picture, not the still one

    def close(self) -> None:
        self._still = None


class Visualizer:
    """The chosen style (bars, wave, circle, rings), drawn over the pictures."""

    def __init__(self, scene: Scene) -> None:
        name = str(scene.meta.get("style", "bars"))
        timing = scene.timing
        self.style = make_style(name if name in STYLES else "bars", scene.width, scene.height,
                                timing.bands.shape[1], scene.fps)
        self.timing = timing

    def _moment(self, beat: Beat) -> Moment:
        i = beat.index
        return Moment(i, beat.samples, self.timing.bands[i], float(self.timing.level[i]), beat.pulse, beat.drop,
                      beat.colour, beat.dx, beat.dy, beat.still)

    def settle(self, beat: Beat) -> None:
        """See the frame without drawing it: the bars' fall, the wave's peak and the rings carry over frames."""
        self.style.settle(self._moment(beat))

    def draw(self, frame: Frame, beat: Beat) -> None:
        self.style.draw(frame, self._moment(beat))

    def close(self) -> None:
        pass


class Sparks:
    """Particles: a burst from the centre on every drop (and a few on beats in the rings style). Frame i shows the
    bursts of the frames before it whatever was drawn last: after a jump (a chunk that starts mid-video) the
    particles are replayed from the bursts still alive, so a chunk shows what a single pass shows."""

    def __init__(self, scene: Scene, on_beats: bool) -> None:
        self.particles = Particles(scene.width, scene.height, scene.fps)
        timing = scene.timing
        self.bursts: dict[int, tuple[int, float]] = {}
        if on_beats:
            self.bursts.update((int(i), (14, 0.35)) for i in np.flatnonzero(timing.pulse >= 0.999))
        for frame in timing.drop_frames if timing.drop.any() else ():
            strength = timing.strength_at(int(frame))    # a strong drop throws 260 sparks; a doubtful one fewer
            self.bursts[int(frame)] = (round(260 * strength), 0.9 * (0.5 + 0.5 * strength))
        self.last = -1

    def _advance(self, index: int) -> None:
        if index in self.bursts:
            self.particles.burst(index, *self.bursts[index])
        self.particles.step()

    def draw(self, frame: Frame, beat: Beat) -> None:
        if beat.index != self.last + 1:
            self.particles.clear()
            for earlier in range(max(0, beat.index - self.particles.lifetime), beat.index):
                self._advance(earlier)
        self._advance(beat.index)
        self.last = beat.index
        self.particles.paint(frame, beat.colour)

    def close(self) -> None:
        pass


class Titles:
    """The text track: each segment's text near the top, faded in and out over TITLE_FADE_MS."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.items: list[tuple[float, float, Overlay]] = [
            (float(seg.get("s", 0)), float(seg.get("d", 3000)),
             text_overlay(str(seg["text"]), scene.width, scene.height, anchor_y=0.1))
            for seg in scene.segments(Kind.TEXT) if seg.get("text") and seg.get("kind") != "lower_third"]

    def draw(self, frame: Frame, beat: Beat) -> None:
        now = self.scene.timeline_ms(beat.index)
        for start, length, overlay in self.items:
            if start <= now < start + length:
                overlay.blend(frame, max(0.0, min(1.0, (now - start) / TITLE_FADE_MS,
                                                  (start + length - now) / TITLE_FADE_MS)))

    def close(self) -> None:
        self.items = []


class ProgressBar:
    """A thin bar along the bottom edge in the accent colour, filling as the video plays."""

    def __init__(self, scene: Scene) -> None:
        self.width, self.height, self.origin = scene.width, scene.height, scene.origin
        self.frames = scene.timing.frames - scene.origin
        self.bar = max(4, scene.height // 120) & ~1

    def draw(self, frame: Frame, beat: Beat) -> None:
        filled = int(self.width * (beat.index - self.origin + 1) / self.frames) & ~1
        top = self.height - self.bar
        frame.y[top:, :filled] = int(beat.colour[0])
        frame.u[top // 2:, : filled // 2] = int(beat.colour[1])
        frame.v[top // 2:, : filled // 2] = int(beat.colour[2])

    def close(self) -> None:
        pass
