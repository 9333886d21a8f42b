"""One turn of the director: a user's words (and the client's structured options) plus the session's files
become edits of the draft. Each kind of rule lives in its own module (`look`, `sharing`, `shots`, `voice`,
`texts`); this one runs them in order and writes the tracks.

The draft is written through `nemo_local.draft` (its keys and track kinds); segment fields are `name`, `src`
(file id), `s` (start ms), `d` (ms), `v` (volume 0-1), `text`, `kind`. Everything the renderer needs is in it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nemo_local.director.drops import drop_edits, name_drops
from nemo_local.director.look import DEFAULT_META, look
from nemo_local.director.lyrics import Placing, consume, layout, report
from nemo_local.director.montage import Rhythm
from nemo_local.director.sharing import destination, structured
from nemo_local.director.shots import Edit, choose_audio, logo, options, picture_order, video_segments
from nemo_local.director.texts import ms, text_segments
from nemo_local.director.voice import Speech, clip, known_fixes, script, speech
from nemo_local.draft import Kind, new_draft, new_track, segments_of, tracks_of
from nemo_local.speech import asr
from nemo_skill.destinations import MB

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
DROP_KEYS = ("drops", "drops_at", "drops_off", "drops_only")
NO_IMAGE = re.compile(r"\bno (?:background )?(?:image|photos?|pictures?)\b|\bremove the (?:background )?"
                      r"(?:image|photos?|pictures?)\b")


@dataclass
class Direction:
    draft: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reply: str = ""


def for_speech(skill_source: str | None) -> bool:
    """The video-a2e skill is for podcasts and voice: captions and broadcast loudness start on."""
    return skill_source == "video-a2e"


def default_style(skill_source: str | None) -> str:
    """Podcasts (the video-a2e skill) start as a waveform audiogram; music starts as spectrum bars."""
    return "wave" if skill_source == "video-a2e" else "bars"


def _once(ask: Callable[[dict[str, Any]], Rhythm | None]) -> Callable[[dict[str, Any]], Rhythm | None]:
    """`ask`, called at most once for each file (by its id)."""
    seen: dict[str, Rhythm | None] = {}

    def asked(file: dict[str, Any]) -> Rhythm | None:
        key = str(file.get("file_id"))
        if key not in seen:
            seen[key] = ask(file)
        return seen[key]

    return asked


def direct(text: str, draft: dict[str, Any], files: list[dict[str, Any]], style: str = "bars",
           rhythm: Callable[[dict[str, Any]], Rhythm | None] | None = None, for_speech: bool = False,
           speech_of: Callable[[dict[str, Any]], Speech | None] | None = None,
           output: dict[str, Any] | None = None, exporting: bool = False, placing: Placing | None = None
           ) -> Direction:
    """Apply one user message to the draft. `files` are the session's uploads, oldest first; `rhythm` gives an
    audio file's beats, drops and sections (asked only when several pictures are cut to the music); `output` is
    the client's structured options (`destination`, `aspect`, `max_bytes`), applied after the words; `exporting`
    says the client renders right after this turn (so the reply does not ask the user to say export)."""
    first = not tracks_of(draft)
    rhythm = _once(rhythm) if rhythm is not None else None    # the drops named and the cuts placed: one analysis
    new: dict[str, Any] = new_draft([], 0, {}) if first else copy.deepcopy(draft)
    meta = {**DEFAULT_META, "style": style, **new.get("m", {})}
    out = Direction(new)
    words = QUOTED.sub(" ", text)      # quoted text is content (a title), never an option
    lowered = words.lower()
    old_video = segments_of(new, Kind.VIDEO)
    edit = Edit()
    logo(text, meta, files, edit)
    order = picture_order(lowered, meta, files, edit, list(dict.fromkeys(
        str(s["src"]) for s in old_video if s.get("src"))))
    lowered = consume(options(edit.rest, meta, edit))      # a lyric correction ("line 3 ...") picks no style
    drops_before = [meta.get(k) for k in DROP_KEYS]
    lowered = drop_edits(lowered, meta, edit)                # "no drop at 0:30" is not "no drops"
    out.changes += look(words, lowered, meta, edit, first)

    script_before = meta.get("script")
    script(text.lower(), meta, files, int(meta.get("seen", 0) or 0), edit)
    new_lyrics = layout(words, meta, files, edit, meta.get("script") != script_before)
    speech(text, lowered, meta, edit, first=first, for_speech=for_speech, files=files)
    old_audio = segments_of(new, Kind.AUDIO)
    audio = choose_audio(text.lower(), files, str(old_audio[0].get("src")) if old_audio else None,
                         int(meta.get("seen", 0) or 0), edit)
    if audio is None and first:
        silent = [f["filename"] for f in files if f["kind"] == "video" and not f["info"].get("has_audio")]
        out.reply = (f"{silent[-1]} has no sound track: upload the audio (MP3, WAV, AAC, FLAC or M4A), or a video "
                     "with sound, then tell me what video you want." if silent else
                     "Upload an audio file first (MP3, WAV, AAC, FLAC or M4A), then tell me what video you want.")
        return out
    duration = ms(audio["info"].get("duration") or 0) if audio else int(new.get("d") or 0)
    sharing = Edit()
    trimmed = destination(lowered, meta, duration, sharing)
    if output:
        structured(output, meta, duration, sharing)
    out.changes += sharing.changes
    out.notes += sharing.notes
    if trimmed:
        meta["trim_ms"] = trimmed
    if audio is not None:
        known_fixes(meta, audio, edit)
        language = asr.caption_language(meta.get("caption_language"))   # the best clip: from words heard in it
        spoken: dict[str, Any] = {**audio, "language": language}
        clip(lowered, meta, edit, duration / 1000,
             lambda: speech_of(spoken) if speech_of is not None and asr.available(language) is None else None)
    if new_lyrics:
        report(meta, files, audio, edit, placing)
    if audio is not None and rhythm is not None and meta.get("drops") is not False and (
            not old_audio or old_audio[0].get("src") != audio["file_id"] or
            drops_before != [meta.get(k) for k in DROP_KEYS]):
        found = rhythm(audio)          # the drops found, named so that the user can correct them
        if found is not None:
            edit.notes.append(name_drops(meta, found.graded_drops()))
    if meta.get("clip_ms"):
        duration = max(0, min(duration - int(meta.get("clip_start_ms") or 0), int(meta["clip_ms"])))
    if meta.get("trim_ms"):
        duration = min(duration, int(meta["trim_ms"]))
    by_kind = {Kind(t["tt"]): t for t in tracks_of(new) if t.get("tt") in tuple(Kind)}

    if audio is not None:
        old = old_audio or [{}]
        volume = float(old[0].get("v", 1.0))
        vol = re.search(r"(\d{1,3})\s*%", words)
        if vol and re.search(r"volume|bgm|music|audio|level|音量", lowered):
            volume = min(int(vol[1]), 200) / 100
            out.changes.append(f"volume {int(vol[1])}%")
        segment = {"id": "a1", "name": audio["filename"], "src": audio["file_id"], "s": 0, "d": duration,
                   "v": volume}
        if old[0].get("src") != audio["file_id"]:
            out.changes.append(f"audio {audio['filename']}")
        by_kind[Kind.AUDIO] = new_track(Kind.AUDIO, "BGM", [segment])
    if NO_IMAGE.search(lowered) is None and order:
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
    by_kind[Kind.VIDEO] = new_track(Kind.VIDEO, "Visual", pictures)
    meta["seen"] = len(files)
    out.changes += edit.changes
    out.notes += edit.notes

    texts = text_segments(text, lowered, {str(seg.get("id")): seg for seg in segments_of(new, Kind.TEXT)},
                          duration, out.changes)
    if texts:
        by_kind[Kind.TEXT] = new_track(Kind.TEXT, "Text", [texts[k] for k in ("t1", "l1") if k in texts])
    else:
        by_kind.pop(Kind.TEXT, None)
    if "t1" in texts:
        meta["title"] = texts["t1"]["text"]
    else:
        meta.pop("title", None)
    out.draft = new_draft([by_kind[k] for k in (Kind.VIDEO, Kind.AUDIO, Kind.TEXT) if k in by_kind], duration, meta)
    out.reply = _reply(text, out, meta, duration, exporting)
    return out


def _reply(text: str, out: Direction, meta: dict[str, Any], duration: int, exporting: bool) -> str:
    """What the director says back: what changed, the length, the frame and the cap; or what it can do."""
    if CANNOT.search(text) and not out.changes:
        reply = "That is beyond what the local renderer does. " + LOCAL_CAN
    elif out.changes:
        cap = f", at most {meta['max_bytes'] / MB:g} MB" if meta.get("max_bytes") else ""
        reply = ("Updated the video: " + "; ".join(dict.fromkeys(out.changes)) +
                 f". It runs {duration / 1000:.1f} s at {meta['width']}x{meta['height']}{cap}." +
                 ("" if exporting else " Say export when ready."))
    else:
        reply = "The draft is unchanged. " + LOCAL_CAN
    return reply + (" " + " ".join(out.notes) if out.notes else "")
