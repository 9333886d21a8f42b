"""The lyric layout: the line being sung large and centred, its words lit as they are sung (in the accent colour
the one being sung), the next line smaller and dim below it; nothing where the lyrics leave a gap. Kept inside
each frame's safe area (in 9:16, clear of the parts the platforms cover), over whatever is below: the
visualizer, a photo or the montage. Drawn with Pillow only when the line or its lit word changes."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nemo_local.render.captions import PagedWords
from nemo_local.render.compose import Scene
from nemo_local.render.frame import Overlay, rgba_overlay
from nemo_local.speech.captions import Page, is_cjk, join
from nemo_local.speech.words import Word

FADE_S = 0.15
SUNG, COMING, NEXT = (255, 255, 255, 255), (200, 205, 218, 255), (190, 195, 210, 140)
NEXT_SCALE = 0.62
BAND_ALPHA = 175            # the dark band behind the lines (of 255)
SIDE = 0.08                 # of the width kept free at each side


def lyric_size(width: int, height: int) -> int:
    """The sung line's font size: large, and larger on phones (9:16), where the frame is seen small."""
    if height > width * 1.25:
        return max(14, int(width * 0.1))
    return max(14, int(min(width, height) * (0.085 if width > height * 1.25 else 0.08)))


def lyric_chars(width: int, height: int) -> int:
    """How many characters fit on one row of a sung line."""
    return max(10, int(width * (1 - 2 * SIDE) / (lyric_size(width, height) * 0.56)))


def safe_band(width: int, height: int) -> tuple[float, float]:
    """Where lyrics may stand, as shares of the height: in 9:16 below the top bar and above the caption, buttons
    and description the platforms lay over the video; elsewhere clear of the title at the top and the bottom edge."""
    return (0.16, 0.70) if height > width * 1.25 else (0.2, 0.86)


class LyricLines(PagedWords):
    what = "lyrics"
    fade_s = FADE_S
    fade_head = 0.4

    def __init__(self, scene: Scene, pages: list[Page], highlight: bool = True) -> None:
        super().__init__(scene, pages, highlight, lyric_size(scene.width, scene.height))

    def _wrap(self, words: list[Word], font: Any) -> list[list[Word]]:
        """The words in the fewest rows that fit the width, as even as possible (by measured pixels)."""
        room = self.width * (1 - 2 * SIDE)
        lengths = [font.getlength(w.text) for w in words]
        space = font.getlength(" ")
        total = sum(lengths) + space * (len(words) - 1)
        for count in range(1, len(words) + 1):
            rows: list[list[Word]] = [[]]
            target, width = total / count, 0.0
            for word, length in zip(words, lengths, strict=True):
                if rows[-1] and (width + space + length > room or
                                 (width + space + length / 2 > target and len(rows) < count)):
                    rows.append([])
                    width = 0.0
                width += (space if rows[-1] else 0) + length
                rows[-1].append(word)
            if len(rows) <= count and all(sum(font.getlength(w.text) for w in row) <= room for row in rows):
                return rows
        return [[w] for w in words]

    def _rows(self, draw: Any, page: Page, font: Any, y: float, colours: list[tuple[int, int, int, int]]
              ) -> float:
        """Draw a page's words in rows centred from y down; returns where the next row would start."""
        line_h = font.size * 1.22
        k = 0
        for row in self._wrap(page.words, font):
            text = join(row)
            x = (self.width - font.getlength(text)) / 2
            for n, word in enumerate(row):
                if n:
                    x += 0 if is_cjk(row[n - 1].text[-1:]) and is_cjk(word.text[:1]) else font.getlength(" ")
                draw.text((x, y), word.text, font=font, fill=colours[k], stroke_width=max(1, font.size // 16),
                          stroke_fill=(0, 0, 0, min(255, colours[k][3] + 40)))
                x += font.getlength(word.text)
                k += 1
            y += line_h
        return y

    def _draw(self, number: int, active: int) -> Overlay:
        big, small = self.font(self.size), self.font(max(10, int(self.size * NEXT_SCALE)))
        page = self.pages[number]
        words = page.words
        colours = [self.lit if k == active and self.highlight else SUNG if k <= active or not self.highlight
                   else COMING for k in range(len(words))]
        following = self.pages[number + 1] if number + 1 < len(self.pages) else None
        top, bottom = (int(share * self.height) for share in safe_band(self.width, self.height))
        following = following if following is not None and following.start - page.end < 1.0 else None
        tall = len(self._wrap(page.words, big)) * big.size * 1.22 + (
            big.size * 0.35 + len(self._wrap(following.words, small)) * small.size * 1.22 if following else 0)
        y0 = max(0.0, (bottom - top) * 0.45 - tall / 2)
        # a soft dark band behind the words: legible over bars, photos and clips of any colour
        widest = max(big.getlength(join(row)) for row in self._wrap(page.words, big))
        band = Image.new("L", (self.width, bottom - top), 0)
        pad = big.size * 0.6
        ImageDraw.Draw(band).rounded_rectangle(
            [(self.width - widest) / 2 - pad, y0 - pad * 0.6, (self.width + widest) / 2 + pad, y0 + tall + pad * 0.4],
            radius=int(pad), fill=BAND_ALPHA)
        band = band.filter(ImageFilter.GaussianBlur(max(2, big.size // 4)))
        image = Image.new("RGBA", (self.width, bottom - top), (4, 6, 12, 0))
        image.putalpha(band)
        draw = ImageDraw.Draw(image)
        y = self._rows(draw, page, big, y0, colours) + big.size * 0.35
        if following is not None:     # the next line, when it follows on without a gap
            self._rows(draw, following, small, y, [NEXT] * len(following.words))
        return rgba_overlay(np.asarray(image), 0, top)
