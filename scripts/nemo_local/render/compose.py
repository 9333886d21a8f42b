"""The compositor's vocabulary: what every layer sees (the scene, once; the beat state, per frame).

How a video is made (read this before adding a visual feature):

    draft (t/tt/sg/d/m)  ->  engine.MusicRenderer  ->  layers, bottom first  ->  one yuv420p Frame  ->  Encoder
                                  |                     (stack.layers_for builds the list)
                              analysis -> Timing        backdrop     video track (tt=0): photos, clips, cover art or a
                              (beats, drops, levels)                 gradient; cuts, pans, transitions (backdrop.py)
                                                        flash        the drop's bloom over whatever is below
                                                        visualizer   the style: bars, wave, circle, rings (styles.py);
                                                                     unless m.visualizer is false
                                                        sparks       particles on drops (and beats, in rings)
                                                        titles       text track (tt=7) segments without a kind
                                                        lower third  text track segments of kind lower_third
                                                        logo         m.logo, top right (overlays.py)
                                                        captions     the spoken words, m.captions (captions.py)
                                                        progress     m.progress_bar

- A layer is a small object with `draw(frame, beat)` and `close()`. It prepares what it can once, in its
  constructor, from the `Scene`; `draw` paints frame `beat.index` into the shared frame, in place, and must
  not keep references to the frame between calls. Layers are drawn one after another into the same buffer;
  the order is the list `stack.layers_for` builds.
- Frame i depends on the frame index, not on which frames were drawn before it: randomness is seeded by the
  frame (the shake, each spark burst), pictures seek to their place in the shot. A layer whose look carries over
  frames (the bars' fall, the wave's peak, the rings) also has `settle(beat)`: the renderer shows it the
  `styles.SETTLE_FRAMES` frames before a window that starts mid-video (a chunk), without drawing, so a render
  cut into chunks shows what a single pass shows.
- The renderer owns everything else: timing, the per-frame `Beat` (pulse, drop, colour, shake), the audio
  blocks, the encoder, the poster, progress and cancellation. A layer never encodes, never sleeps, never
  looks at the draft's words: the director already turned words into the draft.
- Memory does not grow with the track: layers hold at most the current and the next picture, and frames are
  drawn one at a time.

A new visual feature is a new layer (and, if it needs words, a director rule writing a draft key); not a new
branch in the frame loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nemo_local.draft import Kind, meta_of, segments_of
from nemo_local.render.frame import Frame
from nemo_local.render.timing import Timing

Colour = tuple[float, float, float]
FLASH_FROM = 0.45          # the drop envelope above which the flash shows


@dataclass
class Scene:
    """What every layer may read while it prepares: the frame size, the music's timing and the draft."""

    width: int
    height: int
    fps: int
    timing: Timing
    draft: dict[str, Any]
    sources: dict[str, Path]          # file id -> path
    audio: Path
    has_cover: bool                   # the audio file carries album art
    accent: Colour
    hot: Colour                       # the colour a drop switches to
    captions: list[Any] = field(default_factory=list)   # caption pages (nemo_local.captions.Page), when on
    origin: int = 0        # the audio frame the video starts at (a clip from the middle); draft times count
                           # from here, the timing arrays and the captions from the audio's start

    def timeline_ms(self, index: int) -> float:
        """Where audio frame `index` falls on the draft's timeline, in ms."""
        return (index - self.origin) * 1000 / self.fps

    @property
    def meta(self) -> dict[str, Any]:
        return meta_of(self.draft)

    def segments(self, kind: Kind) -> list[dict[str, Any]]:
        """The segments of the draft's track of this kind."""
        return segments_of(self.draft, kind)


@dataclass
class Beat:
    """The state of the music at one frame, computed once by the renderer and read by every layer."""

    index: int
    samples: np.ndarray               # this frame's audio, mono, -1..1
    pulse: float                      # beat envelope 0..1
    drop: float                       # drop envelope 0..1
    colour: Colour                    # YUV of the accent in use (towards white on a flash)
    dx: int = 0                       # shake offset, even pixels
    dy: int = 0
    drop_starts: bool = False         # this frame is a drop
    still: Frame | None = None        # the background, when it is one unchanging picture and not flashing

    @property
    def flashing(self) -> bool:
        return self.drop > FLASH_FROM


class Layer(Protocol):
    def draw(self, frame: Frame, beat: Beat) -> None:
        """Paint this frame's part into `frame`, in place."""

    def close(self) -> None:
        """Release processes and threads; called once, also after an error or a cancel."""


@runtime_checkable
class Settles(Protocol):
    def settle(self, beat: Beat) -> None:
        """Take this frame's state (what carries over to the next frame) without drawing."""


def beats(timing: Timing, accent: Colour, hot: Colour, width: int, height: int,
          seed: int = 11) -> Callable[[int, np.ndarray], Beat]:
    """A function (index, samples) -> Beat: the pulse, the drop, the colour and a shake seeded by the frame's
    index (the same frame shakes the same way whichever frames were drawn before it)."""
    shake = min(width, height) * 0.025
    drops = set(timing.drop_frames.tolist()) if timing.drop.any() else set()

    def at(index: int, samples: np.ndarray) -> Beat:
        pulse, drop = float(timing.pulse[index]), float(timing.drop[index])
        dx = dy = 0
        if drop > 0.25:
            dx, dy = (int(v * shake * drop) & ~1 for v in np.random.default_rng((seed, index)).uniform(-1, 1, 2))
        colour = hot if timing.hot[index] else accent
        if drop > FLASH_FROM:   # on the flash, the visual turns towards white to stay visible
            colour = (colour[0] + (235 - colour[0]) * drop, 128 + (colour[1] - 128) * (1 - drop),
                      128 + (colour[2] - 128) * (1 - drop))
        return Beat(index, samples, pulse, drop, colour, dx, dy, index in drops)

    return at
