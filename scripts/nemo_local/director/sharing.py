"""The director's rules for where the video goes: a platform's frame, audio rate, size cap and longest length,
from the user's words ("for Discord", "under 8 MB") or from the client's structured options (`--for`,
`--aspect`, `--max-size`, which arrive as data, never as words). Part of the director.

Draft keys written here (`m`): `destination`, `audio_kbps`, `max_bytes`, `trim_ms` (and the frame, through
`look.set_aspect`).
"""

from __future__ import annotations

import re
from typing import Any

from nemo_local.director.look import set_aspect
from nemo_local.director.shots import Edit
from nemo_local.draft import ASPECTS, META_FIELDS
from nemo_skill.destinations import DESTINATIONS, MB, parse_size, place_in, size_in

TRIM = re.compile(r"\btrim|\bshorten|\bcut (?:it|the (?:track|song|audio|video))\b")


def _place(key: str, meta: dict[str, Any], duration_ms: int, edit: Edit, trim: bool) -> int | None:
    """Set a destination's frame, audio rate and cap; returns a trimmed length (ms) when asked to trim to its
    longest length."""
    place = DESTINATIONS[key]
    meta["destination"], meta["audio_kbps"] = key, place.audio_kbps
    if place.aspect:
        set_aspect(meta, place.aspect)
    if place.max_bytes:
        meta["max_bytes"] = place.max_bytes
    else:
        meta.pop("max_bytes", None)
    edit.changes.append(f"for {place.name}" + (f" (at most {place.max_bytes / MB:g} MB)" if place.max_bytes else ""))
    if place.max_seconds and duration_ms > place.max_seconds * 1000:
        if trim:
            edit.changes.append(f"trimmed to {place.max_seconds:g} s")
            return int(place.max_seconds * 1000)
        edit.notes.append(f"{place.name} takes at most {place.max_seconds:g} s and this runs "
                          f"{duration_ms / 1000:.0f} s: say \"trim it for {place.name}\" to cut it.")
    return None


def destination(lowered: str, meta: dict[str, Any], duration_ms: int, edit: Edit) -> int | None:
    """Words naming where the video goes set its frame, audio and size cap; returns a trimmed length (ms) when
    the user asked to trim to the platform's limit."""
    key = place_in(lowered)
    trimmed = _place(key, meta, duration_ms, edit, TRIM.search(lowered) is not None) if key else None
    size = size_in(lowered)
    if size:
        try:
            meta["max_bytes"] = parse_size(size)
            edit.changes.append(f"at most {meta['max_bytes'] / MB:g} MB")
        except ValueError as exc:
            edit.notes.append(str(exc))
    return trimmed


def structured(options: dict[str, Any], meta: dict[str, Any], duration_ms: int, edit: Edit) -> None:
    """The client's structured output options (`destination`, `aspect`, `max_bytes`), applied as data. They are
    client data: unknown places, aspects and out-of-range sizes are left out with a note."""
    key = options.get("destination")
    if isinstance(key, str) and key in DESTINATIONS:
        _place(key, meta, duration_ms, edit, trim=False)
    elif key is not None:
        edit.notes.append(f"Unknown destination {str(key)[:40]!r}: say one of {', '.join(DESTINATIONS)}.")
    aspect = options.get("aspect")
    if isinstance(aspect, str) and aspect in ASPECTS:
        if meta.get("aspect") != aspect:
            edit.changes.append(f"aspect {aspect}")
        set_aspect(meta, aspect)
    cap = options.get("max_bytes")
    low, high = META_FIELDS["max_bytes"][1:]
    if isinstance(cap, int) and not isinstance(cap, bool) and low <= cap <= high:
        meta["max_bytes"] = min(cap, int(meta.get("max_bytes") or cap)) if options.get("destination") else cap
        edit.changes.append(f"at most {meta['max_bytes'] / MB:g} MB")
