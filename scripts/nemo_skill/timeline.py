"""The timeline summary: a draft (short keys t, tt, sg, d, m) as one readable line."""

from __future__ import annotations

from typing import Any

TRACK_LABELS = {0: "Video", 1: "BGM", 7: "Title"}
MAX_SEGMENTS = 5


def _seconds(ms: Any) -> float | None:
    try:
        return float(ms) / 1000
    except (TypeError, ValueError):
        return None


def _fmt(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def _segment(seg: dict[str, Any], track_type: Any) -> str:
    text = seg.get("text") or seg.get("content")
    if track_type == 7 and isinstance(text, str):
        name = f'"{text}"'
    else:
        name = str(seg.get("name") or seg.get("n") or seg.get("title") or text or seg.get("kind") or "clip")
    start = _seconds(next((seg[k] for k in ("s", "st", "start") if k in seg), 0)) or 0.0
    length = _seconds(seg.get("d", seg.get("duration")))
    end = _seconds(seg.get("e", seg.get("end")))
    if end is None and length is not None:
        end = start + length
    extras = [f"{_fmt(start)}-{_fmt(end)}s"] if end is not None else []
    volume = seg.get("v", seg.get("volume"))
    if isinstance(volume, int | float) and not isinstance(volume, bool) and abs(volume - 1) > 1e-6:
        extras.append(f"{round(volume * 100 if volume <= 2 else volume):d}%")
    return f"{name} ({', '.join(extras)})" if extras else name


def exportable(draft: Any) -> bool:
    """A draft can be rendered when at least one track has a non-empty segment list (`t[].sg`)."""
    tracks = draft.get("t") if isinstance(draft, dict) else None
    return isinstance(tracks, list) and any(isinstance(t, dict) and t.get("sg") for t in tracks)


def summarize(draft: Any) -> str:
    """'Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. ...'."""
    tracks = draft.get("t") if isinstance(draft, dict) else None
    if not isinstance(tracks, list) or not tracks:
        return "Timeline (0 tracks): empty. Upload audio and describe the video you want."
    parts = []
    for number, track in enumerate(tracks, 1):
        if not isinstance(track, dict):
            continue
        kind = track.get("tt")
        label = TRACK_LABELS.get(kind, "Text" if kind == 7 else "Track") if isinstance(kind, int) else "Track"
        segments = [s for s in track.get("sg") or [] if isinstance(s, dict)]
        shown = ", ".join(_segment(s, kind) for s in segments[:MAX_SEGMENTS]) or "(empty)"
        if len(segments) > MAX_SEGMENTS:
            shown += f", +{len(segments) - MAX_SEGMENTS} more"
        parts.append(f"{number}. {label}: {shown}")
    noun = "track" if len(tracks) == 1 else "tracks"
    return f"Timeline ({len(tracks)} {noun}): " + " ".join(parts)
