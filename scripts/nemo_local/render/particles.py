"""Sparks: the particles every style shares (bursts on drops, and on beats in the rings style)."""

from __future__ import annotations

import numpy as np

from nemo_local.render.frame import Frame
from nemo_local.render.styles import Colour, even


class Particles:
    """Sparks: bursts from the centre, falling and fading. Each burst's particles come from a generator seeded by
    the burst's frame, so what a frame shows depends on the bursts before it, not on which frames were drawn."""

    def __init__(self, width: int, height: int, fps: int, seed: int = 3) -> None:
        self.width, self.height, self.fps, self.seed = width, height, fps, seed
        self.size = max(2, even(min(width, height) / 270))
        offsets = np.arange(self.size)
        self.oy, self.ox = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
        self.clear()

    @property
    def lifetime(self) -> int:
        """Frames after which every particle of a burst is gone (life <= 1, less 1 / (1.6 fps) a frame)."""
        return int(np.ceil(1.6 * self.fps)) + 2

    def clear(self) -> None:
        self.pos = np.zeros((0, 2), np.float32)
        self.vel = np.zeros((0, 2), np.float32)
        self.life = np.zeros(0, np.float32)

    def burst(self, index: int, count: int, speed: float) -> None:
        rng = np.random.default_rng((self.seed, index))
        angle = rng.uniform(0, 2 * np.pi, count)
        magnitude = rng.uniform(0.3, 1.0, count) * speed * min(self.width, self.height) / self.fps
        centre = np.array([self.width / 2, self.height / 2], np.float32)
        self.pos = np.concatenate([self.pos, np.tile(centre, (count, 1))])[-800:]
        self.vel = np.concatenate([self.vel, np.stack([np.cos(angle), np.sin(angle)], 1) * magnitude[:, None]])[-800:]
        self.life = np.concatenate([self.life, rng.uniform(0.6, 1.0, count).astype(np.float32)])[-800:]

    def step(self) -> None:
        """One frame on: move, fall, fade; the dead and the gone-off-frame are dropped."""
        if len(self.life) == 0:
            return
        self.pos += self.vel
        self.vel[:, 1] += 0.15 * self.height / self.fps / self.fps * 30
        self.vel *= 0.985
        self.life -= 1.0 / (1.6 * self.fps)
        alive = (self.life > 0) & (self.pos[:, 0] >= 0) & (self.pos[:, 0] < self.width - self.size) \
            & (self.pos[:, 1] >= 0) & (self.pos[:, 1] < self.height - self.size)
        self.pos, self.vel, self.life = self.pos[alive], self.vel[alive], self.life[alive]

    def paint(self, frame: Frame, colour: Colour) -> None:
        if len(self.life) == 0:
            return
        xs = (self.pos[:, 0].astype(int) & ~1)[:, None] + self.ox[None, :]
        ys = (self.pos[:, 1].astype(int) & ~1)[:, None] + self.oy[None, :]
        luma = (16 + (min(235.0, colour[0] + 60) - 16) * self.life)[:, None].repeat(len(self.ox), 1)
        frame.y[ys.ravel(), xs.ravel()] = np.maximum(frame.y[ys.ravel(), xs.ravel()], luma.ravel().astype(np.uint8))
        frame.u[ys.ravel() // 2, xs.ravel() // 2] = int(colour[1])
        frame.v[ys.ravel() // 2, xs.ravel() // 2] = int(colour[2])
