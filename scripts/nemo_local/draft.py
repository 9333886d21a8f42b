"""The draft a render accepts: every number finite and in range, every string bounded, every list capped.

A draft is client data (anyone with a token can POST one), so the render route checks it against this schema
before anything is queued, and answers HTTP 400 naming the first field that is wrong. The director's drafts
always pass. Unknown keys are kept (the cloud format has more), but they count against the size limits.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DRAFT_BYTES = 512 * 1024
MAX_TRACKS = 16
MAX_SEGMENTS = 2000               # a long track cut once a bar to many photos
MAX_MS = 6 * 3600 * 1000          # six hours: longer than any audio the renderer takes
MAX_TEXT = 500
MAX_SHORT = 200
MAX_DEPTH = 8
TRACK_TYPES = range(0, 32)

# Per key: (kind, low, high). Kinds: "num" finite number, "int", "bool", "str" (high = max length), "strs" (a list
# of short strings, high = max items).
SEGMENT_FIELDS: dict[str, tuple[str, float, float]] = {
    "s": ("num", 0, MAX_MS), "d": ("num", 0, MAX_MS), "v": ("num", 0, 2),
    "text": ("str", 0, MAX_TEXT), "sub": ("str", 0, MAX_TEXT), "name": ("str", 0, MAX_SHORT),
    "src": ("str", 0, MAX_SHORT),
    "id": ("str", 0, MAX_SHORT), "kind": ("str", 0, 40),
}
TRACK_FIELDS: dict[str, tuple[str, float, float]] = {"tt": ("int", 0, 31), "n": ("str", 0, MAX_SHORT)}
META_FIELDS: dict[str, tuple[str, float, float]] = {
    "width": ("int", 16, 7680), "height": ("int", 16, 7680), "fps": ("int", 1, 120),
    "style": ("str", 0, 40), "aspect": ("str", 0, 16), "accent": ("str", 0, 32), "accent2": ("str", 0, 32),
    "background": ("str", 0, 32), "title": ("str", 0, MAX_TEXT), "beat_sync": ("bool", 0, 1),
    "drops": ("bool", 0, 1), "progress_bar": ("bool", 0, 1), "cover": ("bool", 0, 1),
    "max_bytes": ("int", 100_000, 4_000_000_000), "audio_kbps": ("int", 32, 320), "destination": ("str", 0, 40),
    "trim_ms": ("int", 0, MAX_MS), "preview": ("bool", 0, 1), "visualizer": ("bool", 0, 1), "frost": ("bool", 0, 1),
    "cut_beats": ("int", 0, 64), "transition": ("str", 0, 16), "seen": ("int", 0, 100_000),
    "pictures": ("strs", 0, MAX_SEGMENTS), "captions": ("bool", 0, 1), "caption_highlight": ("bool", 0, 1),
    "caption_language": ("str", 0, 8),
    "caption_fixes": ("pairs", 0, 50), "loudness": ("num", -70, 0), "clip_start_ms": ("int", 0, MAX_MS),
    "clip_ms": ("int", 0, MAX_MS), "fades": ("bool", 0, 1), "clip_sound": ("bool", 0, 1), "logo": ("str", 0, MAX_SHORT),
    "script": ("str", 0, MAX_SHORT),
}


class DraftInvalid(ValueError):
    """The draft breaks the schema; the message names the field and what it must be."""


def _check(where: str, value: Any, rule: tuple[str, float, float]) -> None:
    kind, low, high = rule
    if kind == "pairs":
        if not isinstance(value, list) or len(value) > high:
            raise DraftInvalid(f"{where} must be a list of at most {int(high)} [from, to] pairs")
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise DraftInvalid(f"{where}[{i}] must be a [from, to] pair")
            for item in pair:
                _check(f"{where}[{i}]", item, ("str", 0, MAX_SHORT))
        return
    if kind == "strs":
        if not isinstance(value, list) or len(value) > high:
            raise DraftInvalid(f"{where} must be a list of at most {int(high)} strings")
        for i, item in enumerate(value):
            _check(f"{where}[{i}]", item, ("str", 0, MAX_SHORT))
        return
    if kind == "bool":
        if not isinstance(value, bool):
            raise DraftInvalid(f"{where} must be true or false")
        return
    if kind == "str":
        if not isinstance(value, str):
            raise DraftInvalid(f"{where} must be a string")
        if len(value) > high:
            raise DraftInvalid(f"{where} is longer than {int(high)} characters")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DraftInvalid(f"{where} must be a number")
    if not math.isfinite(value):
        raise DraftInvalid(f"{where} must be a finite number")
    if kind == "int" and value != int(value):
        raise DraftInvalid(f"{where} must be a whole number")
    if not low <= value <= high:
        raise DraftInvalid(f"{where} must be between {low:g} and {high:g}")


def _fields(where: str, obj: dict[str, Any], rules: dict[str, tuple[str, float, float]]) -> None:
    for key, rule in rules.items():
        if key in obj and obj[key] is not None:
            _check(f"{where}.{key}", obj[key], rule)


def depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, counted without recursion (stops once past `limit`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def validate(draft: Any) -> dict[str, Any]:
    """Return the draft when it fits the schema; raise DraftInvalid naming the first problem."""
    if not isinstance(draft, dict):
        raise DraftInvalid("draft must be a JSON object")
    if depth(draft, MAX_DEPTH) > MAX_DEPTH:
        raise DraftInvalid(f"draft is nested deeper than {MAX_DEPTH} levels")
    if len(json.dumps(draft, allow_nan=True)) > MAX_DRAFT_BYTES:
        raise DraftInvalid(f"draft is larger than {MAX_DRAFT_BYTES // 1024} KB")
    if "d" in draft and draft["d"] is not None:
        _check("draft.d", draft["d"], ("num", 0, MAX_MS))
    meta = draft.get("m")
    if meta is not None:
        if not isinstance(meta, dict):
            raise DraftInvalid("draft.m must be an object")
        _fields("draft.m", meta, META_FIELDS)
    tracks = draft.get("t")
    if tracks is None:
        return draft
    if not isinstance(tracks, list):
        raise DraftInvalid("draft.t must be a list of tracks")
    if len(tracks) > MAX_TRACKS:
        raise DraftInvalid(f"draft.t has more than {MAX_TRACKS} tracks")
    for i, track in enumerate(tracks):
        where = f"draft.t[{i}]"
        if not isinstance(track, dict):
            raise DraftInvalid(f"{where} must be an object")
        _fields(where, track, TRACK_FIELDS)
        segments = track.get("sg")
        if segments is None:
            continue
        if not isinstance(segments, list):
            raise DraftInvalid(f"{where}.sg must be a list of segments")
        if len(segments) > MAX_SEGMENTS:
            raise DraftInvalid(f"{where}.sg has more than {MAX_SEGMENTS} segments")
        for j, segment in enumerate(segments):
            if not isinstance(segment, dict):
                raise DraftInvalid(f"{where}.sg[{j}] must be an object")
            _fields(f"{where}.sg[{j}]", segment, SEGMENT_FIELDS)
    return draft
