"""The user's words about the drops: "the drop is at 1:23", "drops at 0:45 and 2:10", "no drop at 0:30", "put the
drops back"; and the sentence that names the drops a video shows ("Drops at 0:56 and 2:16."), so that the user can
see them and correct them. ("no drops" is a switch, in `look`.)

Times are on the audio (the song's own clock), in the draft as ms: `m.drops_at` (placed), `m.drops_off` (found
ones removed), `m.drops_only` (only the placed ones), and `m.drops_shown` (what the video shows, for the summary).
The renderer applies the same rules to the analysis it has (`draft.drops_of`).
"""

from __future__ import annotations

import re
from typing import Any

from nemo_local.director.shots import Edit
from nemo_local.draft import DROP_OFF_MS, clock, drops_of

TIME = r"(\d{1,3}:\d{2}(?:\.\d{1,3})?|\d+(?:\.\d+)?\s*(?:s|secs?|seconds)\b|\d+(?:\.\d+)?\s*秒)"
DROP = r"(?:drop|高潮)"
SEVERAL = re.compile(rf"\b(?:the\s+)?drops\s+(?:are\s+|come\s+|hit\s+)?(?:at|around|on)\s+{TIME}"
                     rf"((?:\s*(?:,|and|&|、|和)\s*{TIME})+)|高潮在\s*{TIME}((?:\s*(?:,|and|、|和)\s*{TIME})+)")
REMOVE = re.compile(rf"(?:\b(?:no|not\s+a|remove\s+the|delete\s+the|there\s+is\s+no|there's\s+no)\s+{DROP}\s*"
                    rf"(?:at|around|near|@)\s*{TIME})|(?:(?:去掉|删除|不要)\s*{TIME}\s*的?\s*{DROP})")
PLACE = re.compile(rf"(?:\b(?:the|a|one|add\s+a)?\s*{DROP}\s+(?:is\s+|comes\s+|hits\s+|lands\s+|should\s+be\s+|"
                   rf"starts\s+|goes\s+)?(?:at|around|near|@)\s*{TIME})|(?:高潮(?:在|是)\s*{TIME})")
RESET = re.compile(r"\b(?:reset|restore|put back|bring back|find)\s+(?:the\s+)?drops?(?:\s+back)?\b|"
                   r"\bdrops?\s+back\b|恢复高潮")


def seconds(text: str) -> float:
    """A time as the user writes it: "1:23", "1:23.5", "83 s", "83秒"."""
    text = text.strip()
    if ":" in text:
        minutes, rest = text.split(":", 1)
        return int(minutes) * 60 + float(rest)
    return float(re.sub(r"[^\d.]", "", text))


def _times(match: re.Match[str]) -> list[int]:
    found = re.findall(TIME, match[0])
    return sorted({round(seconds(t) * 1000) for t in found})


def drop_edits(lowered: str, meta: dict[str, Any], edit: Edit) -> str:
    """Apply the words about where drops are (or are not) to `meta`; returns `lowered` without them, so that
    "no drop at 0:30" does not also read as "no drops"."""
    placed = [int(t) for t in meta.get("drops_at") or []]
    off = [int(t) for t in meta.get("drops_off") or []]
    touched = False
    if RESET.search(lowered):
        placed, off, touched = [], [], True
        meta.pop("drops_only", None)
        edit.changes.append("drops as found")
    lowered = RESET.sub(" ", lowered)
    for match in SEVERAL.finditer(lowered):
        placed, off, touched = _times(match), [], True
        meta["drops_only"] = True
        edit.changes.append("drops only at " + " and ".join(clock(t) for t in placed))
    lowered = SEVERAL.sub(" ", lowered)
    for match in REMOVE.finditer(lowered):
        for t in _times(match):
            near = [p for p in placed if abs(p - t) <= DROP_OFF_MS]
            placed = [p for p in placed if p not in near]
            if not near:
                off = sorted({*off, t})
            edit.changes.append(f"no drop at {clock(t)}")
            touched = True
    lowered = REMOVE.sub(" ", lowered)
    for match in PLACE.finditer(lowered):
        for t in _times(match):
            placed = sorted({*placed, t})
            off = [o for o in off if abs(o - t) > DROP_OFF_MS]
            edit.changes.append(f"drop at {clock(t)}")
            touched = True
    lowered = PLACE.sub(" ", lowered)
    if touched:
        meta["drops"] = True
        for key, value in (("drops_at", placed), ("drops_off", off)):
            if value:
                meta[key] = value
            else:
                meta.pop(key, None)
    return lowered


def name_drops(meta: dict[str, Any], found: list[tuple[float, float]]) -> str:
    """The sentence that says which drops the video shows (and how to correct them); `meta["drops_shown"]` too."""
    shown = drops_of(meta, found)
    meta["drops_shown"] = [round(t * 1000) for t, _ in shown][:200]
    if meta.get("drops") is False:
        return ""
    if not shown:
        return "No drop found in the music; say where one is (\"the drop is at 1:23\") to highlight it."
    times = [clock(t * 1000) + (" (subtle)" if g < 0.75 else "") for t, g in shown]
    listed = times[0] if len(times) == 1 else ", ".join(times[:-1]) + " and " + times[-1]
    return (f"Drop{'s' if len(times) > 1 else ''} at {listed}; to correct them say \"the drop is at 1:23\" or "
            "\"no drop at 0:30\".")
