"""The director's rules for how the video looks: the frame (aspect), the visualizer's style, the colours and
the switches (beat sync, drop highlights, the progress bar). Part of the director (the only place words become
a draft).

Draft keys written here (`m`): `aspect`, `width`, `height`, `style`, `accent`, `background`, `visualizer`,
`beat_sync`, `drops`, `progress_bar`.
"""

from __future__ import annotations

import re
from typing import Any

from nemo_local.director.shots import Edit
from nemo_local.draft import ASPECTS

ASPECT_WORDS = [
    (r"\b9\s*:\s*16\b|\bvertical\b|\bportrait\b|\btik\s*tok\b|\breels?\b|\bshorts\b|\bstor(?:y|ies)\b|竖屏", "9:16"),
    (r"\b1\s*:\s*1\b|\bsquare\b|\binstagram\b|方形", "1:1"),
    (r"\b16\s*:\s*9\b|\blandscape\b|\bhorizontal\b|\byoutube\b|\bwidescreen\b|横屏", "16:9"),
]
STYLES = [   # the first match wins: "circular spectrum" is a circle, a plain "spectrum" is bars
    (r"\bwave ?forms?\b|\bwaves?\b|\boscilloscope\b|\baudiogram\b|\bline\b|波形", "wave"),
    (r"\bcirc(?:le|ular)\b|\bradial\b|\bring spectrum\b|圆形|环形", "circle"),
    (r"\bpulse\b|\brings?\b|\bparticles?\b|粒子|脉冲", "rings"),
    (r"\bbars?\b|\bequali[sz]er\b|\bmirror(?:ed)?\b|\bspectrum\b|频谱", "bars"),
]
COLOURS = {
    "red": "#e53935", "orange": "#fb8c00", "yellow": "#fdd835", "green": "#43a047", "teal": "#00897b",
    "cyan": "#00e5ff", "blue": "#1e88e5", "purple": "#8e24aa", "violet": "#7c4dff", "pink": "#ff4081",
    "magenta": "#ff00aa", "white": "#f5f5f5", "gold": "#ffc107", "neon": "#39ff14",
    "红": "#e53935", "蓝": "#1e88e5", "绿": "#43a047", "紫": "#8e24aa", "黄": "#fdd835", "粉": "#ff4081",
}
DEFAULT_META: dict[str, Any] = {
    "aspect": "16:9", "width": 1920, "height": 1080, "fps": 30, "style": "bars",
    "accent": "#36c5f0", "background": "#0d1321", "beat_sync": True, "drops": True, "progress_bar": False,
}
TOGGLES = (("beat_sync", r"beat|节拍"), ("drops", r"drops?|高潮"), ("progress_bar", r"progress ?bar|进度条"))


def set_aspect(meta: dict[str, Any], aspect: str) -> None:
    """The frame of an aspect ("16:9", "9:16", "1:1") in the draft's metadata."""
    meta["aspect"] = aspect
    meta["width"], meta["height"] = ASPECTS[aspect]


def colour(text: str) -> str | None:
    """A colour the words name: a #rrggbb code, else a colour word in English or Chinese."""
    m = re.search(r"#[0-9a-fA-F]{6}\b", text)
    if m:
        return m[0].lower()
    for word, hexcode in COLOURS.items():
        pattern = word if not word.isascii() else rf"\b{word}\b"
        if re.search(pattern, text, re.I):
            return hexcode
    return None


def look(words: str, lowered: str, meta: dict[str, Any], pictures: Edit, first: bool) -> list[str]:
    """Apply the words about the frame, the style, the colours and the switches to `meta`; returns what changed.
    `words` is the message without its quoted parts (a title is content, never an option); `lowered` also lacks
    the phrases the picture rules consumed (`pictures`: what they changed)."""
    changes: list[str] = []
    for pattern, aspect in ASPECT_WORDS:
        if re.search(pattern, lowered):
            if meta["aspect"] != aspect or first:
                changes.append(f"aspect {aspect}")
            set_aspect(meta, aspect)
            break
    for pattern, style in STYLES:
        if re.search(pattern, lowered):
            meta["style"] = style
            changes.append(f"style {style}")
            if meta.get("visualizer") is False and "visualizer off" not in pictures.changes:
                meta["visualizer"] = True     # naming a style asks to see it
            break
    found = colour(words)
    if found:
        if re.search(r"\bbackground\b|背景", lowered) and not re.search(r"\bimage\b|\bphoto\b|图片", lowered):
            meta["background"] = found
            changes.append(f"background {found}")
        else:
            meta["accent"] = found
            changes.append(f"colour {found}")
    for key, word in TOGGLES:
        negated = rf"\b(?:no|without|remove|disable|turn off|hide)\b[^.,;]*?(?:{word})|(?:去掉|关闭|不要)(?:{word})"
        if re.search(negated, lowered):
            meta[key] = False
            changes.append(f"{key} off")
        elif re.search(word, lowered):
            meta[key] = True
            changes.append(f"{key} on")
    return changes
