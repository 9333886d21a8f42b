"""The director's rules for lyrics: the lyric layout (big centred lines, the sung one lit), where the lines come
from (the user's LRC, SRT, VTT or plain lyrics, else what is heard), the reply about them (how many lines, which
were left out, how sure the placing on the singing is), and the user's corrections ("line 3 starts at 0:42",
"shift the lyrics 0.3 s later"). Part of the director (the only place words become a draft).

Draft keys written here (`m`): `lyrics` (bool: the lyric layout; captions must be on), `lyric_starts` ([[line
number, ms], ...]), `lyric_shift_ms` (ms; negative is earlier).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemo_local.director.shots import Edit
from nemo_local.speech.lyrics import Placed
from nemo_local.speech.transcripts import Script, ScriptError, read

ON = re.compile(r"\blyrics?(?: video| layout| style)?\b|\bkaraoke video\b|\bsing[- ]along\b|歌词")
OFF = re.compile(r"\b(?:no|without|remove|hide|turn off|drop) (?:the )?lyric(?:s| layout)\b|"
                 r"\b(?:as|like) (?:normal |plain )?captions\b|(?:去掉|不要)歌词")
STARTS = re.compile(r"\bline\s+(\d{1,3})\s+(?:starts|begins|comes in|should start|is)\s+(?:at\s+)?"
                    r"(\d{1,2}):(\d{2}(?:\.\d{1,3})?)\b")
SHIFT = re.compile(r"\b(?:shift|move|nudge|delay|push|pull)\s+(?:all\s+)?(?:the\s+)?(?:lyrics|words|lines|captions)"
                   r"\s+(?:by\s+)?(\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?)\s+(later|earlier|back|forward)\b|"
                   r"\b(?:the\s+)?(?:lyrics|words|lines)\s+(?:are|come|run)\s+(\d+(?:\.\d+)?)\s*(ms|s|secs?|seconds?)"
                   r"\s+(late|early|too late|too early)\b")
Placing = Callable[[dict[str, Any], dict[str, Any]], Placed | None]   # (audio file, lyrics file) -> placing


def _script(file: dict[str, Any]) -> Script | None:
    try:
        return read(Path(file["path"])) if file.get("path") else None
    except (ScriptError, OSError):
        return None


def consume(lowered: str) -> str:
    """The words without the lyric corrections (so "line 3 starts at 0:42" picks no style)."""
    return SHIFT.sub(" ", STARTS.sub(" ", lowered))


def layout(text: str, meta: dict[str, Any], files: list[dict[str, Any]], edit: Edit, picked: bool) -> bool:
    """The lyric layout on or off, and the corrections; True when the reply should say where the lines come from
    (the layout or its file is new this turn). `picked`: a lyrics or subtitle file was taken this turn: an LRC
    turns the layout on; plain text when the words say lyrics."""
    lowered = text.lower()
    own = next((f for f in files if f["file_id"] == meta.get("script")), None)
    ext = own["filename"].lower().rsplit(".", 1)[-1] if own else ""
    was = bool(meta.get("lyrics"))
    if OFF.search(lowered):
        if meta.pop("lyrics", None):
            edit.changes.append("lyrics shown as captions")
        return False
    if ON.search(lowered) or (picked and ext == "lrc"):
        meta["lyrics"] = meta["captions"] = True
    if not meta.get("lyrics"):
        return False
    _corrections(lowered, meta, edit)
    return not was or picked


def report(meta: dict[str, Any], files: list[dict[str, Any]], audio: dict[str, Any] | None, edit: Edit,
           placing: Placing | None = None) -> None:
    """Where the lyric lines come from, for the reply: how many lines, what was left out, how sure the placing on
    the singing is (`placing` places plain lyrics, as the render will)."""
    own = next((f for f in files if f["file_id"] == meta.get("script")), None)
    script = _script(own) if own else None
    if own is None:
        edit.changes.append("lyric layout (the words heard in the song, a line at a time)")
    elif script is None:
        edit.notes.append(f"{own['filename']} cannot be read as lyrics.")
    elif script.timed:
        edit.changes.append(f"lyrics from {own['filename']}: {len(script.cues)} lines at their own times")
    else:
        placed = placing(audio, own) if placing is not None and audio is not None else None
        how = placed.said() if placed is not None else "placed on the singing when the video is made"
        edit.changes.append(f"lyrics from {own['filename']}, {len(script.cues)} lines: {how}")
        edit.notes.append("To correct them say e.g. \"line 3 starts at 0:42\" or \"shift the lyrics 0.3 s later\".")
    if script is not None and script.said():
        edit.notes.append(script.said()[0].upper() + script.said()[1:] + ".")


def _corrections(lowered: str, meta: dict[str, Any], edit: Edit) -> bool:
    """"line 3 starts at 0:42" and "shift the lyrics 0.3 s later"; True when there was one."""
    found = False
    for match in STARTS.finditer(lowered):
        number, ms = int(match[1]), round((int(match[2]) * 60 + float(match[3])) * 1000)
        starts = [pair for pair in meta.get("lyric_starts") or [] if int(pair[0]) != number]
        meta["lyric_starts"] = sorted([*starts, [number, ms]])[-200:]
        edit.changes.append(f"line {number} starts at {match[2]}:{match[3]}")
        found = True
    shift = SHIFT.search(lowered)
    if shift:
        amount, unit, way = (shift[1], shift[2], shift[3]) if shift[1] else (shift[4], shift[5], shift[6])
        ms = round(float(amount) * (1 if unit == "ms" else 1000))
        later = way in ("later", "back", "early", "too early")     # lyrics that come early are shown later
        meta["lyric_shift_ms"] = max(-600_000, min(600_000, int(meta.get("lyric_shift_ms") or 0)
                                                   + (ms if later else -ms)))
        edit.changes.append(f"lyrics {ms / 1000:g} s {'later' if later else 'earlier'}")
        found = True
    return found
