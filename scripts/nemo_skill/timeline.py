"""The timeline summary: a draft (short keys t, tt, sg, d, m; read through `nemo_local.draft`) as one readable
line. Segments of a cloud draft may carry fields this backend does not write: the summary copes with them."""

from __future__ import annotations

from typing import Any

from nemo_local.draft import KIND, LABELS, SEGMENTS, Kind, clock, meta_of, tracks_of

MAX_SEGMENTS = 5
MAX_DROPS = 8


def _seconds(ms: Any) -> float | None:
    try:
        return float(ms) / 1000
    except (TypeError, ValueError):
        return None


def _fmt(seconds: float) -> str:
    return f"{round(seconds, 1):g}"


def _segment(seg: dict[str, Any], track_type: Any) -> str:
    text = seg.get("text") or seg.get("content")
    if track_type == Kind.TEXT and isinstance(text, str):
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


def summarize(draft: Any) -> str:
    """'Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. ...'."""
    tracks = tracks_of(draft)
    if not tracks:
        return "Timeline (0 tracks): empty. Upload audio and describe the video you want."
    parts = []
    for number, track in enumerate(tracks, 1):
        kind = track.get(KIND)
        label = LABELS.get(kind, "Track") if isinstance(kind, int) and not isinstance(kind, bool) else "Track"
        segments = [s for s in track.get(SEGMENTS) or [] if isinstance(s, dict)]
        shown = ", ".join(_segment(s, kind) for s in segments[:MAX_SEGMENTS]) or "(empty)"
        if len(segments) > MAX_SEGMENTS:
            shown += f", +{len(segments) - MAX_SEGMENTS} more"
        parts.append(f"{number}. {label}: {shown}")
    noun = "track" if len(tracks) == 1 else "tracks"
    return f"Timeline ({len(tracks)} {noun}): " + " ".join(parts) + _drops(meta_of(draft))


def _drops(meta: dict[str, Any]) -> str:
    """' Drops: 0:56, 2:16.' when the draft says which drops the video shows."""
    shown = meta.get("drops_shown")
    if meta.get("drops") is False or not isinstance(shown, list) or not shown:
        return ""
    times = [clock(t) for t in shown[:MAX_DROPS] if isinstance(t, int | float) and not isinstance(t, bool)]
    more = f", +{len(shown) - MAX_DROPS} more" if len(shown) > MAX_DROPS else ""
    return f" Drops: {', '.join(times)}{more}." if times else ""
