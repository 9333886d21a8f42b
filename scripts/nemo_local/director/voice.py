"""The director's rules for speech: captions on or off, the word highlight, corrections to the transcript, and
loudness. Part of the director (the only place words become a draft).

Draft keys written here (`m`): `captions` (bool), `accurate_captions` (bool: the most accurate model installed),
`caption_highlight` (bool), `caption_fixes` ([[wrong, right],
...]), `caption_language` ("zh"/"zh-Hant": Chinese in simplified/traditional characters, heard by
the multilingual model; absent: English), `loudness` (target
LUFS, e.g. -14; 0 = leave the audio as it is), `script` (a text upload whose words the captions show),
`clip_start_ms` and `clip_ms` (the part of the audio the video shows), `fades` (short fades at the clip's ends).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from nemo_local.director import highlight
from nemo_local.director.shots import Edit
from nemo_local.speech import asr
from nemo_local.speech.captions import cjk_font
from nemo_local.speech.words import Word

DEFAULT_LUFS = -14
ON = re.compile(r"\b(?:captions?|subtitles?|subs|closed captions|words on screen|transcri\w+)\b|字幕")
OFF = re.compile(r"\b(?:no|without|remove|hide|turn off|disable|drop)\b[^.,;]*?\b(?:captions?|subtitles?|subs)\b|"
                 r"(?:去掉|关闭|不要)字幕")
NO_HIGHLIGHT = re.compile(r"\b(?:no|without(?: the)?|turn off(?: the)?) (?:word )?(?:highlight\w*|karaoke)\b")
HIGHLIGHT = re.compile(r"\bhighlight (?:the |each |every )?words?\b|\bkaraoke\b")
ACCURATE = re.compile(r"\b(?:more |most |very )?(?:accurate|precise|exact|better|best|careful)\s+"
                      r"(?:captions|subtitles|transcri\w+)\b|\b(?:captions|subtitles) (?:that are |more )?"
                      r"(?:accurate|right)\b|(?:准确|精确)的?字幕")
QUICK = re.compile(r"\b(?:fast|quick|faster|quicker) (?:captions|subtitles|transcri\w+)\b")
Q = r"[\"“'‘]([^\"”’“‘]{1,80}?)[\"”'’]"
FIXES = [   # (pattern, index of the wrong words, index of the right ones)
    (re.compile(rf"\b(?:it'?s|it is|spell(?:ed)? it|write it)\s+{Q}\s*,?\s*not\s+{Q}", re.I), 2, 1),
    (re.compile(rf"\breplace\s+{Q}\s+(?:with|by)\s+{Q}", re.I), 1, 2),
    (re.compile(rf"\b{Q}\s+(?:should be|is actually)\s+{Q}", re.I), 1, 2),
]
LUFS = re.compile(r"(-\s?\d{1,2}(?:\.\d)?)\s*lufs\b")
NO_LOUDNESS = re.compile(r"\b(?:no|without|skip|turn off)\b[^.,;]*\b(?:loudness|normali[sz]\w*)\b|"
                         r"\b(?:original|keep the|keep my) (?:loudness|level|volume)\b")


CHINESE = re.compile(r"中文|汉语|普通话|\bchinese\b|\bmandarin\b", re.I)
TRADITIONAL = re.compile(r"繁體|繁体|正體|\btraditional\b", re.I)
ENGLISH = re.compile(r"英文|英语|\benglish\b", re.I)
NO_SCRIPT = re.compile(r"\b(?:ignore|drop|forget|without) (?:the |my )?(?:script|lyrics|subtitle file|srt|lrc)\b|"
                       r"\btranscribe it(?: yourself)?\b")


def script(lowered: str, meta: dict[str, Any], files: list[dict[str, Any]], seen: int, edit: Edit) -> None:
    """The user's own words for the captions (`m.script`): a text upload (SRT, VTT, LRC or a plain script), the
    one named, else the newest since the last message; "ignore the script" goes back to the recogniser."""
    texts = [f for f in files if f["kind"] == "text"]
    if NO_SCRIPT.search(lowered):
        if meta.pop("script", None):
            edit.changes.append("captions from the recogniser, not the script")
        return
    named = next((f for f in texts if f["filename"].lower() in lowered), None)
    fresh = [f for f in files[seen:] if f["kind"] == "text"]
    pick = named or (fresh[-1] if fresh else None)
    if pick is not None and meta.get("script") != pick["file_id"]:
        meta["script"], meta["captions"] = pick["file_id"], True
        timed = pick["filename"].lower().rsplit(".", 1)[-1] in ("srt", "vtt", "lrc")
        edit.changes.append(f"captions from {pick['filename']}" + ("" if timed else ", timed by the recogniser"))


def speech(text: str, lowered: str, meta: dict[str, Any], edit: Edit, first: bool, for_speech: bool,
           files: list[dict[str, Any]] | None = None) -> None:
    """Apply the words about captions and loudness to `meta`. A speech skill starts with captions on (when this
    machine can make them) and with broadcast loudness."""
    if first and for_speech and not re.search(r"drops?|高潮", lowered):
        meta["drops"] = False   # speech has no drops: a flash in a podcast would be a false one
    wants = None
    if OFF.search(lowered):
        wants = False
    elif ON.search(lowered) or (first and for_speech and "captions" not in meta):
        wants = True
    if wants is False and meta.get("captions"):
        meta["captions"] = False
        edit.changes.append("captions off")
    elif wants:
        timed = any(f["file_id"] == meta.get("script") and f["filename"].lower().rsplit(".", 1)[-1] in
                    ("srt", "vtt", "lrc") for f in files or [])
        if CHINESE.search(text):
            _chinese(meta, edit, timed, "zh-Hant" if TRADITIONAL.search(text) else "zh")
            return _finish(text, lowered, meta, edit, first, for_speech)
        if ENGLISH.search(text) and meta.pop("caption_language", None):
            edit.changes.append("captions in English")
        reason = None if timed else asr.available(meta.get("caption_language"))
        if reason is None:
            if not meta.get("captions"):
                edit.changes.append("captions on (word by word, with an SRT and a VTT beside the video)")
            meta["captions"] = True
        elif ON.search(lowered):
            edit.notes.append(f"No captions: {reason}.")
    _finish(text, lowered, meta, edit, first, for_speech)


def _chinese(meta: dict[str, Any], edit: Edit, timed: bool, language: str) -> None:
    """Chinese captions (`m.caption_language` "zh", or "zh-Hant" in traditional characters): the multilingual
    model hears Chinese and each character lights as it is spoken; they need that model (unless the user's
    SRT/VTT/LRC has the times) and a font."""
    reason = None if timed else asr.available(language)
    missing = [] if reason is None else [reason]
    if cjk_font() is None:
        missing.append("a font with Chinese characters (NEMO_CAPTION_FONT, or WenQuanYi / Noto Sans CJK installed)")
    if missing:
        edit.notes.append(f"No Chinese captions: {'; and '.join(missing)}. An uploaded SRT, VTT or LRC in Chinese "
                          "needs only the font.")
        return
    if not meta.get("captions") or meta.get("caption_language") != language:
        written = "traditional" if language == "zh-Hant" else "simplified"
        edit.changes.append(f"Chinese captions on ({written} characters, lit one by one, with an SRT and a VTT "
                            "beside the video)")
    meta["captions"], meta["caption_language"] = True, language


def known_fixes(meta: dict[str, Any], audio: dict[str, Any], edit: Edit) -> None:
    """The corrections the user made to this recording before (in any session) apply again when captions show."""
    if not meta.get("captions") or not audio.get("fixes"):
        return
    have = {str(pair[0]).lower() for pair in meta.get("caption_fixes") or []}
    fresh = [list(pair) for pair in audio["fixes"] if str(pair[0]).lower() not in have]
    if fresh:
        meta["caption_fixes"] = [*(meta.get("caption_fixes") or []), *fresh][-50:]
        edit.changes.append(f"{len(fresh)} correction{'s' if len(fresh) != 1 else ''} from earlier videos of "
                            f"{audio['filename']}")


def _finish(text: str, lowered: str, meta: dict[str, Any], edit: Edit, first: bool, for_speech: bool) -> None:
    """The words about the highlight, corrections and loudness, whatever was said about captions."""
    if ACCURATE.search(lowered):
        meta["accurate_captions"] = meta["captions"] = True
        edit.changes.append("the most accurate speech model installed, whatever it costs")
    elif QUICK.search(lowered) and meta.pop("accurate_captions", None):
        edit.changes.append("the quick speech model")
    if NO_HIGHLIGHT.search(lowered):
        meta["caption_highlight"] = False
        edit.changes.append("word highlight off")
    elif HIGHLIGHT.search(lowered):
        meta["caption_highlight"] = True
        edit.changes.append("word highlight on")
    for pattern, wrong, right in FIXES:
        for found in pattern.finditer(text):
            pair = [found[wrong].strip(), found[right].strip()]
            fixes = [f for f in meta.get("caption_fixes") or [] if f[0].lower() != pair[0].lower()]
            meta["caption_fixes"] = [*fixes, pair][-50:]
            edit.changes.append(f"captions say \"{pair[1]}\" for \"{pair[0]}\"")
    level = LUFS.search(lowered)
    if NO_LOUDNESS.search(lowered):
        meta["loudness"] = 0
        edit.changes.append("loudness left as it is")
    elif level:
        meta["loudness"] = max(-40.0, min(-5.0, float(level[1].replace(" ", ""))))
        edit.changes.append(f"loudness {meta['loudness']:g} LUFS")
    elif "loudness" not in meta and ((meta.get("captions") and not meta.get("lyrics")) or (first and for_speech)):
        meta["loudness"] = DEFAULT_LUFS
        edit.changes.append(f"loudness {DEFAULT_LUFS} LUFS")


Speech = tuple[list[Word], Any, float]     # words, loudness in dB per step, steps per second


def clip(lowered: str, meta: dict[str, Any], edit: Edit, duration: float,
         speech_of: Callable[[], Speech | None]) -> None:
    """Words that cut a clip out of the audio: "best 45 seconds" (chosen from the transcript and the audio, and
    said why), "the 30 seconds from 1:20", "first minute", "trim to 45 s"; "the whole thing" undoes it. The clip
    is `m.clip_start_ms` + `m.clip_ms`, with short fades at both ends (`m.fades`)."""
    if WHOLE.search(lowered):
        for key in ("clip_start_ms", "clip_ms"):
            meta.pop(key, None)
        edit.changes.append("the whole recording")
        return
    want = highlight.asked(lowered)
    if want is None or duration <= 0:
        return
    kind, start, length = want
    if kind == "best":
        heard = speech_of()
        if heard is None:
            edit.notes.append(f"Picking the best part needs speech recognition: {asr.available() or 'no words'}.")
            return
        span = highlight.best(heard[0], heard[1], heard[2], length, duration)
        if span is None:
            edit.notes.append(f"The recording runs {duration:.0f} s, not much longer than {length:g} s: all of it "
                              "is used.")
            return
        start, length = span.start, span.end - span.start
        edit.changes.append(f"the best {want[2]:g} s: {span.why}")
    else:
        if start >= duration:
            edit.notes.append(f"The recording ends at {highlight.clock(duration)}; nothing to cut from "
                              f"{highlight.clock(start)}.")
            return
        length = min(length, duration - start)
        edit.changes.append(f"clip {highlight.clock(start)}-{highlight.clock(start + length)}")
    meta["clip_start_ms"], meta["clip_ms"], meta["fades"] = round(start * 1000), round(length * 1000), True


WHOLE = re.compile(r"\b(?:the )?(?:whole|full|entire) (?:thing|track|recording|episode|song|audio|length)\b|"
                   r"\bno (?:clip|trim)\b")
