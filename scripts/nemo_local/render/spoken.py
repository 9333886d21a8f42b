"""The words a video shows, gathered once per render: captions of speech or the lines of a song, from the user's
own file (SRT, VTT, LRC, TXT) or from what the recogniser hears, with the user's corrections; and the SRT, VTT
(and, for lyrics, LRC) files written beside the video. The director chose (`m.captions`, `m.lyrics`, `m.script`,
`m.caption_fixes`, `m.lyric_starts`, `m.lyric_shift_ms`); this reads the draft and the files, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemo_local.analysis import Analysis
from nemo_local.render.base import RenderError
from nemo_local.speech import asr, lines, transcripts
from nemo_local.speech.captions import Page, fix, lrc, srt, vtt, within
from nemo_local.speech.lyrics import sung_in
from nemo_local.speech.words import Word


def gather(meta: dict[str, Any], sources: dict[str, Path], audio: Path, analysis: Analysis, start: float,
           end: float, max_chars: int, progress: Callable[[float], None]) -> list[Page]:
    """The pages shown between `start` and `end` (seconds of the audio)."""
    own = sources.get(str(meta.get("script"))) if meta.get("script") else None
    sung = bool(meta.get("lyrics"))
    try:
        script = transcripts.read(own) if own is not None else None
        language = asr.caption_language(meta.get("caption_language"))
        # a timed file is refined by what is heard only for speech: on a song the user's times stand
        if script is not None and script.timed:      # refined by what is heard only for speech: on a song the
            listen = not sung and asr.available(language) is None     # user's times stand
        elif script is not None and sung:            # plain lyrics: placed on the sung stretches without it
            listen = asr.available(language) is None
        else:
            listen = True
        heard: list[Word] = asr.transcribe(audio, progress, end, language, bool(meta.get("accurate_captions"))) \
            if listen else []
    except (asr.SpeechUnavailable, transcripts.ScriptError) as exc:
        raise RenderError(str(exc)) from None
    except OSError as exc:
        raise RenderError(f"cannot read the words for the captions ({exc.strerror or type(exc).__name__})") from None
    if sung:
        starts = [(int(n), float(ms) / 1000) for n, ms in meta.get("lyric_starts") or []]
        shown = lines.lyrics(script, heard, sung_in(analysis),
                             analysis.duration, max_chars, starts, float(meta.get("lyric_shift_ms") or 0) / 1000)
    else:
        shown = lines.captions(script, heard, max_chars)
    fixes = [(str(a), str(b)) for a, b in meta.get("caption_fixes") or []]
    fixed = [Page([fix(row, fixes) for row in page.lines], page.start, page.end) for page in shown.pages]
    return within([p for p in fixed if p.start < end and p.lines], start, end)


def write(pages: list[Page], base: Path, offset: float, lyrics: bool) -> None:
    """NAME.part.srt and .vtt (and .lrc for lyrics) beside the video; the worker renames them when it is done."""
    base.with_suffix(".part.srt").write_text(srt(pages, offset))
    base.with_suffix(".part.vtt").write_text(vtt(pages, offset))
    if lyrics:
        base.with_suffix(".part.lrc").write_text(lrc(pages, offset))
