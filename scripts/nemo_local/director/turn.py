"""The rule-based director: a user's words plus the session's files become edits of the draft.

The draft uses the documented short keys (`t` tracks, `tt` track type, `sg` segments, `d` duration in ms,
`m` metadata). Segment fields are this backend's own: `name`, `src` (file id), `s` (start ms), `d` (ms),
`v` (volume 0-1), `text`, `kind`. Everything the renderer needs is in the draft.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nemo_local.director.montage import Rhythm
from nemo_local.director.shots import Edit, choose_audio, logo, options, picture_order, video_segments
from nemo_local.director.texts import ms, text_segments
from nemo_local.director.voice import Speech, clip, speech
from nemo_local.speech import asr
from nemo_skill.destinations import DESTINATIONS, MB, parse_size

VIDEO, AUDIO, TEXT = 0, 1, 7

ASPECTS = {
    "16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080),
}
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
CANNOT = re.compile(
    r"\b(?:lip ?sync|avatar|talking head|translat\w+|voice ?over|"
    r"stock footage|generate (?:footage|clips|scenes)|ai footage|b-roll|face)\b|配音",
    re.I,
)
LOCAL_CAN = ("Local mode can: pick a style (waveform, bars, circle, pulse rings), set colours, the aspect ratio "
             "(16:9, 9:16, 1:1), a background image or your photos and clips cut to the beat (faster or slower "
             "cuts, shuffle, swap or drop a picture, crossfades, the visualizer over them or off), which track "
             "to use, a title with timing, word-by-word captions of speech (with SRT and VTT files; corrections "
             "like \"it's 'Nemo', not 'nemo'\"), loudness (-14 LUFS), the music volume, beat sync, drop "
             "highlights and a progress bar.")


QUOTED = re.compile(r'"[^"]*"|“[^”]*”|「[^」]*」|(?<!\w)\'[^\']*\'(?!\w)')
DESTINATION_WORDS = [(rf"\b(?:for|to|on|via|by)\s+(?:an?\s+)?{pattern}", name) for pattern, name in (
    (r"tik\s*tok", "tiktok"), (r"(?:instagram\s+)?reels?", "reels"), (r"(?:youtube\s+)?shorts", "shorts"),
    (r"youtube", "youtube"), (r"discord", "discord"), (r"telegram", "telegram"), (r"whats\s*app", "whatsapp"),
    (r"e-?mail", "email"))]
SIZE = re.compile(r"\b(?:under|below|at most|max(?:imum)?|smaller than|less than|within)\s+"
                  r"(\d+(?:\.\d+)?\s*[kmg]i?b)\b", re.I)


def _destination(lowered: str, meta: dict[str, Any], duration_ms: int, out: Direction) -> int | None:
    """Words naming where the video goes set its frame, audio and size cap; returns a trimmed length (ms) when
    the user asked to trim to the platform's limit."""
    for pattern, key in DESTINATION_WORDS:
        if re.search(pattern, lowered):
            place = DESTINATIONS[key]
            meta["destination"], meta["audio_kbps"] = key, place.audio_kbps
            if place.aspect:
                meta["aspect"] = place.aspect
                meta["width"], meta["height"] = ASPECTS[place.aspect]
            if place.max_bytes:
                meta["max_bytes"] = place.max_bytes
            else:
                meta.pop("max_bytes", None)
            out.changes.append(f"for {place.name}" + (f" (at most {place.max_bytes / MB:g} MB)"
                                                       if place.max_bytes else ""))
            if place.max_seconds and duration_ms > place.max_seconds * 1000:
                if re.search(r"\btrim|\bshorten|\bcut (?:it|the (?:track|song|audio|video))\b", lowered):
                    out.changes.append(f"trimmed to {place.max_seconds:g} s")
                    return int(place.max_seconds * 1000)
                out.notes.append(f"{place.name} takes at most {place.max_seconds:g} s and this runs "
                                 f"{duration_ms / 1000:.0f} s: say \"trim it for {place.name}\" to cut it.")
            break
    size = SIZE.search(lowered)
    if size:
        try:
            meta["max_bytes"] = parse_size(size[1])
            out.changes.append(f"at most {meta['max_bytes'] / MB:g} MB")
        except ValueError as exc:
            out.notes.append(str(exc))
    return None


@dataclass
class Direction:
    draft: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reply: str = ""



def _colour(text: str) -> str | None:
    m = re.search(r"#[0-9a-fA-F]{6}\b", text)
    if m:
        return m[0].lower()
    for word, hexcode in COLOURS.items():
        pattern = word if not word.isascii() else rf"\b{word}\b"
        if re.search(pattern, text, re.I):
            return hexcode
    return None


def for_speech(skill_source: str | None) -> bool:
    """The video-a2e skill is for podcasts and voice: captions and broadcast loudness start on."""
    return skill_source == "video-a2e"


def default_style(skill_source: str | None) -> str:
    """Podcasts (the video-a2e skill) start as a waveform audiogram; music starts as spectrum bars."""
    return "wave" if skill_source == "video-a2e" else "bars"


def direct(text: str, draft: dict[str, Any], files: list[dict[str, Any]], style: str = "bars",
           rhythm: Callable[[dict[str, Any]], Rhythm | None] | None = None, for_speech: bool = False,
           speech_of: Callable[[dict[str, Any]], Speech | None] | None = None) -> Direction:
    """Apply one user message to the draft. `files` are the session's uploads, oldest first; `rhythm` gives an
    audio file's beats, drops and sections (asked only when several pictures are cut to the music)."""
    new: dict[str, Any] = copy.deepcopy(draft) if draft.get("t") else {"t": [], "d": 0, "m": {}}
    meta = {**DEFAULT_META, "style": style, **new.get("m", {})}
    out = Direction(new)
    words = QUOTED.sub(" ", text)      # quoted text is content (a title), never an option
    lowered = words.lower()
    old_video = [s for t in new["t"] if t.get("tt") == VIDEO for s in t.get("sg") or []]
    edit = Edit()
    logo(text, meta, files, edit)
    order = picture_order(lowered, meta, files, edit, list(dict.fromkeys(
        str(s["src"]) for s in old_video if s.get("src"))))
    lowered = options(edit.rest, meta, edit)

    for pattern, aspect in ASPECT_WORDS:
        if re.search(pattern, lowered):
            if meta["aspect"] != aspect or not draft.get("t"):
                out.changes.append(f"aspect {aspect}")
            meta["aspect"] = aspect
            meta["width"], meta["height"] = ASPECTS[aspect]
            break
    for pattern, style in STYLES:
        if re.search(pattern, lowered):
            meta["style"] = style
            out.changes.append(f"style {style}")
            if meta.get("visualizer") is False and "visualizer off" not in edit.changes:
                meta["visualizer"] = True     # naming a style asks to see it
            break
    colour = _colour(words)
    if colour:
        if re.search(r"\bbackground\b|背景", lowered) and not re.search(r"\bimage\b|\bphoto\b|图片", lowered):
            meta["background"] = colour
            out.changes.append(f"background {colour}")
        else:
            meta["accent"] = colour
            out.changes.append(f"colour {colour}")
    toggles = (("beat_sync", r"beat|节拍"), ("drops", r"drops?|高潮"), ("progress_bar", r"progress ?bar|进度条"))
    for key, word in toggles:
        negated = rf"\b(?:no|without|remove|disable|turn off|hide)\b[^.,;]*?(?:{word})|(?:去掉|关闭|不要)(?:{word})"
        if re.search(negated, lowered):
            meta[key] = False
            out.changes.append(f"{key} off")
        elif re.search(word, lowered):
            meta[key] = True
            out.changes.append(f"{key} on")

    speech(text, lowered, meta, edit, first=not draft.get("t"), for_speech=for_speech, files=files)
    old_audio = [s for t in new["t"] if t.get("tt") == AUDIO for s in t.get("sg") or []]
    audio = choose_audio(text.lower(), files, str(old_audio[0].get("src")) if old_audio else None,
                         int(meta.get("seen", 0) or 0), edit)
    if audio is None and not draft.get("t"):
        out.reply = "Upload an audio file first (MP3, WAV, AAC, FLAC or M4A), then tell me what video you want."
        return out
    duration = ms(audio["info"].get("duration") or 0) if audio else int(new.get("d") or 0)
    trimmed = _destination(lowered, meta, duration, out)
    if trimmed:
        meta["trim_ms"] = trimmed
    if audio is not None:
        language = asr.caption_language(meta.get("caption_language"))   # the best clip: from words heard in it
        spoken: dict[str, Any] = {**audio, "language": language}
        clip(lowered, meta, edit, duration / 1000,
             lambda: speech_of(spoken) if speech_of is not None and asr.available(language) is None else None)
    if meta.get("clip_ms"):
        duration = max(0, min(duration - int(meta.get("clip_start_ms") or 0), int(meta["clip_ms"])))
    if meta.get("trim_ms"):
        duration = min(duration, int(meta["trim_ms"]))
    tracks: list[dict[str, Any]] = new["t"]
    by_type = {t["tt"]: t for t in tracks}

    if audio is not None:
        old = by_type.get(AUDIO, {}).get("sg") or [{}]
        volume = float(old[0].get("v", 1.0))
        vol = re.search(r"(\d{1,3})\s*%", words)
        if vol and re.search(r"volume|bgm|music|audio|level|音量", lowered):
            volume = min(int(vol[1]), 200) / 100
            out.changes.append(f"volume {int(vol[1])}%")
        segment = {"id": "a1", "name": audio["filename"], "src": audio["file_id"], "s": 0, "d": duration,
                   "v": volume}
        if old[0].get("src") != audio["file_id"]:
            out.changes.append(f"audio {audio['filename']}")
        by_type[AUDIO] = {"tt": AUDIO, "n": "BGM", "sg": [segment]}
    wants_image = re.search(r"\bno (?:background )?(?:image|photos?|pictures?)\b|\bremove the (?:background )?"
                            r"(?:image|photos?|pictures?)\b", lowered) is None
    if wants_image and order:
        chosen = audio
        pictures = video_segments(order, files, meta, duration,
                                  lambda: rhythm(chosen) if rhythm is not None and chosen is not None else None)
    else:
        pictures = []
    if not pictures:
        pictures = [{"id": "v1", "kind": "visualizer", "name": f"{meta['style']} visualizer", "s": 0, "d": duration}]
    if len(pictures) > 1:
        if [(s.get("src"), s.get("s")) for s in old_video] != [(s["src"], s["s"]) for s in pictures]:
            out.changes.append(f"{len(pictures)} shots of {len(order)} pictures cut on the music")
    elif not old_video or old_video[0].get("src") != pictures[0].get("src") or \
            old_video[0].get("name") != pictures[0]["name"] or len(old_video) > 1:
        out.changes.append(f"visual {pictures[0]['name']}")
    by_type[VIDEO] = {"tt": VIDEO, "n": "Visual", "sg": pictures}
    meta["seen"] = len(files)
    out.changes += edit.changes
    out.notes += edit.notes

    texts = text_segments(text, lowered, {str(seg.get("id")): seg for seg in by_type.get(TEXT, {}).get("sg") or []},
                          duration, out.changes)
    if texts:
        by_type[TEXT] = {"tt": TEXT, "n": "Text", "sg": [texts[k] for k in ("t1", "l1") if k in texts]}
    else:
        by_type.pop(TEXT, None)

    new["t"] = [by_type[k] for k in (VIDEO, AUDIO, TEXT) if k in by_type]
    new["d"] = duration
    if "t1" in texts:
        meta["title"] = texts["t1"]["text"]
    else:
        meta.pop("title", None)
    new["m"] = meta
    if CANNOT.search(text) and not out.changes:
        out.reply = "That is beyond what the local renderer does. " + LOCAL_CAN
    elif out.changes:
        cap = f", at most {meta['max_bytes'] / MB:g} MB" if meta.get("max_bytes") else ""
        out.reply = ("Updated the video: " + "; ".join(dict.fromkeys(out.changes)) +
                     f". It runs {duration / 1000:.1f} s at {meta['width']}x{meta['height']}{cap}. "
                     "Say export when ready.")
    else:
        out.reply = "The draft is unchanged. " + LOCAL_CAN
    if out.notes:
        out.reply += " " + " ".join(out.notes)
    return out
