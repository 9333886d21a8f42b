"""The visual styles, drawn straight into yuv420p planes with numpy: waveform line, mirrored bars, circular
spectrum, pulse rings; and the particles every style shares. Each draws only inside its own region.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nemo_local.render.frame import Frame, Stage

Colour = tuple[float, float, float]


@dataclass
class Moment:
    """What a style needs to draw one frame."""

    index: int
    samples: np.ndarray     # this frame's audio, mono, -1..1
    bands: np.ndarray       # spectrum 0..1, smoothed
    level: float            # loudness 0..1
    pulse: float            # beat envelope 0..1
    drop: float             # drop envelope 0..1
    colour: Colour          # YUV of the accent in use
    dx: int = 0             # shake offset, even pixels
    dy: int = 0
    backdrop: Frame | None = None   # the still background under this frame, when it is not flashing


def even(value: float) -> int:
    return int(value) & ~1


def brighten(colour: Colour, amount: float) -> Colour:
    return min(235.0, colour[0] + amount), colour[1], colour[2]


def paint(frame: Frame, top: int, left: int, mask: np.ndarray, colour: Colour, alpha: float = 1.0,
          half: np.ndarray | None = None) -> None:
    """Colour the masked pixels of the region at (top, left); both even. `half` is the chroma mask if known."""
    h, w = mask.shape
    top, left = max(0, min(top, frame.height - h)) & ~1, max(0, min(left, frame.width - w)) & ~1
    y_region = frame.y[top: top + h, left: left + w]
    half_mask = mask[::2, ::2] if half is None else half
    u_region = frame.u[top // 2: top // 2 + half_mask.shape[0], left // 2: left // 2 + half_mask.shape[1]]
    v_region = frame.v[top // 2: top // 2 + half_mask.shape[0], left // 2: left // 2 + half_mask.shape[1]]
    if alpha >= 0.999:
        y_region[mask] = int(colour[0])
        u_region[half_mask] = int(colour[1])
        v_region[half_mask] = int(colour[2])
        return
    for region, m, value in ((y_region, mask, colour[0]), (u_region, half_mask, colour[1]),
                             (v_region, half_mask, colour[2])):
        picked = region[m].astype(np.float32)
        region[m] = (picked + (value - picked) * alpha).astype(np.uint8)


def upscale2(mask: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1)


class Wave:
    """The waveform as a mirrored, translucent filled shape across the frame with a bright anti-aliased line
    through it: the fill shows the loudness at a glance, the line the sound itself; both swell on beats.

    Speed: the fill copies pixels from a cached tinted copy of the still background under a mask (no per-pixel
    arithmetic), and the line blends only the pixels it covers, from a half-resolution coverage map."""

    FILL_LEVELS = 4

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.left = even(width * 0.05)
        self.cols = (width - 2 * self.left) // 2                             # half-resolution columns
        self.amp = height * (0.3 if height <= width else 0.16)
        self.thick = max(2.0, height / 260)
        self.pad = even(self.amp * 1.4 + 4 * self.thick + 4) & ~3
        self.rows = (np.arange(-self.pad, self.pad, 2, dtype=np.float32) + 1)[:, None]   # full-res offsets
        self.full_rows = np.abs(np.arange(-self.pad, self.pad, dtype=np.float32) + 0.5)[:, None]
        self.peak = 0.05
        ends = np.minimum(np.arange(self.cols + 1), np.arange(self.cols, -1, -1)) / (self.cols * 0.05)
        self.taper = (np.sin(np.clip(ends, 0, 1) * np.pi / 2) ** 2).astype(np.float32)   # narrow at both ends
        self._tinted: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}
        reach = int(self.amp * 0.9)                                       # where the wave spends most of its time
        self.stage = Stage(even(height / 2) - reach, self.left, even(height / 2) + reach, width - self.left, reach // 2)

    def _fill(self, frame: Frame, top: int, left: int, envelope: np.ndarray, m: Moment, alpha: float) -> None:
        width = 2 * self.cols
        if not (top >= 0 and top + 2 * self.pad <= self.height and left >= 0 and left + width <= self.width):
            return
        mask = self.full_rows <= np.repeat(envelope, 2)[None, :]
        level = min(self.FILL_LEVELS - 1, int(alpha * self.FILL_LEVELS / 0.7))
        rows, cols = slice(top, top + 2 * self.pad), slice(left, left + width)
        half_rows, half_cols = slice(top // 2, top // 2 + self.pad), slice(left // 2, left // 2 + self.cols)
        source = m.backdrop or frame
        key = (id(m.backdrop), top, left, level, *(int(c) for c in m.colour))
        strip = self._tinted.get(key) if m.backdrop is not None else None
        if strip is None:
            a = (level + 1) / self.FILL_LEVELS * 0.7
            strip = tuple((plane[r, c] * (1 - a) + value * a).astype(np.uint8)
                          for plane, r, c, value in ((source.y, rows, cols, m.colour[0]),
                                                     (source.u, half_rows, half_cols, m.colour[1]),
                                                     (source.v, half_rows, half_cols, m.colour[2])))
            if m.backdrop is not None:
                if len(self._tinted) >= 2 * self.FILL_LEVELS:
                    self._tinted.pop(next(iter(self._tinted)))
                self._tinted[key] = strip
        np.copyto(frame.y[rows, cols], strip[0], where=mask)
        half = mask[::2, ::2]
        np.copyto(frame.u[half_rows, half_cols], strip[1], where=half)
        np.copyto(frame.v[half_rows, half_cols], strip[2], where=half)

    def settle(self, m: Moment) -> None:
        """Carry the frame's state (the slowly falling peak the line is scaled by) without drawing. Any peak
        older than SETTLE_FRAMES has fallen under the floor, so a render that starts mid-video and settles that
        many frames first draws what a single pass draws."""
        s = m.samples
        self.peak = max(float(np.abs(s).max()) if len(s) else 0.0, self.peak * 0.97, 0.05)

    def draw(self, frame: Frame, m: Moment) -> None:
        self.settle(m)
        s = m.samples
        xs = np.linspace(0, len(s) - 1, self.cols + 1)
        smooth = np.convolve(s, np.ones(5, np.float32) / 5, mode="same")
        curve = self.taper * np.interp(xs, np.arange(len(s)), smooth).astype(np.float32) / self.peak
        ys = curve * self.amp * (0.7 + 0.45 * m.pulse + 0.2 * m.drop) * min(1.0, 0.25 + m.level)
        envelope = np.convolve(np.abs(ys), np.ones(9, np.float32) / 9, mode="same")[:-1]
        top = even(self.height / 2 - self.pad + m.dy)
        left = even(self.left + m.dx)
        self._fill(frame, top, left, envelope, m, 0.2 + 0.35 * m.pulse)
        lo = np.minimum(ys[:-1], ys[1:])[None, :]
        hi = np.maximum(ys[:-1], ys[1:])[None, :]
        distance = np.maximum(np.maximum(lo - self.rows, self.rows - hi), 0)
        sparse_blend(frame, top, left, coverage(self.thick * (1 + 0.8 * m.pulse) - distance),
                     brighten(m.colour, 60 * m.pulse))


class Bars:
    """Mirrored spectrum bars: bass in the middle, treble at the edges, with a faint reflection below."""

    def __init__(self, width: int, height: int, bands: int) -> None:
        self.width, self.height = width, height
        count = bands * 2
        area = even(width * 0.86)
        self.left = even((width - area) / 2)
        pitch = area / count
        cols = np.arange(area)
        bar = np.minimum((cols / pitch).astype(int), count - 1)
        self.band_of_col = np.where(bar < bands, bands - 1 - bar, bar - bands)
        self.solid = (cols - bar * pitch) < pitch * 0.72
        self.max_h = even(height * (0.3 if height <= width else 0.2))
        self.dist = np.arange(self.max_h, 0, -1, dtype=np.float32)[:, None]      # rows above the centre line
        self.reflect = np.arange(1, even(self.max_h / 2) + 1, dtype=np.float32)[:, None]
        self.smooth = np.zeros(bands, np.float32)
        self._tinted: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}
        self.centre = even(height / 2 + self.max_h * 0.25)                    # the bars' baseline
        self.stage = Stage(self.centre - self.max_h, self.left, self.centre + int(self.max_h * 0.4),
                           self.left + area, self.max_h // 6)

    def _reflection(self, frame: Frame, top: int, mask: np.ndarray, m: Moment) -> None:
        """The reflection is the backdrop tinted 28 % towards the colour: that strip is blended once per colour
        and place, then copied under the mask."""
        left = self.left + m.dx
        h, w = mask.shape
        if m.backdrop is None or left < 0 or left + w > self.width or top < 0 or top + h > self.height:
            paint(frame, top, left, mask, m.colour, 0.28)
            return
        key = (top, left, *(int(c) for c in m.colour))
        strip = self._tinted.get(key)
        if strip is None:
            if len(self._tinted) >= 8:
                self._tinted.pop(next(iter(self._tinted)))
            full = len(self.reflect)                     # the tallest reflection; a frame's mask may be shorter
            rows, cols = slice(top, top + full), slice(left, left + w)
            half_rows, half_cols = slice(top // 2, (top + full) // 2), slice(left // 2, (left + w) // 2)
            strip = tuple(
                (plane[r, c] * 0.72 + value * 0.28).astype(np.uint8)
                for plane, r, c, value in ((m.backdrop.y, rows, cols, m.colour[0]),
                                           (m.backdrop.u, half_rows, half_cols, m.colour[1]),
                                           (m.backdrop.v, half_rows, half_cols, m.colour[2])))
            self._tinted[key] = strip
        half = mask[::2, ::2]
        np.copyto(frame.y[top: top + h, left: left + w], strip[0][:h], where=mask)   # (2x faster than mask indexing)
        np.copyto(frame.u[top // 2: (top + h) // 2, left // 2: (left + w) // 2], strip[1][: h // 2], where=half)
        np.copyto(frame.v[top // 2: (top + h) // 2, left // 2: (left + w) // 2], strip[2][: h // 2], where=half)

    def settle(self, m: Moment) -> None:
        """The bars fall 18 % a frame from their last height (0.82^SETTLE_FRAMES is under 1e-8)."""
        self.smooth = np.maximum(m.bands, self.smooth * 0.82)

    def draw(self, frame: Frame, m: Moment) -> None:
        self.settle(m)
        gain = self.max_h * (0.7 + 0.35 * m.pulse)
        levels = np.minimum(4 + self.smooth**1.6 * gain, self.max_h)  # a soft knee: loud parts do not all hit the top
        heights = levels[self.band_of_col][None, :]
        centre = self.centre + m.dy
        # Only the rows the tallest bar reaches are looked at (an even count, so chroma rows stay aligned).
        tallest = min(self.max_h, (int(np.ceil(float(heights.max()))) + 1) & ~1)
        up = (self.dist[self.max_h - tallest:] <= heights) & self.solid
        paint(frame, centre - tallest, self.left + m.dx, up, brighten(m.colour, 60 * m.pulse))
        deepest = min(len(self.reflect), (int(np.ceil(float(heights.max()) * 0.4)) + 1) & ~1)
        down = (self.reflect[:deepest] <= heights * 0.4) & self.solid
        self._reflection(frame, centre, down, m)


def coverage(signed_distance: np.ndarray, pixel: float = 2.0) -> np.ndarray:
    """Anti-aliased coverage from a signed distance in full-resolution pixels (inside > 0), for a grid whose
    pixels are `pixel` wide."""
    return np.clip(signed_distance / pixel + 0.5, 0.0, 1.0)


def blend(frame: Frame, top: int, left: int, alpha_half: np.ndarray, colour: Colour) -> None:
    """Blend the colour in by a half-resolution coverage map (upscaled for luma), only where it is non-zero."""
    h, w = alpha_half.shape
    top, left = max(0, min(top, frame.height - 2 * h)) & ~1, max(0, min(left, frame.width - 2 * w)) & ~1
    half_mask = alpha_half > 0.01
    if not half_mask.any():
        return
    full = upscale2(alpha_half)
    mask = upscale2(half_mask)
    y_region = frame.y[top: top + 2 * h, left: left + 2 * w]
    picked = y_region[mask].astype(np.float32)
    y_region[mask] = (picked + (colour[0] - picked) * full[mask]).astype(np.uint8)
    a = alpha_half[half_mask]
    for plane, value in ((frame.u, colour[1]), (frame.v, colour[2])):
        region = plane[top // 2: top // 2 + h, left // 2: left // 2 + w]
        picked = region[half_mask].astype(np.float32)
        region[half_mask] = (picked + (value - picked) * a).astype(np.uint8)


def sparse_blend(frame: Frame, top: int, left: int, alpha_half: np.ndarray, colour: Colour) -> None:
    """Blend a colour by a half-resolution coverage map that is mostly zero (a line): only covered pixels are
    read and written."""
    h, w = alpha_half.shape
    top, left = max(0, min(top, frame.height - 2 * h)) & ~1, max(0, min(left, frame.width - 2 * w)) & ~1
    r, c = np.nonzero(alpha_half > 0.01)
    if len(r) == 0:
        return
    a = alpha_half[r, c]
    hr, hc = r + top // 2, c + left // 2
    for plane, value in ((frame.u, colour[1]), (frame.v, colour[2])):
        picked = plane[hr, hc].astype(np.float32)
        plane[hr, hc] = (picked + (value - picked) * a).astype(np.uint8)
    for dy in (0, 1):
        for dx in (0, 1):
            yr, xc = 2 * hr + dy, 2 * hc + dx
            picked = frame.y[yr, xc].astype(np.float32)
            frame.y[yr, xc] = (picked + (colour[0] - picked) * a).astype(np.uint8)


class _Polar:
    """A square region around the centre, at half resolution: radius and angle of each pixel."""

    def __init__(self, width: int, height: int, size_ratio: float) -> None:
        self.width, self.height = width, height
        self.size = even(min(width, height) * size_ratio) & ~3
        half = self.size // 2
        ys, xs = np.mgrid[0:half, 0:half].astype(np.float32)
        ys, xs = ys - half / 2 + 0.5, xs - half / 2 + 0.5
        self.r = np.sqrt(xs**2 + ys**2) * 2                                   # in full-resolution pixels
        self.theta = (np.arctan2(xs, -ys) + 2 * np.pi) % (2 * np.pi)          # 0 at the top, clockwise
        top, left = self.top(0), even((width - self.size) / 2)
        self.stage = Stage(top, left, top + self.size, left + self.size, self.size // 2)

    def top(self, dy: int) -> int:
        return even((self.height - self.size) / 2 + self.height * 0.04 + dy)   # a little low: titles sit on top

    def place(self, frame: Frame, m: Moment, alpha_half: np.ndarray, colour: Colour) -> None:
        top = self.top(m.dy)
        left = even((self.width - self.size) / 2 + m.dx)
        blend(frame, top, left, alpha_half, colour)


class Circle(_Polar):
    """A radial spectrum around a ring that breathes with the beat."""

    def __init__(self, width: int, height: int, bands: int) -> None:
        super().__init__(width, height, 0.72)
        spokes = bands * 2
        position = self.theta / (2 * np.pi) * spokes
        spoke = np.minimum(position.astype(int), spokes - 1)
        self.band = np.where(spoke < bands, spoke, spokes - 1 - spoke)
        frac = position - spoke
        arc = 2 * np.pi * self.r / spokes                                   # one spoke's width here, in pixels
        solid = 0.65
        inside = np.minimum(frac, solid - frac)
        outside = -np.minimum(frac - solid, 1 - frac)
        self.across = coverage(np.where(frac < solid, inside, outside) * arc).astype(np.float32)
        self.smooth = np.zeros(bands, np.float32)

    def settle(self, m: Moment) -> None:
        self.smooth = np.maximum(m.bands, self.smooth * 0.82)

    def draw(self, frame: Frame, m: Moment) -> None:
        self.settle(m)
        radius = self.size * 0.2 * (1 + 0.18 * m.pulse + 0.12 * m.drop)
        length = (6 + self.smooth**1.6 * self.size * 0.22)[self.band]   # stays inside the region: no flat tops
        along = coverage(np.minimum(self.r - radius, radius + length - self.r))
        ring = coverage(3 + 8 * m.pulse - np.abs(self.r - (radius - 10)))
        self.place(frame, m, ring * 0.8, brighten(m.colour, 60 * m.pulse))
        self.place(frame, m, along * self.across, brighten(m.colour, 60 * m.pulse))


class Rings(_Polar):
    """A core that follows loudness and rings that every beat sends outwards."""

    LIFE_S = 1.2

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__(width, height, 1.0)
        self.fps = fps
        self.born: list[int] = []

    def settle(self, m: Moment) -> None:
        """The rings alive at this frame: the beats of the last LIFE_S seconds (at most six)."""
        if m.pulse >= 0.999:
            self.born = [*self.born[-5:], m.index]
        self.born = [b for b in self.born if m.index - b < self.LIFE_S * self.fps]

    def draw(self, frame: Frame, m: Moment) -> None:
        self.settle(m)
        life = self.LIFE_S * self.fps
        base = self.size * 0.1
        rings = np.zeros_like(self.r)
        for born in self.born:
            age = (m.index - born) / life
            radius = base + age * self.size * 0.42
            np.maximum(rings, coverage(max(2.0, 9 * (1 - age)) - np.abs(self.r - radius)) * 0.9 * (1 - age),
                       out=rings)
        self.place(frame, m, rings, m.colour)
        core = coverage(base * (0.6 + 0.5 * m.level + 0.5 * m.pulse + 0.3 * m.drop) - self.r)
        self.place(frame, m, core, brighten(m.colour, 60 * m.pulse))


STYLES = ("wave", "bars", "circle", "rings")
SETTLE_FRAMES = 100   # frames a style must see (settle) before the first it draws, to draw what a single pass
                      # draws: 0.97^100 < 0.05 (the wave's floor), 0.82^100 < 1e-8, 100 > 1.2 s of rings at 60 fps


def make_style(name: str, width: int, height: int, bands: int, fps: int) -> Wave | Bars | Circle | Rings:
    if name == "wave":
        return Wave(width, height)
    if name == "circle":
        return Circle(width, height, bands)
    if name == "rings":
        return Rings(width, height, fps)
    return Bars(width, height, bands)
