"""The captions layer: the words being spoken, at most two lines in the frame's safe area, on a dark box that
keeps them legible on any picture, the word being spoken lit in the accent colour (karaoke style).

A caption is drawn with Pillow only when it or its lit word changes (a few times a second), then blended.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nemo_local.render.base import RenderError
from nemo_local.render.colour import hex_rgb
from nemo_local.render.compose import Beat, Scene
from nemo_local.render.frame import Frame, Overlay, rgba_overlay
from nemo_local.speech.captions import Page, cjk_font, is_cjk

FADE_S = 0.12
SPOKEN, COMING = (255, 255, 255, 255), (205, 210, 220, 255)



def text_size(width: int, height: int) -> int:
    """Caption font size in pixels for the frame: larger on phones (9:16), where the frame is seen small."""
    if height > width * 1.25:
        return max(12, int(width * 0.066))
    return max(12, int(min(width, height) * (0.058 if width > height * 1.25 else 0.062)))


def max_chars(width: int, height: int) -> int:
    """How many characters fit on one caption line (the box keeps 8 % of the width free at each side)."""
    return max(12, int(width * 0.84 / (text_size(width, height) * 0.55)))


def bottom_edge(width: int, height: int) -> float:
    """Where the caption box ends, as a share of the height: above the progress bar, and in 9:16 above the
    part the platforms cover with their buttons and the description."""
    if height > width * 1.25:
        return 0.74
    return 0.88


class PagedWords:
    """Pages of timed words over the video: the page of the moment, drawn as one overlay when it or its lit word
    changes, faded in and out. A subclass says how a page looks (`_draw`); fonts come from `font`."""

    what = "captions"         # in the error when Chinese has no font
    fade_s = FADE_S
    fade_head = 0.5           # the opacity a page starts at

    def __init__(self, scene: Scene, pages: list[Page], highlight: bool, size: int) -> None:
        self.width, self.height, self.fps = scene.width, scene.height, scene.fps
        self.pages = pages
        self.starts = [p.start for p in pages]
        self.highlight = highlight
        self.lit = (*hex_rgb(str(scene.meta.get("accent", "#36c5f0"))), 255)
        self.size = size
        self._key: tuple[int, int] | None = None
        self._overlay: Overlay | None = None
        self._fonts: dict[int, Any] = {}
        chinese = any(is_cjk(p.text()) for p in pages)
        self._font_file = cjk_font() if chinese else None
        if chinese and self._font_file is None:
            raise RenderError(f"{self.what} in Chinese need a font with Chinese characters: set NEMO_CAPTION_FONT "
                              "to a .ttf or .ttc file (for example WenQuanYi Micro Hei or Noto Sans CJK)")

    def font(self, size: int) -> Any:
        if size not in self._fonts:
            self._fonts[size] = ImageFont.truetype(self._font_file, size) if self._font_file else \
                ImageFont.load_default(size=size)
        return self._fonts[size]

    def _draw(self, number: int, active: int) -> Overlay:
        """Page `number` with word `active` the one being said."""
        raise NotImplementedError

    def draw(self, frame: Frame, beat: Beat) -> None:
        now = beat.index / self.fps
        number = bisect.bisect_right(self.starts, now) - 1
        if number < 0 or now >= self.pages[number].end:
            return
        page = self.pages[number]
        active = max(0, bisect.bisect_right([w.start for w in page.words], now) - 1)
        if (number, active) != self._key or self._overlay is None:
            self._overlay, self._key = self._draw(number, active), (number, active)
        opacity = max(0.0, min(1.0, (now - page.start) / self.fade_s + self.fade_head, (page.end - now) / self.fade_s))
        self._overlay.blend(frame, opacity)

    def close(self) -> None:
        self._overlay = None


class Captions(PagedWords):
    def __init__(self, scene: Scene, pages: list[Page], highlight: bool = True) -> None:
        super().__init__(scene, pages, highlight, text_size(scene.width, scene.height))

    def _draw(self, number: int, active: int) -> Overlay:
        page = self.pages[number]
        font = self.font(self.size)
        space = font.getlength(" ")
        line_h = int(self.size * 1.25)
        pad_x, pad_y = int(self.size * 0.6), int(self.size * 0.35)
        gaps = [[0.0] + [0.0 if is_cjk(a.text[-1:]) and is_cjk(b.text[:1]) else space
                         for a, b in itertools.pairwise(line)] for line in page.lines]
        widths = [sum(font.getlength(w.text) for w in line) + sum(gap) for line, gap in zip(page.lines, gaps,
                                                                                            strict=True)]
        box_w = min(self.width, int(max(widths) + 2 * pad_x)) + 2 & ~1
        box_h = int(len(page.lines) * line_h + 2 * pad_y) + 2 & ~1
        image = Image.new("RGBA", (box_w, box_h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle([0, 0, box_w - 1, box_h - 1], radius=int(self.size * 0.35), fill=(8, 10, 16, 165))
        k = 0
        for row, (line, width, gap) in enumerate(zip(page.lines, widths, gaps, strict=True)):
            x = (box_w - width) / 2
            y = pad_y + row * line_h + (line_h - self.size) / 2
            for word, before in zip(line, gap, strict=True):
                x += before
                colour = self.lit if k == active and self.highlight else SPOKEN if k <= active else COMING
                draw.text((x, y), word.text, font=font, fill=colour, stroke_width=max(1, self.size // 24),
                          stroke_fill=(0, 0, 0, 255))
                x += font.getlength(word.text)
                k += 1
        x0 = (self.width - box_w) // 2
        y0 = int(self.height * bottom_edge(self.width, self.height)) - box_h
        return rgba_overlay(np.asarray(image), x0, max(0, y0))
