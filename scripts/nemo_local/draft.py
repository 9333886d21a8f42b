"""The draft (the timeline a render is made from): its format, owned here and nowhere else.

Documented short keys (the cloud's): `t` the tracks, each with `tt` its kind (0 video, 1 audio, 7 text), `n` its
name and `sg` its segments; `d` the duration in ms; `m` the metadata. Times are in ms. The segment and metadata
fields below are this backend's own (the cloud publishes none): the director writes them, the renderer and the
client's timeline summary read them, always through the names and helpers here.

A draft is also client data (anyone with a token can POST one), so the render route checks it against the
schema below (`validate`) before anything is queued, and answers HTTP 400 naming the first field that is wrong.
The director's drafts always pass. Unknown keys are kept (the cloud format has more), but they count against the
size limits.
"""

from __future__ import annotations

import json
import math
from enum import IntEnum
from typing import Any

TRACKS, KIND, NAME, SEGMENTS, DURATION, META = "t", "tt", "n", "sg", "d", "m"


class Kind(IntEnum):
    """A track's kind (`tt`), as the cloud numbers them."""

    VIDEO = 0           # the pictures: visualizer, photos, clips
    AUDIO = 1           # the sound (one segment: the audio file, its start, length and volume)
    TEXT = 7            # words on screen: the title and the lower third


LABELS: dict[int, str] = {Kind.VIDEO: "Video", Kind.AUDIO: "BGM", Kind.TEXT: "Title"}   # the seeds' summary
ASPECTS = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}   # `m.aspect` -> `m.width`, `m.height`


def tracks_of(draft: Any) -> list[dict[str, Any]]:
    """The draft's tracks that are objects (a draft is client data: anything else is skipped)."""
    found = draft.get(TRACKS) if isinstance(draft, dict) else None
    return [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []


def segments_of(draft: Any, kind: int) -> list[dict[str, Any]]:
    """The segments of the draft's first non-empty track of this kind."""
    for track in tracks_of(draft):
        if track.get(KIND) == kind and isinstance(track.get(SEGMENTS), list) and track[SEGMENTS]:
            return [s for s in track[SEGMENTS] if isinstance(s, dict)]
    return []


def meta_of(draft: Any) -> dict[str, Any]:
    """The draft's metadata (`m`), empty when it has none."""
    found = draft.get(META) if isinstance(draft, dict) else None
    return found if isinstance(found, dict) else {}


def duration_of(draft: Any) -> float:
    """The draft's duration (`d`) in ms; 0 when it has none."""
    value = draft.get(DURATION) if isinstance(draft, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def exportable(draft: Any) -> bool:
    """A draft can be rendered when at least one track has a non-empty segment list."""
    return any(track.get(SEGMENTS) for track in tracks_of(draft))


def new_draft(tracks: list[dict[str, Any]], duration: int, metadata: dict[str, Any]) -> dict[str, Any]:
    """A draft from its tracks, duration (ms) and metadata."""
    return {TRACKS: tracks, DURATION: duration, META: metadata}


def new_track(kind: Kind, name: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One track of `kind` holding the segments `parts`."""
    return {KIND: kind, NAME: name, SEGMENTS: parts}


def with_meta(draft: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the draft with these metadata fields set (the tracks are shared, not copied)."""
    return {**draft, META: {**meta_of(draft), **changes}}


MAX_DRAFT_BYTES = 512 * 1024
MAX_TRACKS = 16
MAX_SEGMENTS = 2000               # a long track cut once a bar to many photos
MAX_MS = 6 * 3600 * 1000          # six hours: longer than any audio the renderer takes
MAX_TEXT = 500
MAX_SHORT = 200
MAX_DEPTH = 8

Rule = tuple[str, float, float]
# Per key: (kind, low, high). Kinds: "num" a finite number, "int", "bool", "str" (high = max length), "strs" (a list
# of short strings, high = max items), "pairs" (a list of [from, to] short strings, high = max items), "numpairs"
# (a list of [number, ms] whole numbers), "mss" (a list of ms, high = max items).
SEGMENT_FIELDS: dict[str, Rule] = {
    "id": ("str", 0, MAX_SHORT),          # v1, a1, t1 (title), l1 (lower third): what later turns edit
    "kind": ("str", 0, 40),               # video track: image, video, visualizer; text track: lower_third or none
    "name": ("str", 0, MAX_SHORT),        # shown in the timeline summary
    "src": ("str", 0, MAX_SHORT),         # the uploaded file's id
    "s": ("num", 0, MAX_MS),              # start on the timeline, ms
    "d": ("num", 0, MAX_MS),              # length, ms
    "v": ("num", 0, 2),                   # audio volume, 1 = as recorded
    "text": ("str", 0, MAX_TEXT),         # the words of a title, or a lower third's name
    "sub": ("str", 0, MAX_TEXT),          # a lower third's second line
}
TRACK_FIELDS: dict[str, Rule] = {KIND: ("int", 0, 31), NAME: ("str", 0, MAX_SHORT)}
META_FIELDS: dict[str, Rule] = {
    # the frame and its look
    "width": ("int", 16, 7680), "height": ("int", 16, 7680), "fps": ("int", 1, 120), "aspect": ("str", 0, 16),
    "style": ("str", 0, 40), "accent": ("str", 0, 32), "accent2": ("str", 0, 32), "background": ("str", 0, 32),
    "visualizer": ("bool", 0, 1), "frost": ("bool", 0, 1), "cover": ("bool", 0, 1), "logo": ("str", 0, MAX_SHORT),
    "title": ("str", 0, MAX_TEXT), "progress_bar": ("bool", 0, 1),
    # the music; the drops the video shows (ms on the audio, as the director last worked them out: for the summary),
    # and the user's own: placed (ms), removed (a found drop within DROP_OFF_MS of each), only the placed ones
    "beat_sync": ("bool", 0, 1), "drops": ("bool", 0, 1), "drops_shown": ("mss", 0, 200),
    "drops_at": ("mss", 0, 50), "drops_off": ("mss", 0, 50), "drops_only": ("bool", 0, 1),
    # the pictures cut to it: their file ids in order, beats a shot (0: one per section), the cut
    "pictures": ("strs", 0, MAX_SEGMENTS), "cut_beats": ("int", 0, 64), "transition": ("str", 0, 16),
    "clip_sound": ("bool", 0, 1), "seen": ("int", 0, 100_000),
    # speech: captions, their language and the user's corrections, the user's own words (a file id), loudness
    "captions": ("bool", 0, 1), "caption_highlight": ("bool", 0, 1), "caption_language": ("str", 0, 8),
    "caption_fixes": ("pairs", 0, 50), "script": ("str", 0, MAX_SHORT), "loudness": ("num", -70, 0),
    "accurate_captions": ("bool", 0, 1),
    # lyrics: the lyric layout, and the user's corrections of where lines start ([line number, ms]) and a shift
    "lyrics": ("bool", 0, 1), "lyric_starts": ("numpairs", 0, 200), "lyric_shift_ms": ("int", -600_000, 600_000),
    # the part of the audio used, and where the video goes
    "clip_start_ms": ("int", 0, MAX_MS), "clip_ms": ("int", 0, MAX_MS), "fades": ("bool", 0, 1),
    "trim_ms": ("int", 0, MAX_MS), "destination": ("str", 0, 40), "max_bytes": ("int", 100_000, 4_000_000_000),
    "audio_kbps": ("int", 32, 320), "preview": ("bool", 0, 1),
}


DROP_MOVE_MS = 4000     # a drop the user places this near a found one moves it there
DROP_OFF_MS = 3000      # "no drop at 0:30" removes a found drop this near 0:30


def clock(ms: float) -> str:
    """A draft time (ms) as the user reads it: "1:23", or "1:23.5" when the tenth matters."""
    minutes, tenths = divmod(round(ms / 100), 600)
    whole, tenth = divmod(tenths, 10)
    return f"{minutes}:{whole:02d}" + (f".{tenth}" if tenth else "")


def graded(times: list[float], strengths: list[float]) -> list[tuple[float, float]]:
    """(time, strength) of each drop; strength 1 for all when the strengths do not match the times (older data)."""
    return list(zip(times, strengths if len(strengths) == len(times) else [1.0] * len(times), strict=True))


def drops_of(meta: dict[str, Any], found: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The drops a video shows, (seconds on the audio, strength 0-1): the ones found (none with `drops_only`),
    less those the user removed (`drops_off`) or moved (a placed one within DROP_MOVE_MS), and the placed ones
    (`drops_at`) at full strength. Empty when `drops` is off."""
    if meta.get("drops") is False:
        return []
    placed = [float(t) / 1000 for t in meta.get("drops_at") or []]
    off = [float(t) / 1000 for t in meta.get("drops_off") or []]
    kept = [] if meta.get("drops_only") else [
        (t, g) for t, g in found if all(abs(t - o) > DROP_OFF_MS / 1000 for o in off)
        and all(abs(t - p) > DROP_MOVE_MS / 1000 for p in placed)]
    return sorted([*kept, *((t, 1.0) for t in placed)])


LISTS: dict[str, tuple[Rule, str]] = {"strs": (("str", 0, MAX_SHORT), "strings"),
                                      "mss": (("int", 0, MAX_MS), "times in ms")}


class DraftInvalid(ValueError):
    """The draft breaks the schema; the message names the field and what it must be."""


def _check(where: str, value: Any, rule: Rule) -> None:
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
    if kind == "numpairs":
        if not isinstance(value, list) or len(value) > high:
            raise DraftInvalid(f"{where} must be a list of at most {int(high)} [number, ms] pairs")
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise DraftInvalid(f"{where}[{i}] must be a [number, ms] pair")
            _check(f"{where}[{i}][0]", pair[0], ("int", 1, 10_000))
            _check(f"{where}[{i}][1]", pair[1], ("int", 0, MAX_MS))
        return
    if kind in LISTS:
        item_rule, items = LISTS[kind]
        if not isinstance(value, list) or len(value) > high:
            raise DraftInvalid(f"{where} must be a list of at most {int(high)} {items}")
        for i, item in enumerate(value):
            _check(f"{where}[{i}]", item, item_rule)
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


def _fields(where: str, obj: dict[str, Any], rules: dict[str, Rule]) -> None:
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
    if draft.get(DURATION) is not None:
        _check(f"draft.{DURATION}", draft[DURATION], ("num", 0, MAX_MS))
    if draft.get(META) is not None:
        if not isinstance(draft[META], dict):
            raise DraftInvalid(f"draft.{META} must be an object")
        _fields(f"draft.{META}", draft[META], META_FIELDS)
    found = draft.get(TRACKS)
    if found is None:
        return draft
    if not isinstance(found, list):
        raise DraftInvalid(f"draft.{TRACKS} must be a list of tracks")
    if len(found) > MAX_TRACKS:
        raise DraftInvalid(f"draft.{TRACKS} has more than {MAX_TRACKS} tracks")
    for i, one in enumerate(found):
        where = f"draft.{TRACKS}[{i}]"
        if not isinstance(one, dict):
            raise DraftInvalid(f"{where} must be an object")
        _fields(where, one, TRACK_FIELDS)
        parts = one.get(SEGMENTS)
        if parts is None:
            continue
        if not isinstance(parts, list):
            raise DraftInvalid(f"{where}.{SEGMENTS} must be a list of segments")
        if len(parts) > MAX_SEGMENTS:
            raise DraftInvalid(f"{where}.{SEGMENTS} has more than {MAX_SEGMENTS} segments")
        for j, segment in enumerate(parts):
            if not isinstance(segment, dict):
                raise DraftInvalid(f"{where}.{SEGMENTS}[{j}] must be an object")
            _fields(f"{where}.{SEGMENTS}[{j}]", segment, SEGMENT_FIELDS)
    return draft
