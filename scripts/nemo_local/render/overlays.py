"""Layers around the words: a lower third (the speaker or show name and the episode title) and the user's logo
in a corner. Each is drawn once with Pillow and blended; both keep clear of the captions and the progress bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from nemo_local.render.base import RenderError
from nemo_local.render.captions import bottom_edge, text_size
from nemo_local.render.colour import hex_rgb
from nemo_local.render.compose import Beat, Scene
from nemo_local.render.frame import Frame, Overlay, rgba_overlay
from nemo_local.render.pictures import unreadable

SLIDE_MS = 300
LOGO_SIDE = 0.13        # the logo's longer side, as a share of the frame's shorter side
MARGIN = 0.04


class LowerThird:
    """Name (large) and a second line (smaller) on a dark panel with an accent stripe, lower left; above the
    captions when they are on. Fades and slides in, fades out."""

    def __init__(self, scene: Scene, name: str, sub: str, start_ms: float, length_ms: float) -> None:
        self.scene, self.start, self.length = scene, start_ms, length_ms
        w, h = scene.width, scene.height
        big = max(12, int(min(w, h) * 0.052))
        small = max(10, int(big * 0.68))
        fonts = ImageFont.load_default(size=big), ImageFont.load_default(size=small)
        max_w = int(w * (1 - 2 * MARGIN)) - big
        lines = [(_fit(t, f, max_w), f, size) for t, f, size in ((name, fonts[0], big), (sub, fonts[1], small)) if t]
        stripe, pad = max(4, big // 7) & ~1, big // 2
        text_w = max(int(font.getlength(text)) for text, font, _ in lines)
        panel_w = min(w - 2 * int(w * MARGIN), stripe + 2 * pad + text_w) + 1 & ~1
        panel_h = pad * 2 + sum(int(size * 1.25) for _, _, size in lines) + 1 & ~1
        image = Image.new("RGBA", (panel_w, panel_h), (8, 10, 16, 190))
        draw = ImageDraw.Draw(image)
        draw.rectangle([0, 0, stripe - 1, panel_h - 1], fill=(*hex_rgb(str(scene.meta.get("accent", "#36c5f0"))), 255))
        y = pad
        for k, (text, font, size) in enumerate(lines):
            draw.text((stripe + pad, y), text, font=font, fill=(255, 255, 255, 255) if k == 0 else (200, 205, 215, 255))
            y += int(size * 1.25)
        bottom = bottom_edge(w, h) * h
        if scene.meta.get("captions"):   # above two lines of captions
            bottom -= 3.4 * text_size(w, h) + h * 0.02
        self.x, self.y = int(w * MARGIN), max(0, int(bottom) - panel_h)
        self.rgba = np.asarray(image)
        self._overlays: dict[int, Overlay] = {}

    def draw(self, frame: Frame, beat: Beat) -> None:
        now = self.scene.timeline_ms(beat.index) - self.start
        if not 0 <= now < self.length:
            return
        t = min(1.0, now / SLIDE_MS, (self.length - now) / SLIDE_MS)
        shift = int((1 - t) ** 2 * self.scene.width * 0.04) & ~1 if now < SLIDE_MS else 0
        overlay = self._overlays.get(shift)
        if overlay is None:
            overlay = rgba_overlay(self.rgba, max(0, self.x - shift), self.y)
            self._overlays = {shift: overlay} if len(self._overlays) > 40 else {**self._overlays, shift: overlay}
        overlay.blend(frame, max(0.0, t))

    def close(self) -> None:
        self._overlays = {}


def _fit(text: str, font: object, width: int) -> str:
    """The text, cut with an ellipsis if it is wider than `width` pixels."""
    measure = font.getlength  # type: ignore[attr-defined]
    if measure(text) <= width:
        return text
    while text and measure(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


class Logo:
    """The user's logo in the top right corner, its own transparency kept, slightly translucent."""

    def __init__(self, scene: Scene, path: Path) -> None:
        side = max(16, int(min(scene.width, scene.height) * LOGO_SIDE))
        try:
            with Image.open(path) as img:
                logo = img.convert("RGBA")
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            raise RenderError(f"cannot read the logo {path.name}: {unreadable(exc)}") from None
        logo.thumbnail((side, side), Image.Resampling.LANCZOS)
        canvas = Image.new("RGBA", (logo.width + logo.width % 2, logo.height + logo.height % 2), (0, 0, 0, 0))
        canvas.paste(logo, (0, 0))
        margin = int(min(scene.width, scene.height) * MARGIN)
        self.overlay = rgba_overlay(np.asarray(canvas), scene.width - canvas.width - margin, margin)

    def draw(self, frame: Frame, beat: Beat) -> None:
        self.overlay.blend(frame, 0.92)

    def close(self) -> None:
        pass
